"""Admin of the sales channels: a connector configured from the framework's form, the
"Test the connection" action, listing and channel order pages (constant query counts), the
"push again" and "import again" actions, hostile search input."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.channels.models import ChannelListing, ChannelOrder
from integrations.models import ConnectorConfig, SyncRun
from tests.catalog.factories import VariantFactory
from tests.fakes.baselinker import FakeBaseLinker
from tests.shop.factories import UserFactory

from .factories import ChannelListingFactory, ChannelOrderFactory, MemoryChannel, channel_config

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, store, settings):
    """A superuser's client reading the admin in English (messages are asserted as msgids)."""
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def bl(fast_http):
    with FakeBaseLinker(token="bl-token") as fake:
        yield fake


def bl_form(store, bl, **overrides):
    data = {
        "store": store.pk,
        "connector_type": "baselinker",
        "name": "BaseLinker",
        "is_active": "on",
        "full_sync_time": "03:00",
        "stock_sync_minutes": "0",
        "profile_json": "",
        "opt_push_every_seconds": "120",
        "opt_orders_every_seconds": "300",
        "opt_batch_size": "1000",
        "opt_list_all_variants": "on",
        "opt_max_quantity": "999",
        "opt_status_map": '{"shipped": "2001"}',
        "opt_api_url": bl.url,
        "opt_api_token": "bl-token",
        "opt_inventory_id": str(bl.inventory_id),
        "opt_warehouse": bl.warehouse,
        "opt_price_group_id": str(bl.price_group),
        "opt_requests_per_minute": "90",
        "opt_create_products": "on",
        "opt_import_days_back": "7",
        "opt_cancelled_status_ids": "[]",
        "opt_use_journal": "on",
    }
    data.update(overrides)
    return data


def test_baselinker_is_configured_from_the_admin_and_tested(admin_client, store, bl):
    url = reverse("admin:integrations_connectorconfig_add") + "?connector_type=baselinker"
    page = admin_client.get(url)
    assert page.status_code == 200 and b"opt_inventory_id" in page.content
    response = admin_client.post(url, bl_form(store, bl))
    assert response.status_code == 302, response.context["adminform"].form.errors
    config = ConnectorConfig.objects.get(name="BaseLinker")
    assert config.secrets["api_token"] == "bl-token" and "bl-token" not in config.secrets_encrypted
    from django_celery_beat.models import PeriodicTask

    push = PeriodicTask.objects.get(name=f"integrations:{config.pk}:push")
    assert push.interval.every == 120 and push.interval.period == "seconds"
    changelist = reverse("admin:integrations_connectorconfig_changelist")
    page = admin_client.post(
        changelist, {"action": "test_connection", "_selected_action": [config.pk]}, follow=True
    )
    assert "Magazyn sklepu" in page.content.decode()


def test_bad_options_are_shown_on_the_form(admin_client, store, bl):
    url = reverse("admin:integrations_connectorconfig_add") + "?connector_type=baselinker"
    response = admin_client.post(
        url,
        bl_form(store, bl, opt_warehouse="magazyn", opt_status_map="{not json", opt_inventory_id="x" * 5000),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "opt_status_map" in errors or "opt_warehouse" in errors or "opt_inventory_id" in errors
    assert not ConnectorConfig.objects.exists()


def test_failed_connection_test_says_why(admin_client, store, bl):
    config = channel_config(
        store,
        "baselinker",
        secrets={"api_token": "wrong"},
        api_url=bl.url,
        inventory_id=bl.inventory_id,
        warehouse=bl.warehouse,
        price_group_id=bl.price_group,
    )
    page = admin_client.post(
        reverse("admin:integrations_connectorconfig_changelist"),
        {"action": "test_connection", "_selected_action": [config.pk]},
        follow=True,
    )
    assert "the connection failed" in page.content.decode() and "token" in page.content.decode()


def test_listing_pages_cost_the_same_for_many_rows(admin_client, store, django_assert_max_num_queries):
    config = channel_config(store, "memory_channel", list_all_variants=False)
    for i in range(30):
        ChannelListingFactory(
            config=config, variant=VariantFactory(store=store, sku=f"S-{i}"), error="x" * 300
        )
    url = reverse("admin:integrations_channels_channellisting_changelist")
    with django_assert_max_num_queries(12):
        page = admin_client.get(url)
    assert page.status_code == 200 and "S-29" in page.content.decode()
    for query in ("?has_error=yes", "?push_due__exact=1", "?q=%27%3B+DROP+TABLE", "?q=" + "ż" * 3000):
        assert admin_client.get(url + query).status_code == 200
    listing = ChannelListing.objects.first()
    assert (
        admin_client.get(
            reverse("admin:integrations_channels_channellisting_change", args=[listing.pk])
        ).status_code
        == 200
    )


def test_push_again_forgets_the_last_push_and_runs(admin_client, store):
    MemoryChannel.reset()
    config = channel_config(store, "memory_channel", list_all_variants=False)
    listing = ChannelListingFactory(
        config=config,
        variant=VariantFactory(store=store, sku="S-1", stock=2),
        push_due=False,
        last_pushed_quantity=2,
    )
    admin_client.post(
        reverse("admin:integrations_channels_channellisting_changelist"),
        {"action": "push_again", "_selected_action": [listing.pk]},
    )
    listing.refresh_from_db()
    # Celery runs eagerly in tests: the run already pushed the unchanged value again.
    assert [u.sku for u in MemoryChannel.pushed[0]] == ["S-1"]
    assert not listing.push_due and listing.last_pushed_quantity == 2
    assert SyncRun.objects.get(config=config).trigger == SyncRun.Trigger.ADMIN
    MemoryChannel.reset()


def test_channel_order_pages(admin_client, store, django_assert_max_num_queries):
    config = channel_config(store, "memory_channel", list_all_variants=False)
    for i in range(20):
        ChannelOrderFactory(config=config, error="Not found in the shop (SKU or EAN): X" if i % 2 else "")
    url = reverse("admin:integrations_channels_channelorder_changelist")
    with django_assert_max_num_queries(12):
        page = admin_client.get(url)
    assert page.status_code == 200
    assert admin_client.get(url + "?order__isempty=1").status_code == 200
    co = ChannelOrder.objects.first()
    detail = admin_client.get(reverse("admin:integrations_channels_channelorder_change", args=[co.pk]))
    assert detail.status_code == 200
    assert admin_client.get(reverse("admin:integrations_channels_channelorder_add")).status_code == 403
    admin_client.post(url, {"action": "import_again", "_selected_action": [co.pk]})
    assert SyncRun.objects.get(config=config, direction="orders").trigger == SyncRun.Trigger.ADMIN

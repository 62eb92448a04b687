"""Allegro: the admin's connection page (device flow from the browser, permissions, hostile
requests) and the connector's settings form."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from integrations.channels.allegro import oauth
from integrations.channels.models import ChannelListing
from integrations.models import ConnectorConfig
from tests.fakes.allegro import FakeAllegro
from tests.shop.factories import StaffFactory, SuperuserFactory

from .factories_allegro import (  # noqa: F401
    ChannelListingFactory,
    allegro_config,
    fast_allegro,
    offerable_variant,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_allegro")]


@pytest.fixture
def fake_allegro():
    with FakeAllegro() as fake:
        yield fake


@pytest.fixture
def admin(client):
    client.force_login(SuperuserFactory())
    return client


def action(config, name):
    return reverse("allegro_action", args=[config.pk, name])


def test_page_lists_connectors_in_few_queries(admin, store, fake_allegro, django_assert_max_num_queries):
    allegro_config(store, fake_allegro, connected=False, name="Allegro A")
    allegro_config(store, fake_allegro, name="Allegro B")
    url = reverse("allegro_connections")
    admin.get(url)  # warm the session and the admin's caches
    with django_assert_max_num_queries(6):
        page = admin.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-status="not_connected"' in html and 'data-status="connected"' in html
    for n in range(3, 6):
        allegro_config(store, fake_allegro, name=f"Allegro {n}")
    with django_assert_max_num_queries(6):
        assert admin.get(url).status_code == 200


def test_connecting_from_the_admin(admin, store, fake_allegro):
    config = allegro_config(store, fake_allegro, connected=False)
    response = admin.post(action(config, "start"), follow=True)
    assert response.status_code == 200
    flow = next(iter(fake_allegro.flows.values()))
    html = response.content.decode()
    assert f"data-user-code>{flow.user_code}<" in html
    assert f"code={flow.user_code}" in html
    assert 'http-equiv="refresh"' in html
    assert flow.device_code not in html

    fake_allegro.approve()

    def due(section, secrets):
        section["device"]["next_poll_at"] = (timezone.now() - dt.timedelta(seconds=1)).isoformat()

    oauth.update_state(config, due)
    response = admin.post(action(config, "poll"), follow=True)
    assert 'data-status="connected"' in response.content.decode()
    config.refresh_from_db()
    assert config.secrets["access_token"] in fake_allegro.access_tokens

    response = admin.post(action(config, "test"), follow=True)
    assert fake_allegro.seller_login in response.content.decode()

    admin.post(action(config, "disconnect"))
    config.refresh_from_db()
    assert "access_token" not in config.secrets


def test_partner_errors_are_shown_not_raised(admin, store, fake_allegro):
    config = allegro_config(store, fake_allegro, connected=False, client_secret="wrong")
    response = admin.post(action(config, "start"), follow=True)
    assert response.status_code == 200
    assert "errornote" in response.content.decode() or "error" in response.content.decode()
    assert oauth.allegro_state(ConnectorConfig.objects.get(pk=config.pk)).get("status") is None


def test_actions_need_post_permission_and_an_allegro_connector(client, admin, store, fake_allegro):
    config = allegro_config(store, fake_allegro, connected=False)
    assert admin.get(action(config, "start")).status_code == 405
    assert admin.post(reverse("allegro_action", args=[config.pk, "drop-tables"])).status_code == 403
    assert admin.post(reverse("allegro_action", args=[999999, "start"])).status_code == 404
    other = ConnectorConfig.objects.create(store=store, connector_type="wholesaler_feed", name="Hurtownia")
    assert admin.post(reverse("allegro_action", args=[other.pk, "start"])).status_code == 404
    assert fake_allegro.requests == []

    client.logout()
    anonymous = client.post(action(config, "start"))
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]

    clerk = StaffFactory()
    client.force_login(clerk)
    assert client.get(reverse("allegro_connections")).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="view_connectorconfig"))
    clerk = type(clerk).objects.get(pk=clerk.pk)
    client.force_login(clerk)
    page = client.get(reverse("allegro_connections"))
    assert page.status_code == 200 and action(config, "start") not in page.content.decode()
    assert client.post(action(config, "start")).status_code == 403
    assert fake_allegro.requests == []


def test_settings_reject_malformed_mappings(store, fake_allegro):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        allegro_config(
            store,
            fake_allegro,
            category_map={"buty": "not-a-number"},
            parameters={"*": [{"values": ["x"]}]},
            attribute_parameters=["size"],
            default_category_id="abc",
        )
    fields = caught.value.message_dict
    assert {"category_map", "parameters", "attribute_parameters", "default_category_id"} <= set(fields)
    with pytest.raises(ValidationError):
        allegro_config(store, fake_allegro, category_map="{not json")
    with pytest.raises(ValidationError):
        allegro_config(store, fake_allegro, price_markup_percent="1e9")


def test_send_all_offers_again_patches_every_offer(admin, store, fake_allegro):
    config = allegro_config(store, fake_allegro, price_markup_percent="5")
    variant = offerable_variant(store, sku="UPD-1", stock=4, price="100.00", name="Nowa nazwa produktu")
    offer = fake_allegro.add_offer("UPD-1", quantity=1, price="90.00")
    listing = ChannelListingFactory(
        config=config,
        variant=variant,
        external_id=offer.id,
        status=ChannelListing.Status.ACTIVE,
        push_due=False,
    )
    admin.post(action(config, "update_offers"))
    patch = fake_allegro.calls("PATCH", f"/sale/product-offers/{offer.id}")
    assert len(patch) == 1
    body = json.loads(patch[0].body)
    assert body["name"].startswith("Nowa nazwa produktu")
    assert body["sellingMode"]["price"]["amount"] == "105.00"
    assert offer.quantity == 4 and offer.price == "105.00"
    listing.refresh_from_db()
    assert listing.status == ChannelListing.Status.ACTIVE
    assert listing.last_pushed_quantity == 4 and listing.last_pushed_price == Decimal("100.00")

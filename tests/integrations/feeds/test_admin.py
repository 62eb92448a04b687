"""Admin: feeds per store with filters and overrides, validation of hostile input, the secret URL,
"regenerate now", token rotation, the figures of the last run and the run log."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from integrations.feeds.models import Feed, FeedRun
from tests.catalog.factories import CategoryFactory, ProductImageFactory, VariantFactory
from tests.shop.factories import StoreFactory, UserFactory

from .factories import CeneoFeedFactory, FeedFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, store):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def form_data(store, **overrides):
    data = {
        "store": store.pk,
        "name": "Google PL",
        "kind": "google",
        "format": "google_rss",
        "partner_name": "",
        "is_active": "on",
        "interval_minutes": "120",
        "regenerate_on_changes": "on",
        "change_threshold": "25",
        "min_stock": "0",
        "title_template": "{brand} {name} {variant}",
        "brand_fallback": "Koszyk",
        "custom_label": "",
        "price_markup_percent": "0",
        "utm_source": "google",
        "utm_medium": "shopping",
        "utm_campaign": "",
        "google_product_category": "",
        "condition": "new",
        "shipping_country": "PL",
        "shipping_service": "",
        "shipping_price": "",
        "backorder_days": "14",
    }
    data.update(overrides)
    return data


def test_create_a_feed_with_filters_and_a_schedule(admin_client, store):
    from django_celery_beat.models import PeriodicTask

    shirts = CategoryFactory(store=store, name="Koszule")
    url = reverse("admin:integrations_feeds_feed_add")
    assert admin_client.get(url).status_code == 200

    response = admin_client.post(url, form_data(store, categories=[shirts.pk], only_in_stock="on"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    feed = Feed.objects.get(name="Google PL")
    assert list(feed.categories.all()) == [shirts] and feed.only_in_stock
    assert PeriodicTask.objects.get(name=f"feeds:{feed.pk}").interval.every == 120
    page = admin_client.get(reverse("admin:integrations_feeds_feed_change", args=[feed.pk]))
    assert feed.public_url().encode() in page.content
    assert reverse("admin:integrations_feeds_feed_regenerate", args=[feed.pk]).encode() in page.content
    assert reverse("admin:integrations_feeds_feed_rotate", args=[feed.pk]).encode() in page.content


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"kind": "ceneo", "format": "google_rss"}, "format"),
        ({"kind": "google", "format": "ceneo_xml"}, "format"),
        ({"kind": "generic", "format": "ceneo_xml", "partner_name": "  "}, "partner_name"),
        ({"title_template": "{name.__class__}"}, "title_template"),
        ({"title_template": "{secret_key}"}, "title_template"),
        ({"title_template": "{name:>999999999}"}, "title_template"),
        ({"title_template": "{name"}, "title_template"),
        ({"price_markup_percent": "-80"}, "price_markup_percent"),
        ({"price_markup_percent": "1e400"}, "price_markup_percent"),
        ({"interval_minutes": "1"}, "interval_minutes"),
        ({"interval_minutes": "-5"}, "interval_minutes"),
        ({"shipping_country": "Polska"}, "shipping_country"),
        ({"shipping_price": "-1"}, "shipping_price"),
        ({"utm_source": "<script>alert(1)</script>"}, "utm_source"),
        ({"name": "x" * 500}, "name"),
        ({"name": ""}, "name"),
        ({"change_threshold": "0"}, "change_threshold"),
        ({"backorder_days": "9999"}, "backorder_days"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(admin_client, store, overrides, field):
    response = admin_client.post(reverse("admin:integrations_feeds_feed_add"), form_data(store, **overrides))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors, errors
    assert not Feed.objects.exists()


def test_filters_from_another_store_are_refused(admin_client, store):
    foreign = CategoryFactory(store=StoreFactory(), name="Obca")
    response = admin_client.post(
        reverse("admin:integrations_feeds_feed_add"), form_data(store, categories=[foreign.pk])
    )
    assert response.status_code == 200
    assert "categories" in response.context["adminform"].form.errors


def test_regenerate_now_and_the_run_log(admin_client, store, django_capture_on_commit_callbacks):
    ProductImageFactory(product=VariantFactory(store=store, sku="A-1", stock=3).product)
    VariantFactory(store=store, sku="NO-IMAGE", stock=3)
    feed = FeedFactory(store=store)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:integrations_feeds_feed_regenerate", args=[feed.pk]))

    assert response.status_code == 302
    run = feed.runs.get()
    assert run.trigger == FeedRun.Trigger.ADMIN and run.items == 1 and run.skipped == 1
    page = admin_client.get(reverse("admin:integrations_feeds_feedrun_change", args=[run.pk]))
    assert page.status_code == 200 and b"NO-IMAGE" in page.content
    change = admin_client.get(reverse("admin:integrations_feeds_feed_change", args=[feed.pk]))
    assert (
        b"NO-IMAGE" not in change.content
        and reverse("admin:integrations_feeds_feedrun_change", args=[run.pk]).encode() in change.content
    )
    assert (
        admin_client.get(reverse("admin:integrations_feeds_feed_regenerate", args=[feed.pk])).status_code
        == 405
    )


def test_rotate_token_from_the_change_page_and_the_action(admin_client, store):
    feed = FeedFactory(store=store)
    old = feed.token
    response = admin_client.post(reverse("admin:integrations_feeds_feed_rotate", args=[feed.pk]))
    assert response.status_code == 302
    feed.refresh_from_db()
    assert feed.token != old and len(feed.token) >= 43

    second = feed.token
    admin_client.post(
        reverse("admin:integrations_feeds_feed_changelist"),
        {"action": "rotate_tokens", "_selected_action": [feed.pk]},
    )
    feed.refresh_from_db()
    assert feed.token != second


def test_regenerate_action_on_the_list(admin_client, store, django_capture_on_commit_callbacks):
    feeds = [FeedFactory(store=store), CeneoFeedFactory(store=store)]
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:integrations_feeds_feed_changelist"),
            {"action": "regenerate_now", "_selected_action": [f.pk for f in feeds]},
        )
    assert FeedRun.objects.filter(status=FeedRun.Status.SUCCEEDED).count() == 2


def test_changelist_queries_do_not_grow_with_feeds(admin_client, store, django_assert_max_num_queries):
    for i in range(12):
        FeedFactory(store=store if i % 2 else StoreFactory(), price_markup_percent=Decimal("1"))
    url = reverse("admin:integrations_feeds_feed_changelist")
    admin_client.get(url)
    with django_assert_max_num_queries(10):
        response = admin_client.get(url)
    assert response.status_code == 200


def test_run_log_list_and_staff_without_permission(client, store):
    feed = FeedFactory(store=store)
    FeedRun.objects.create(feed=feed, trigger="schedule", status="succeeded")
    client.force_login(UserFactory(is_staff=True))
    assert client.get(reverse("admin:integrations_feeds_feedrun_changelist")).status_code == 403
    assert client.post(reverse("admin:integrations_feeds_feed_rotate", args=[feed.pk])).status_code == 403


def test_delete_through_the_admin_removes_the_schedule(admin_client, store):
    from django_celery_beat.models import PeriodicTask

    feed = FeedFactory(store=store)
    response = admin_client.post(
        reverse("admin:integrations_feeds_feed_delete", args=[feed.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Feed.objects.exists()
    assert not PeriodicTask.objects.filter(name=f"feeds:{feed.pk}").exists()


def test_change_page_queries_do_not_grow_with_runs(admin_client, store, django_assert_max_num_queries):
    feed = FeedFactory(store=store)
    for _ in range(15):
        FeedRun.objects.create(feed=feed, trigger="schedule", status="succeeded", items=3)
    url = reverse("admin:integrations_feeds_feed_change", args=[feed.pk])
    admin_client.get(url)
    with django_assert_max_num_queries(20):
        response = admin_client.get(url)
    assert response.status_code == 200
    assert response.content.count(b"/admin/integrations_feeds/feedrun/") >= 10

"""Per-store tag settings: strict validation (hostile values refused), the editing permission,
and the cached configuration the pages read."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.marketing import selectors
from integrations.marketing.admin import MarketingSettingsForm
from integrations.marketing.models import MarketingSettings
from tests.integrations.marketing.factories import ADS, GA4, PIXEL, TSID, MarketingSettingsFactory
from tests.shop.factories import StaffFactory, StoreFactory, SuperuserFactory

pytestmark = pytest.mark.django_db

HOSTILE = [
    '"><script>alert(1)</script>',
    "G-ABC123'+alert(1)+'",
    "G-ABC 123",
    "javascript:alert(1)",
    "G-" + "A" * 200,
    "",  # only hostile when the tag is switched on (checked separately)
]


def form_data(store, **overrides):
    data = {
        "store": store.pk,
        "ga4_enabled": "on",
        "ga4_measurement_id": GA4,
        "google_ads_enabled": "on",
        "google_ads_conversion_id": ADS,
        "google_ads_purchase_label": "AbC-dEf_123",
        "meta_pixel_enabled": "on",
        "meta_pixel_id": PIXEL,
        "review_widget_enabled": "on",
        "trusted_shops_id": TSID,
        "review_widget_url": "",
        "privacy_policy_url": "/polityka-prywatnosci/",
        "consent_revision": "1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_valid_settings_are_saved_and_lowercase_ids_normalised():
    store = StoreFactory()
    form = MarketingSettingsForm(
        data=form_data(store, ga4_measurement_id=" g-test123456 ", trusted_shops_id=TSID.lower())
    )
    assert form.is_valid(), form.errors
    tags = form.save()
    assert tags.ga4_measurement_id == GA4 and tags.trusted_shops_id == TSID


@pytest.mark.parametrize(
    "field",
    [
        "ga4_measurement_id",
        "google_ads_conversion_id",
        "meta_pixel_id",
        "trusted_shops_id",
        "google_ads_purchase_label",
    ],
)
@pytest.mark.parametrize("value", HOSTILE[:-1])
def test_hostile_ids_are_refused_with_a_message(field, value):
    store = StoreFactory()
    form = MarketingSettingsForm(data=form_data(store, **{field: value}))
    assert not form.is_valid()
    assert form.errors[field]
    assert not MarketingSettings.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ga4_measurement_id", "UA-12345-1"),  # Universal Analytics ids are gone
        ("google_ads_conversion_id", "123456789"),
        ("meta_pixel_id", "12345abc"),
        ("trusted_shops_id", "X123"),
    ],
)
def test_wrong_shapes_are_refused(field, value):
    form = MarketingSettingsForm(data=form_data(StoreFactory(), **{field: value}))
    assert not form.is_valid() and form.errors[field]


@pytest.mark.parametrize(
    ("flag", "field"),
    [
        ("ga4_enabled", "ga4_measurement_id"),
        ("google_ads_enabled", "google_ads_conversion_id"),
        ("meta_pixel_enabled", "meta_pixel_id"),
        ("review_widget_enabled", "trusted_shops_id"),
    ],
)
def test_a_tag_switched_on_needs_its_id(flag, field):
    data = form_data(StoreFactory(), **{field: ""})
    if field == "google_ads_conversion_id":
        data["google_ads_purchase_label"] = ""
    form = MarketingSettingsForm(data=data)
    assert not form.is_valid() and form.errors[field]


def test_a_label_without_conversion_id_is_refused():
    data = form_data(StoreFactory(), google_ads_enabled=None, google_ads_conversion_id="")
    form = MarketingSettingsForm(data=data)
    assert not form.is_valid() and form.errors["google_ads_purchase_label"]


@pytest.mark.parametrize(
    "url",
    [
        "https://widget.trustmate.io/api/widget/abc/script",
        "https://trustmate.io/api/widget/4f1c/script",
        "https://integrations.etrusted.com/applications/widget.js/v2",
    ],
)
def test_review_widget_from_allowed_hosts(url):
    form = MarketingSettingsForm(data=form_data(StoreFactory(), trusted_shops_id="", review_widget_url=url))
    assert form.is_valid(), form.errors


@pytest.mark.parametrize(
    "url",
    [
        "http://trustmate.io/widget.js",  # not https
        "https://evil.example.com/widget.js",
        "https://trustmate.io.evil.example.com/widget.js",
        "https://eviltrustmate.io/widget.js",
        "https://user:pw@trustmate.io/widget.js",
        "https://trustmate.io:8443/widget.js",
        'https://trustmate.io/w.js"><script>alert(1)</script>',
        "https://trustmate.io/w.js' onload='alert(1)",
        "javascript:alert(1)//trustmate.io",
        "//trustmate.io/widget.js",
        "https://trustmate.io/" + "a" * 600,
    ],
)
def test_review_widget_urls_outside_the_allow_list_or_malformed_are_refused(url):
    form = MarketingSettingsForm(data=form_data(StoreFactory(), trusted_shops_id="", review_widget_url=url))
    assert not form.is_valid() and form.errors["review_widget_url"]


def test_allow_list_is_a_setting(settings):
    settings.MARKETING_REVIEW_WIDGET_HOSTS = ["opinie.example.pl"]
    ok = MarketingSettingsForm(
        data=form_data(
            StoreFactory(), trusted_shops_id="", review_widget_url="https://opinie.example.pl/w.js"
        )
    )
    assert ok.is_valid(), ok.errors
    refused = MarketingSettingsForm(
        data=form_data(StoreFactory(), trusted_shops_id="", review_widget_url="https://trustmate.io/w.js")
    )
    assert not refused.is_valid()


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("/polityka-prywatnosci/", True),
        ("https://example.pl/prywatnosc", True),
        ("//evil.example.com/", False),
        ("javascript:alert(1)", False),
        ('/x"><script>', False),
        ("http://example.pl/", False),
    ],
)
def test_privacy_policy_link(url, ok):
    form = MarketingSettingsForm(data=form_data(StoreFactory(), privacy_policy_url=url))
    assert form.is_valid() is ok


def test_model_validation_also_guards_code_paths_outside_the_admin():
    tags = MarketingSettings(store=StoreFactory(), ga4_enabled=True, ga4_measurement_id='G-1"><b>')
    with pytest.raises(ValidationError):
        tags.full_clean()


# --- permission -----------------------------------------------------------------------------------


def test_staff_without_the_permission_cannot_change_tags(client):
    tags = MarketingSettingsFactory(store=StoreFactory())
    staff = StaffFactory()
    staff.user_permissions.add(Permission.objects.get(codename="view_marketingsettings"))
    client.force_login(staff)
    url = f"/admin/integrations_marketing/marketingsettings/{tags.pk}/change/"
    assert client.get(url).status_code == 200  # may look
    response = client.post(url, form_data(tags.store, ga4_measurement_id="G-OTHER12345"))
    assert response.status_code == 403
    tags.refresh_from_db()
    assert tags.ga4_measurement_id == GA4
    assert client.get("/admin/integrations_marketing/marketingsettings/add/").status_code == 403


def test_staff_with_the_permission_edits_tags_and_hostile_input_is_shown_back(client):
    tags = MarketingSettingsFactory(store=StoreFactory())
    staff = StaffFactory()
    staff.user_permissions.add(Permission.objects.get(codename="manage_marketing_tags"))
    client.force_login(staff)
    url = f"/admin/integrations_marketing/marketingsettings/{tags.pk}/change/"
    response = client.post(url, form_data(tags.store, meta_pixel_id='1"><script>alert(1)</script>'))
    assert response.status_code == 200  # the form again, with the error
    assert b"<script>alert(1)</script>" not in response.content
    assert response.context["adminform"].form.errors["meta_pixel_id"]
    tags.refresh_from_db()
    assert tags.meta_pixel_id == PIXEL
    response = client.post(url, form_data(tags.store, ga4_measurement_id="G-NEW1234567"))
    assert response.status_code == 302
    tags.refresh_from_db()
    assert tags.ga4_measurement_id == "G-NEW1234567"


def test_superuser_sees_the_changelist(client):
    MarketingSettingsFactory(store=StoreFactory())
    client.force_login(SuperuserFactory())
    assert client.get("/admin/integrations_marketing/marketingsettings/").status_code == 200


# --- cached configuration -------------------------------------------------------------------------


def test_config_is_cached_and_forgotten_on_save():
    store = StoreFactory()
    tags = MarketingSettingsFactory(store=store)
    assert selectors.tag_config(store)["ga4"] == GA4
    with CaptureQueriesContext(connection) as ctx:
        assert selectors.tag_config(store)["pixel"] == PIXEL
    assert len(ctx.captured_queries) == 0
    tags.meta_pixel_enabled = False
    tags.save()
    config = selectors.tag_config(store)
    assert config["pixel"] == "" and config["ga4"] == GA4


def test_a_store_without_tags_costs_one_query_once_and_is_disabled():
    store = StoreFactory()
    assert selectors.tag_config(store) == {"enabled": False}
    with CaptureQueriesContext(connection) as ctx:
        assert selectors.tag_config(store) == {"enabled": False}
    assert len(ctx.captured_queries) == 0


def test_all_tags_switched_off_is_disabled():
    store = StoreFactory()
    MarketingSettingsFactory(
        store=store,
        ga4_enabled=False,
        google_ads_enabled=False,
        meta_pixel_enabled=False,
        review_widget_enabled=False,
    )
    assert selectors.tag_config(store)["enabled"] is False


def test_config_never_carries_ids_of_switched_off_tags():
    store = StoreFactory()
    MarketingSettingsFactory(store=store, meta_pixel_enabled=False, review_widget_enabled=False)
    config = selectors.tag_config(store)
    assert config["pixel"] == "" and config["trustedShops"] == "" and config["ads"] == ADS
    assert config["version"] == "1.1"


def test_a_cache_outage_still_serves_pages_and_saves(client, store, monkeypatch):
    from django.core.cache import caches

    from tests.catalog.factories import VariantFactory

    variant = VariantFactory(store=store, stock=3)
    tags = MarketingSettingsFactory(store=store)

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    backend = caches["default"]
    for method in (
        "get",
        "get_many",
        "set",
        "add",
        "incr",
        "delete",
        "get_or_set",
        "set_many",
        "delete_many",
    ):
        monkeypatch.setattr(backend, method, broken)
    response = client.get(variant.product.get_absolute_url())
    assert response.status_code == 200 and GA4 in response.content.decode()
    tags.ga4_measurement_id = "G-CHANGED1234"
    tags.save()  # a write still works
    assert "G-CHANGED1234" in client.get(variant.product.get_absolute_url()).content.decode()

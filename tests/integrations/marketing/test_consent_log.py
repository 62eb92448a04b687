"""Proof of cookie choices: the endpoint consent.js posts to, its guards, retention and admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from integrations.marketing import services
from integrations.marketing.models import ConsentLog
from integrations.marketing.tasks import delete_old_consent_logs
from tests.integrations.marketing.factories import MarketingSettingsFactory
from tests.shop.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db
URL = "/zgody-cookies/"
ID = "AbCdEfGhIjKlMnOpQrStUv"


def choice(**overrides):
    return {"id": ID, "v": "1.1", "a": "1", "m": "0", **overrides}


@pytest.fixture
def tags(store):
    return MarketingSettingsFactory(store=store)


def test_a_choice_is_recorded_without_personal_data(client, store, tags):
    response = client.post(URL, choice(), REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Przeglądarka/1.0")
    assert response.status_code == 204
    log = ConsentLog.objects.get()
    assert (log.store, log.consent_id, log.version, log.analytics, log.marketing) == (
        store,
        ID,
        "1.1",
        True,
        False,
    )
    stored = " ".join(str(getattr(log, f.attname)) for f in ConsentLog._meta.concrete_fields)
    assert "203.0.113.9" not in stored and "Przeglądarka" not in stored


def test_the_same_browser_changing_its_mind_leaves_a_history(client, tags):
    client.post(URL, choice(a="1", m="1"))
    client.post(URL, choice(a="0", m="0"))
    assert list(ConsentLog.objects.order_by("pk").values_list("analytics", "marketing")) == [
        (True, True),
        (False, False),
    ]


@pytest.mark.parametrize(
    "data",
    [
        choice(id="short"),
        choice(id="<script>alert(1)</script>xxxxxxxx"),
        choice(id="A" * 41),
        choice(id="A" * 10_000),
        choice(a="2"),
        choice(m="yes"),
        choice(v="0.1"),  # another banner version
        choice(v="1.1" * 100),
        {"id": ID},
        {},
    ],
)
def test_malformed_or_hostile_choices_are_refused_and_nothing_is_stored(client, tags, data):
    response = client.post(URL, data)
    assert response.status_code == 400
    assert response.json()["ok"] is False and response.json()["errors"]
    assert not ConsentLog.objects.exists()


def test_only_post_and_only_with_csrf(store, tags):
    strict = Client(enforce_csrf_checks=True)
    assert strict.get(URL).status_code == 405
    assert strict.post(URL, choice()).status_code == 403
    assert not ConsentLog.objects.exists()


def test_a_store_without_tags_records_nothing(client, store):
    assert client.post(URL, choice()).status_code == 404
    assert not ConsentLog.objects.exists()


def test_flooding_is_rate_limited(client, tags, settings):
    settings.MARKETING_CONSENT_LOG_RATE_LIMIT = 3
    codes = [client.post(URL, choice()).status_code for _ in range(5)]
    assert codes == [204, 204, 204, 429, 429]
    assert ConsentLog.objects.count() == 3


def test_old_proofs_are_deleted_by_the_periodic_task(store, settings):
    settings.MARKETING_CONSENT_LOG_RETENTION_DAYS = 30
    old = services.log_consent(store=store, consent_id=ID, version="1.1", analytics=True, marketing=True)
    ConsentLog.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    recent = services.log_consent(store=store, consent_id=ID, version="1.1", analytics=False, marketing=False)
    assert delete_old_consent_logs.delay().get() == 1
    assert list(ConsentLog.objects.all()) == [recent]


def test_the_cleanup_is_scheduled():
    from django_celery_beat.models import PeriodicTask

    from integrations.marketing.apps import install_marketing_schedules

    install_marketing_schedules()
    assert PeriodicTask.objects.get(task="integrations.marketing.tasks.delete_old_consent_logs").enabled


def test_admin_lists_proofs_read_only(client, store):
    services.log_consent(store=StoreFactory(), consent_id=ID, version="1.1", analytics=True, marketing=False)
    staff = StaffFactory()
    staff.user_permissions.add(Permission.objects.get(codename="manage_marketing_tags"))
    client.force_login(staff)
    listing = client.get("/admin/integrations_marketing/consentlog/", {"q": ID})
    assert listing.status_code == 200 and ID in listing.content.decode()
    log = ConsentLog.objects.get()
    change = client.post(f"/admin/integrations_marketing/consentlog/{log.pk}/change/", {"analytics": ""})
    assert change.status_code in (302, 403) or "readonly" in change.content.decode()
    log.refresh_from_db()
    assert log.analytics is True
    assert (
        client.post(f"/admin/integrations_marketing/consentlog/{log.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert ConsentLog.objects.count() == 1

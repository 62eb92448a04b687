"""Consent per channel (issue 15): e-mail, SMS and web push each have their own question, text
and version; a step never uses a channel the shopper did not agree to; the checkout asks only
for the channels the store uses; the page's consent saves are applied newest-first."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail

from orders import consent
from orders.models import Cart, ConsentRecord, ConsentText
from recovery import services
from recovery.models import Campaign, Step, TrackedCart
from tests.catalog.factories import VariantFactory
from tests.orders.factories import PaymentMethodFactory, ShippingMethodFactory
from tests.recovery.factories import make_cart
from tests.recovery.helpers import hours, run_due

pytestmark = pytest.mark.django_db

SMS_TEXT_PL = "Zgadzam się na SMS-y o koszyku."


def _steps_on(store, *channels):
    """The default campaign with its steps on ``channels`` (position 1, 2, ...)."""
    services.ensure_default_campaign(store=store)
    campaign = Campaign.objects.get(store=store)
    for position, channel in enumerate(channels, start=1):
        Step.objects.filter(campaign=campaign, position=position).update(channel=channel)
    return campaign


def _sms_cart(store, **kwargs):
    cart = make_cart(store, **kwargs)  # answered only the e-mail question (yes)
    Cart.objects.filter(pk=cart.pk).update(checkout={**cart.checkout, "phone": "600100200"})
    services.detect_abandoned()
    return cart, TrackedCart.objects.get(cart=cart)


# --- The send step -------------------------------------------------------------------------------


def test_an_email_consent_never_sends_an_sms(store, settings, caplog):
    """The defect: an SMS went out on the checkout consent whose text spoke only of e-mails."""
    settings.RECOVERY_SMS_PROVIDER = "console"
    _steps_on(store, "sms")
    _cart, tracked = _sms_cart(store)
    with caplog.at_level("INFO", logger="recovery.channels.sms"):
        assert run_due(hours(1)) == ["no_consent"]
    assert "SMS to" not in caplog.text
    assert tracked.reminders.get(step__position=1).reason == "no_consent"


def test_an_sms_consent_sends_the_sms_and_a_refusal_stops_it(store, settings, caplog):
    settings.RECOVERY_SMS_PROVIDER = "console"
    _steps_on(store, "sms", "sms")
    cart, _tracked = _sms_cart(store)
    ConsentRecord.objects.create(
        store=store, email=cart.email, channel="sms", granted=True, text="SMS ok", version="1", cart=cart
    )
    with caplog.at_level("INFO", logger="recovery.channels.sms"):
        assert run_due(hours(1)) == ["sent"]
    assert "SMS to 48600100200" in caplog.text
    ConsentRecord.objects.create(
        store=store, email=cart.email, channel="sms", granted=False, text="SMS ok", version="1", cart=cart
    )
    assert run_due(hours(25)) == ["no_consent"]


def test_the_existing_customer_rule_never_covers_sms(store, settings):
    """The merchant's "existing customers without a tick" rule is about e-mail only."""
    from tests.recovery.factories import make_order

    settings.RECOVERY_SMS_PROVIDER = "console"
    Campaign.objects.filter(store=store).delete()
    campaign = _steps_on(store, "sms")
    Campaign.objects.filter(pk=campaign.pk).update(existing_customer_rule=True)
    make_order(store, email="anna@example.com", created_at=hours(-24 * 30))
    cart = make_cart(store, consent=False, email="anna@example.com")
    ConsentRecord.objects.filter(cart=cart).delete()  # never asked at all
    Cart.objects.filter(pk=cart.pk).update(
        checkout={"phone": "600100200"}, consent_at=None, marketing_consent=False
    )
    services.detect_abandoned()
    assert run_due(hours(1)) == ["no_consent"]


def test_web_push_needs_its_own_consent(store, settings):
    from recovery.models import PushSubscription

    _steps_on(store, "push")
    cart, _tracked = _sms_cart(store)
    PushSubscription.objects.create(
        store=store, cart=cart, email=cart.email, endpoint="https://push.example/x", p256dh="k", auth="a"
    )
    assert run_due(hours(1)) == ["no_consent"]


def test_old_answers_count_as_email_consents(store):
    """Rows recorded before channels existed were given to the e-mail text: migration 0007 gives
    them the column default, e-mail, and they keep working for e-mail steps only."""
    record = ConsentRecord.objects.create(
        store=store, email="x@example.com", granted=True, text="t", version="1"
    )
    assert record.channel == "email"
    field = ConsentRecord._meta.get_field("channel")
    assert field.default == "email" and not field.null
    from importlib import import_module

    migration = import_module("orders.migrations.0007_consent_per_channel").Migration
    [add] = [op for op in migration.operations if getattr(op, "name", "") == "channel"]
    assert add.field.default == "email" and add.preserve_default


# --- What the checkout asks ----------------------------------------------------------------------


@pytest.fixture
def cart_client(client, store):
    variant = VariantFactory(store=store, stock=5, price=Decimal("50.00"))
    client.post("/koszyk/dodaj/", {"variant": variant.pk, "quantity": 1})
    return client


def _checkboxes(html: str) -> list[str]:
    import re

    return re.findall(r'<input type="checkbox" name="(\w+_consent)"', html)


def test_checkout_asks_only_for_the_channels_the_store_uses(cart_client, store, settings):
    settings.RECOVERY_SMS_PROVIDER = ""
    settings.VAPID_PUBLIC_KEY = settings.VAPID_PRIVATE_KEY = ""
    _steps_on(store, "email", "email", "email")
    html = cart_client.get("/zamowienie/").content.decode()
    assert _checkboxes(html) == ["marketing_consent"]
    assert "checked" not in html.split('name="marketing_consent"')[1].split(">")[0]
    # A push step with VAPID keys: a separate, unticked web-push question.
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = "BPublic", "private"
    Step.objects.filter(position=2).update(channel="push")
    html = cart_client.get("/zamowienie/").content.decode()
    assert _checkboxes(html) == ["marketing_consent", "push_consent"]
    assert "powiadomienia od Sklep Testowy w tej przeglądarce" in html
    # An SMS step with a provider: not on the contact step without a phone number ...
    settings.RECOVERY_SMS_PROVIDER = "console"
    Step.objects.filter(position=3).update(channel="sms")
    assert "sms_consent" not in _checkboxes(cart_client.get("/zamowienie/").content.decode())
    # ... but next to the phone number on the delivery step.
    cart_client.post("/zamowienie/", {"email": "ola@example.com"})
    delivery = cart_client.get("/zamowienie/dostawa/").content.decode()
    assert 'name="sms_consent"' in delivery and "wiadomości SMS" in delivery
    assert 'name="sms_consent" id="id_sms_consent" style' in delivery  # unticked
    # A paused campaign uses nothing but e-mail.
    Campaign.objects.filter(store=store).update(is_active=False)
    assert _checkboxes(cart_client.get("/zamowienie/").content.decode()) == ["marketing_consent"]


def test_each_answer_is_recorded_per_channel_with_its_own_text_and_version(cart_client, store, settings):
    settings.RECOVERY_SMS_PROVIDER = "console"
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = "BPublic", "private"
    _steps_on(store, "email", "push", "sms")
    own = ConsentText.objects.create(store=store, channel="sms", text_pl=SMS_TEXT_PL, text_en="SMS yes.")
    assert own.version
    response = cart_client.post(
        "/zamowienie/", {"email": "ola@example.com", "marketing_consent": "on", "push_consent": ""}
    )
    assert response.status_code == 302
    courier = ShippingMethodFactory(store=store, code="kurier", name="Kurier", price=Decimal("10"))
    pay = PaymentMethodFactory(store=store, provider="bank_transfer")
    delivery = {
        "shipping_method": courier.pk,
        "payment_method": pay.pk,
        "first_name": "Ola",
        "last_name": "Nowak",
        "phone": "600 100 200",
        "street": "Długa 5",
        "postal_code": "00-950",
        "city": "Warszawa",
        "sms_consent": "on",
    }
    assert cart_client.post("/zamowienie/dostawa/", delivery).status_code == 302
    records = {r.channel: r for r in ConsentRecord.objects.filter(email="ola@example.com")}
    assert set(records) == {"email", "push", "sms"}
    assert records["email"].granted and records["email"].version == consent.CONSENT_VERSION
    assert "e-maile" in records["email"].text and "SMS" not in records["email"].text
    assert not records["push"].granted and records["push"].version == consent.BUILTIN_VERSIONS["push"]
    assert (
        records["sms"].granted
        and records["sms"].text == SMS_TEXT_PL
        and records["sms"].version == own.version
    )
    # The merchant edits the SMS text: a new version; the old answer keeps the old one.
    own.text_pl = "Nowy tekst zgody na SMS."
    own.save()
    assert own.version != records["sms"].version
    # Submitting the delivery step again records the answer to the new version.
    assert cart_client.post("/zamowienie/dostawa/", delivery).status_code == 302
    latest = ConsentRecord.objects.filter(channel="sms").order_by("-pk").first()
    assert latest.text == "Nowy tekst zgody na SMS." and latest.version == own.version
    # Without a phone number an SMS tick records nothing.
    before = ConsentRecord.objects.filter(channel="sms").count()
    cart_client.post("/zamowienie/dostawa/", {**delivery, "phone": ""})
    assert ConsentRecord.objects.filter(channel="sms").count() == before


def test_consent_texts_are_edited_in_the_admin_in_polish_and_english(admin_client, store):
    response = admin_client.post(
        "/admin/orders/consenttext/add/",
        {"store": store.pk, "channel": "sms", "text_pl": SMS_TEXT_PL, "text_en": "I agree to SMS."},
    )
    assert response.status_code == 302
    text = ConsentText.objects.get()
    assert consent.wording(store, "sms", "pl").text == SMS_TEXT_PL
    assert consent.wording(store, "sms", "en").text == "I agree to SMS."
    assert consent.wording(store, "sms", "pl").version == text.version
    # Saving without a change keeps the version; a change makes a new one.
    first = text.version
    admin_client.post(
        f"/admin/orders/consenttext/{text.pk}/change/",
        {"text_pl": SMS_TEXT_PL, "text_en": "I agree to SMS."},
    )
    text.refresh_from_db()
    assert text.version == first
    ConsentText.objects.filter(pk=text.pk).update(version="2026-01-01 00:00:00")
    admin_client.post(
        f"/admin/orders/consenttext/{text.pk}/change/",
        {"text_pl": "Inny tekst.", "text_en": "I agree to SMS."},
    )
    text.refresh_from_db()
    assert text.text_pl == "Inny tekst." and text.version != "2026-01-01 00:00:00"
    page = admin_client.get("/admin/orders/consenttext/").content.decode()
    assert "Teksty zgód" in page or "teksty zgód" in page.lower()


# --- The page's two saves (blur and checkbox change) race ----------------------------------------


def _save(client, *, seq, ticked, email="ewa@example.com"):
    data = {"email": email, "consent_seq": seq}
    if ticked:
        data["marketing_consent"] = "on"
    response = client.post("/zamowienie/email/", data)
    assert response.status_code == 200 and response.json()["ok"]


def _stored(email="ewa@example.com"):
    cart = Cart.objects.get()
    latest = ConsentRecord.objects.filter(email=email, channel="email").order_by("-created_at", "-pk").first()
    return cart.marketing_consent, latest.granted


def test_the_newest_event_wins_when_requests_arrive_out_of_order(cart_client):
    # The email field's blur (not ticked yet, event 1) overtaken by the checkbox change (event 2).
    _save(cart_client, seq=1_000_002, ticked=True)
    _save(cart_client, seq=1_000_001, ticked=False)
    assert _stored() == (True, True)
    assert Cart.objects.get().consent_seq == 1_000_002
    # Ticked then unticked within 30 ms: the untick (event 4) arrives before the tick (event 3).
    _save(cart_client, seq=1_000_004, ticked=False)
    _save(cart_client, seq=1_000_003, ticked=True)
    assert _stored() == (False, False)
    # A replay of an old event changes nothing either.
    _save(cart_client, seq=1_000_002, ticked=True)
    assert _stored() == (False, False)
    # In order, every event applies.
    _save(cart_client, seq=1_000_005, ticked=True)
    assert _stored() == (True, True)


def test_the_steps_own_submit_is_ordered_with_the_background_saves(cart_client):
    _save(cart_client, seq=2_000_001, ticked=True)
    # The submit carries a newer number than every background save before it.
    response = cart_client.post("/zamowienie/", {"email": "ewa@example.com", "consent_seq": 2_000_002})
    assert response.status_code == 302
    assert _stored() == (False, False)
    # A background save still in flight from before the submit arrives afterwards: ignored.
    _save(cart_client, seq=2_000_001, ticked=True)
    assert _stored() == (False, False)


def test_saves_without_a_sequence_number_still_apply(cart_client):
    """The API and pages without JavaScript send no number: their answer always counts."""
    _save(cart_client, seq=3_000_000, ticked=True)
    response = cart_client.post("/zamowienie/", {"email": "ewa@example.com"})
    assert response.status_code == 302
    assert _stored() == (False, False)
    assert mail.outbox == []


def test_the_stores_own_email_text_is_what_registration_and_the_api_show_and_record(client, store):
    from django.urls import reverse
    from rest_framework.test import APIClient

    own = ConsentText.objects.create(
        store=store, channel="email", text_pl="Zgoda na e-maile od nas.", text_en="E-mails from us: yes."
    )
    page = client.get(reverse("orders:account:register")).content.decode()
    assert "Zgoda na e-maile od nas." in page
    response = client.post(
        reverse("orders:account:register"),
        {
            "email": "nowa@example.com",
            "password1": "Trudne-Haslo-2026",
            "password2": "Trudne-Haslo-2026",
            "marketing_consent": "on",
        },
    )
    assert response.status_code == 302
    record = ConsentRecord.objects.get(email="nowa@example.com")
    assert (record.channel, record.text, record.version) == ("email", "Zgoda na e-maile od nas.", own.version)
    # The API shows the same text and records it with the answer.
    api = APIClient()
    token = api.post("/api/v1/carts/").json()["token"]
    assert api.get(f"/api/v1/carts/{token}/").json()["consent_text"] == "Zgoda na e-maile od nas."
    variant = VariantFactory(store=store, stock=5, price=Decimal("10.00"))
    api.post(f"/api/v1/carts/{token}/lines/", {"variant_id": variant.pk, "quantity": 1})
    assert (
        api.patch(
            f"/api/v1/carts/{token}/", {"email": "api@example.com", "marketing_consent": True}
        ).status_code
        == 200
    )
    record = ConsentRecord.objects.get(email="api@example.com")
    assert (record.channel, record.text, record.version) == ("email", "Zgoda na e-maile od nas.", own.version)

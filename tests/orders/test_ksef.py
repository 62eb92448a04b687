"""Invoices through KSeF, against tests/fakes/ksef.py (the documented API 2.0 protocol): issue ->
FA(3) sent in an interactive session -> KSeF number and UPO stored -> the PDF prints the number
and the verification QR code; KSeF down -> offline invoice, retried with backoff, accepted later;
rejections shown with their reason; consumer invoices outside KSeF when the store says so."""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.urls import reverse
from pypdf import PdfReader

from orders import invoices
from orders.ksef import services as ksef
from orders.ksef.tasks import sweep_ksef
from orders.models import KsefSettings, KsefSubmission, Order
from tests.catalog.factories import VariantFactory
from tests.fakes.ksef import FakeKsef, valid_ksef_number
from tests.orders.factories_after_sales import AddressFactory, make_order, use_isolated_cache
from tests.shop.factories import SuperuserFactory

pytestmark = pytest.mark.django_db
State = KsefSubmission.State
SELLER_NIP = "5260001246"
TOKEN = "20261207-EC-0123456789-ABCDEF0123-45|nip-5260001246|0123456789abcdef"
# Friday 4 December 2026, 10:00 in Warsaw.
FRIDAY = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _own_cache(settings):
    use_isolated_cache(settings)


@pytest.fixture
def fake(settings):
    with FakeKsef(tokens={SELLER_NIP: TOKEN}) as server:
        settings.KSEF_ENVIRONMENT = "test"
        settings.KSEF_API_URLS = {"test": server.url}
        settings.KSEF_POLL_INTERVAL = 0
        settings.KSEF_TIMEOUT = 5
        yield server


@pytest.fixture
def seller(store):
    store.company_name = "Koszyk Sp. z o.o."
    store.company_address = "ul. Marszałkowska 1\n00-001 Warszawa"
    store.company_tax_id = SELLER_NIP
    store.save()
    return store


@pytest.fixture
def conf(seller):
    settings_row = KsefSettings.objects.create(store=seller, enabled=True)
    ksef.set_secrets(settings_row, token=TOKEN)
    return settings_row


def b2b_order(store, **kwargs):
    lines = [
        (VariantFactory(store=store, price=Decimal("123.00"), product__vat_rate="23", stock=10), 1),
        (VariantFactory(store=store, price=Decimal("49.99"), product__vat_rate="5", stock=10), 2),
    ]
    kwargs.setdefault(
        "billing_address", AddressFactory(company_name="Firma ABC Sp. z o.o.", tax_id="5260250274")
    )
    return make_order(store=store, lines=lines, status=Order.Status.PAID, **kwargs)


def issue(order, capture, render="now"):
    with capture(execute=True):
        invoice = invoices.issue_invoice(order=order, render=render)
    invoice.refresh_from_db()
    return invoice


def pdf(invoice) -> PdfReader:
    invoice.refresh_from_db()
    return PdfReader(io.BytesIO(invoices.invoice_pdf(invoice)))


def pdf_text(invoice) -> str:
    return "\n".join(page.extract_text() for page in pdf(invoice).pages)


def pdf_images(invoice) -> int:
    return sum(len(page.images) for page in pdf(invoice).pages)


def test_b2b_invoice_goes_through_ksef_end_to_end(fake, conf, django_capture_on_commit_callbacks):
    with time_machine.travel(FRIDAY, tick=True):
        invoice = issue(b2b_order(conf.store), django_capture_on_commit_callbacks)
    sub = invoice.ksef_submission
    assert sub.state == State.ACCEPTED
    assert valid_ksef_number(sub.ksef_number) and sub.ksef_number.startswith(f"{SELLER_NIP}-")
    assert sub.ksef_number in sub.upo
    # KSeF received exactly the XML frozen at issue, encrypted in an interactive session.
    [received] = fake.accepted()
    assert received.xml.decode() == sub.xml
    assert received.offline_mode is False
    assert sub.invoice_hash == base64.b64encode(hashlib.sha256(received.xml).digest()).decode()
    assert fake.sessions[sub.session_reference].closed
    # The PDF prints the KSeF number under KOD I, whose link carries NIP, date and the XML hash.
    text = pdf_text(invoice)
    assert f"Numer KSeF: {sub.ksef_number}" in text
    assert "OFFLINE" not in text
    assert pdf_images(invoice) == 1
    context = ksef.pdf_context(invoice)
    digest = base64.urlsafe_b64encode(hashlib.sha256(received.xml).digest()).decode().rstrip("=")
    assert context["url"] == f"https://qr-test.ksef.mf.gov.pl/invoice/{SELLER_NIP}/04-12-2026/{digest}"


def test_ksef_down_issues_offline_and_sends_later(fake, conf, django_capture_on_commit_callbacks):
    fake.down = True
    with time_machine.travel(FRIDAY, tick=False) as clock:
        invoice = issue(b2b_order(conf.store), django_capture_on_commit_callbacks)
        sub = invoice.ksef_submission
        assert sub.state == State.OFFLINE and sub.offline
        assert sub.offline_deadline == date(2026, 12, 7)  # the next business day (Monday)
        assert "unavailable" in sub.last_error
        assert sub.next_attempt_at == FRIDAY + timedelta(seconds=60)
        text = pdf_text(invoice)
        assert "OFFLINE" in text and "trybie offline" in text and "Numer KSeF" not in text
        assert pdf_images(invoice) == 1

        # Not due yet: the sweep leaves it alone (no request to KSeF).
        calls = len(fake.requests)
        assert sweep_ksef() == 0
        assert len(fake.requests) == calls

        # Due, still down: one more attempt, the next one twice as late.
        clock.move_to(FRIDAY + timedelta(seconds=61))
        assert sweep_ksef() == 1
        sub.refresh_from_db()
        assert (sub.state, sub.attempts) == (State.OFFLINE, 2)
        assert sub.next_attempt_at == FRIDAY + timedelta(seconds=61 + 120)

        # KSeF is back: the next due attempt sends it in offline mode and the PDF gets the number.
        fake.down = False
        clock.move_to(FRIDAY + timedelta(minutes=5))
        assert sweep_ksef() == 1
    sub.refresh_from_db()
    assert sub.state == State.ACCEPTED and valid_ksef_number(sub.ksef_number)
    [received] = fake.accepted()
    assert received.offline_mode is True
    text = pdf_text(invoice)
    assert sub.ksef_number in text and "OFFLINE" not in text


def test_rejected_invoice_keeps_the_reason_and_shows_it_in_the_admin(
    fake, conf, client, django_capture_on_commit_callbacks
):
    fake.reject_next = "Nieprawidłowa wartość pola P_15."
    invoice = issue(b2b_order(conf.store), django_capture_on_commit_callbacks, render="never")
    sub = invoice.ksef_submission
    assert sub.state == State.REJECTED
    assert "450" in sub.reason and "Nieprawidłowa wartość pola P_15." in sub.reason
    assert ksef.pdf_context(invoice) is None  # not in KSeF: no verification code
    assert ksef.submit(sub.pk, force=True).state == State.REJECTED  # final: never resent
    assert len(fake.accepted()) == 0

    client.force_login(SuperuserFactory())
    page = client.get(reverse("admin:orders_ksefsubmission_change", args=[sub.pk]), HTTP_ACCEPT_LANGUAGE="pl")
    assert page.status_code == 200
    assert "Nieprawidłowa wartość pola P_15." in page.content.decode()
    listing = client.get(reverse("admin:orders_invoice_changelist"), HTTP_ACCEPT_LANGUAGE="pl")
    assert listing.status_code == 200
    assert "odrzucona (zobacz powód)" in listing.content.decode()
    change = client.get(reverse("admin:orders_invoice_change", args=[invoice.pk]), HTTP_ACCEPT_LANGUAGE="pl")
    assert "odrzucona (zobacz powód)" in change.content.decode()


def test_an_invoice_ksef_already_has_is_not_sent_twice(fake, conf, django_capture_on_commit_callbacks):
    """The answer to the first send was lost: the retry's "duplicate" carries the KSeF number."""
    invoice = issue(b2b_order(conf.store), django_capture_on_commit_callbacks, render="never")
    sub = invoice.ksef_submission
    number = sub.ksef_number
    KsefSubmission.objects.filter(pk=sub.pk).update(
        state=State.PENDING, ksef_number="", session_reference="", invoice_reference="", next_attempt_at=None
    )
    sub = ksef.submit(sub.pk)
    assert sub.state == State.ACCEPTED and sub.ksef_number == number
    assert len(fake.accepted()) == 1


def test_still_processing_is_checked_again(fake, conf, django_capture_on_commit_callbacks):
    fake.processing_polls = 5  # the first attempt's status checks all say "150 processing"
    with time_machine.travel(FRIDAY, tick=False) as clock:
        invoice = issue(b2b_order(conf.store), django_capture_on_commit_callbacks, render="never")
        sub = invoice.ksef_submission
        assert sub.state == State.SENT and sub.invoice_reference
        clock.move_to(FRIDAY + timedelta(minutes=2))
        sends = sum(r.path.endswith("/invoices") and r.method == "POST" for r in fake.requests)
        assert sweep_ksef() == 1
    sub.refresh_from_db()
    assert sub.state == State.ACCEPTED
    assert sum(r.path.endswith("/invoices") and r.method == "POST" for r in fake.requests) == sends == 1


def test_a_refused_token_keeps_the_invoice_offline_with_the_error(
    fake, conf, django_capture_on_commit_callbacks
):
    ksef.set_secrets(conf, token="revoked-token")
    invoice = issue(b2b_order(conf.store), django_capture_on_commit_callbacks, render="never")
    sub = invoice.ksef_submission
    assert sub.state == State.OFFLINE
    assert sub.last_error.startswith("KSeF refused") and "450" in sub.last_error
    assert fake.invoices == {}


@pytest.mark.parametrize(("b2c_in_ksef", "state"), [(False, State.NOT_APPLICABLE), (True, State.ACCEPTED)])
def test_consumer_invoices_follow_the_store_setting(
    fake, conf, b2c_in_ksef, state, django_capture_on_commit_callbacks
):
    conf.b2c_in_ksef = b2c_in_ksef
    conf.save()
    invoice = issue(
        b2b_order(conf.store, billing_address=AddressFactory(tax_id="")), django_capture_on_commit_callbacks
    )
    assert invoice.ksef_submission.state == state
    assert len(fake.invoices) == (1 if b2c_in_ksef else 0)
    assert ("KSeF" in pdf_text(invoice)) is b2c_in_ksef


def test_stores_without_ksef_issue_as_before(fake, seller, django_capture_on_commit_callbacks):
    invoice = issue(b2b_order(seller), django_capture_on_commit_callbacks)
    assert invoice.ksef_submission.state == State.NOT_APPLICABLE
    assert fake.requests == []
    assert "KSeF" not in pdf_text(invoice)


def test_an_invoice_that_cannot_be_built_is_rejected_locally(fake, conf, django_capture_on_commit_callbacks):
    order = b2b_order(conf.store, billing_address=AddressFactory(company_name="Firma", tax_id="1234567890"))
    invoice = issue(order, django_capture_on_commit_callbacks, render="never")
    sub = invoice.ksef_submission
    assert sub.state == State.REJECTED and sub.reason.startswith("Not sent:") and "NIP" in sub.reason
    assert fake.requests == []


def test_offline_invoice_with_an_offline_certificate_prints_kod_ii(
    fake, conf, django_capture_on_commit_callbacks
):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    conf.offline_certificate_serial = "01F20A5D352AE590"
    conf.save()
    ksef.set_secrets(conf, offline_key_pem=pem)
    fake.down = True
    invoice = issue(b2b_order(conf.store), django_capture_on_commit_callbacks)
    context = ksef.pdf_context(invoice)
    prefix = f"https://qr-test.ksef.mf.gov.pl/certificate/Nip/{SELLER_NIP}/{SELLER_NIP}/01F20A5D352AE590/"
    assert context["certificate_url"].startswith(prefix)
    # The signature verifies with the certificate's public key (P-256, IEEE P1363 r||s).
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    path, signature = context["certificate_url"].removeprefix("https://").rsplit("/", 1)
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.public_key().verify(der, path.encode(), ec.ECDSA(hashes.SHA256()))
    assert "CERTYFIKAT" in pdf_text(invoice)
    assert pdf_images(invoice) == 2


@pytest.mark.parametrize(
    ("day", "deadline"),
    [
        (date(2026, 12, 4), date(2026, 12, 7)),  # Friday -> Monday
        (date(2026, 12, 23), date(2026, 12, 28)),  # Christmas Eve, Christmas, Boxing Day, Sunday
        (date(2027, 3, 26), date(2027, 3, 30)),  # Friday before Easter Monday (29 March 2027)
        (date(2026, 11, 10), date(2026, 11, 12)),  # Independence Day
    ],
)
def test_offline_deadline_is_the_next_business_day(day, deadline):
    assert ksef.next_business_day(day) == deadline


def test_settings_form_stores_the_token_encrypted(seller, client):
    client.force_login(SuperuserFactory())
    url = reverse("admin:orders_ksefsettings_add")
    refused = client.post(url, {"store": seller.pk, "enabled": "on", "environment": "test", "token": ""})
    assert refused.status_code == 200 and not KsefSettings.objects.exists()
    response = client.post(url, {"store": seller.pk, "enabled": "on", "environment": "test", "token": TOKEN})
    assert response.status_code == 302
    row = KsefSettings.objects.get(store=seller)
    assert TOKEN not in row.secrets and ksef.secrets_of(row)["token"] == TOKEN
    page = client.get(reverse("admin:orders_ksefsettings_change", args=[row.pk])).content.decode()
    assert TOKEN not in page


def test_a_second_delivery_of_the_task_does_not_send_again(fake, conf, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        invoice = invoices.issue_invoice(order=b2b_order(conf.store), render="never")
    sub = invoice.ksef_submission
    assert sub.state == State.PENDING and fake.requests == []
    claimed = ksef._claim(sub.pk, force=False)
    assert claimed is not None and claimed.attempts == 1
    # While the first worker holds the lease, another delivery (or the sweep) does nothing.
    assert ksef._claim(sub.pk, force=False) is None
    assert ksef.submit(sub.pk).state == State.PENDING
    assert sweep_ksef() == 0
    assert fake.requests == []


def test_the_admin_sends_offline_invoices_now_and_flags_overdue_ones(
    fake, conf, client, django_capture_on_commit_callbacks
):
    fake.down = True
    with time_machine.travel(FRIDAY, tick=False):
        invoice = issue(b2b_order(conf.store), django_capture_on_commit_callbacks, render="never")
    sub = invoice.ksef_submission
    client.force_login(SuperuserFactory())
    url = reverse("admin:orders_ksefsubmission_changelist")
    with time_machine.travel(datetime(2026, 12, 8, 9, 0, tzinfo=UTC), tick=False):  # Tuesday: past Monday
        assert list(ksef.overdue()) == [sub]
        listing = client.get(url, HTTP_ACCEPT_LANGUAGE="pl").content.decode()
        assert "wystawiona offline, do wysłania (po terminie od 2026-12-07)" in listing
        fake.down = False
        response = client.post(url, {"action": "send_now", "_selected_action": [sub.pk]})
    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.state == State.ACCEPTED and valid_ksef_number(sub.ksef_number)


def test_a_missing_upo_is_fetched_later(fake, conf, django_capture_on_commit_callbacks):
    fake.upo_failures = 1
    with time_machine.travel(FRIDAY, tick=False) as clock:
        invoice = issue(b2b_order(conf.store), django_capture_on_commit_callbacks, render="never")
        sub = invoice.ksef_submission
        assert sub.state == State.ACCEPTED and sub.upo == "" and sub.next_attempt_at is not None
        clock.move_to(FRIDAY + timedelta(minutes=2))
        assert sweep_ksef() == 1
    sub.refresh_from_db()
    assert sub.ksef_number in sub.upo and sub.next_attempt_at is None
    assert sweep_ksef() == 0
    assert len(fake.accepted()) == 1


def test_an_unreadable_answer_counts_as_ksef_unavailable(fake, conf, django_capture_on_commit_callbacks):
    fake.malformed = True
    invoice = issue(b2b_order(conf.store), django_capture_on_commit_callbacks, render="never")
    sub = invoice.ksef_submission
    assert sub.state == State.OFFLINE
    assert sub.last_error.startswith("KSeF unavailable") and "proxy error page" in sub.last_error

"""Apaczka API v2 against the fake Apaczka server: request signing (known-good vectors computed
with ``openssl dgst -sha256 -hmac``, tampered and expired requests), order_send with cash on
delivery, waybill labels, status tracking through the order workflow, and faults."""

from __future__ import annotations

import io
import time
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
from pypdf import PdfReader

from orders.carriers import apaczka, services, tasks
from orders.carriers.base import CarrierError
from orders.models import Order, Shipment
from tests.fakes.apaczka import FakeApaczka
from tests.fakes.http_server import FakeResponse
from tests.orders.factories_shipping import CarrierAccountFactory, courier_method, ship_ready_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]
S = Shipment.Status
BANK = "61109010140000071219812874"


# --- signing: known-good vectors ---------------------------------------------------------------------

EXPIRES = 1795430400  # 2026-11-24 08:00:00 UTC


@pytest.mark.parametrize(
    ("app_id", "secret", "route", "body", "expected"),
    [
        # printf '%s' '123456_abcdef:order_send/:{"order":{"service_id":41}}:1795430400' \
        #   | openssl dgst -sha256 -hmac 'apaczka-secret'
        (
            "123456_abcdef",
            "apaczka-secret",
            "order_send/",
            '{"order":{"service_id":41}}',
            "8216b2f4badeb0b5b0daf4dfe61eb8305dc82a92d2b9c92983a3817fdc048bee",
        ),
        (
            "123456_abcdef",
            "apaczka-secret",
            "service_structure/",
            "{}",
            "fa98e0ca05a4320ed8e335c74418bea3271371a432f2aec5ef3d562e7aefc983",
        ),
        # A UTF-8 secret is signed as its UTF-8 bytes.
        (
            "x",
            "zażółć",
            "order/5001/",
            "{}",
            "49ed1a1e440f4cf5b605ef3f2a32f0625ce4ba54b70f3988572a306c8bce5691",
        ),
    ],
)
def test_signature_matches_hand_computed_vectors(app_id, secret, route, body, expected):
    assert (
        apaczka.sign(app_id=app_id, app_secret=secret, route=route, request=body, expires=EXPIRES) == expected
    )


def test_signed_form_is_verifiable_and_any_tampering_breaks_it(settings):
    settings.APACZKA_SIGNATURE_TTL_SECONDS = 600
    now = EXPIRES - 600
    form = apaczka.signed_form(
        app_id="123456_abcdef",
        app_secret="apaczka-secret",
        route="order_send/",
        data={"order": {"service_id": 41}},
        now=now,
    )
    assert form["request"] == '{"order":{"service_id":41}}'  # compact JSON, signed as sent
    assert form["expires"] == str(EXPIRES)
    assert form["signature"] == "8216b2f4badeb0b5b0daf4dfe61eb8305dc82a92d2b9c92983a3817fdc048bee"
    ok = {"app_id": "123456_abcdef", "app_secret": "apaczka-secret", "route": "order_send/"}
    assert apaczka.verify(form, **ok, now=now)
    assert not apaczka.verify({**form, "request": '{"order":{"service_id":42}}'}, **ok, now=now)
    assert not apaczka.verify({**form, "expires": str(EXPIRES + 1)}, **ok, now=now)
    assert not apaczka.verify({**form, "signature": form["signature"].upper()[:-1] + "0"}, **ok, now=now)
    assert not apaczka.verify(form, **{**ok, "route": "order_send"}, now=now)  # the slash is signed
    assert not apaczka.verify(form, **{**ok, "app_secret": "other"}, now=now)
    assert not apaczka.verify(form, **ok, now=EXPIRES + 1)  # expired
    assert not apaczka.verify(form, **ok, now=EXPIRES - 3600)  # more than 30 minutes ahead
    assert not apaczka.verify({**form, "expires": "soon"}, **ok, now=now)


def test_expiry_is_never_more_than_thirty_minutes_ahead(settings):
    settings.APACZKA_SIGNATURE_TTL_SECONDS = 7200
    form = apaczka.signed_form(app_id="a", app_secret="s", route="orders/", data={}, now=1000)
    assert form["expires"] == str(1000 + 1800)


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture
def fake(settings):
    settings.CARRIER_HTTP_BACKOFF_SECONDS = 0
    settings.CARRIER_RATE_PER_SECOND = 0
    settings.CARRIER_HTTP_RETRIES = 1
    settings.CARRIER_TRACKING_MIN_AGE_SECONDS = 0
    with FakeApaczka() as server:
        settings.APACZKA_SANDBOX_URL = server.url
        settings.APACZKA_URL = "http://127.0.0.1:9"
        yield server


@pytest.fixture
def account(store, fake):
    return CarrierAccountFactory(
        store=store, carrier="apaczka", config={"app_id": fake.app_id, "cod_bank_account": BANK}
    )


def ship(orders, capture):
    with capture(execute=True):
        created, refused = services.create_shipments(orders=orders)
    for shipment in created:
        shipment.refresh_from_db()
    return created, refused


def follow(capture):
    with capture(execute=True):
        tasks.follow_shipments.delay()


# --- the journey -------------------------------------------------------------------------------------


def test_cod_parcel_through_apaczka_to_delivery(store, account, fake, django_capture_on_commit_callbacks):
    order = ship_ready_order(store, courier_method(store, carrier="apaczka"), cod=True)
    (shipment,), refused = ship([order], django_capture_on_commit_callbacks)
    assert refused == []
    assert shipment.status == S.CONFIRMED  # Apaczka creates the waybill at once: no polling
    assert shipment.tracking_number == "AP0000000001"
    assert shipment.tracking_url.endswith("waybill_number=AP0000000001")

    sent = fake.sent_orders()[0]
    assert sent["service_id"] == 41
    assert sent["comment"] == shipment.reference  # our idempotency reference
    assert sent["cod"] == {"amount": 13800, "bankaccount": BANK}  # grosze
    assert sent["shipment_value"] >= 13800
    assert sent["shipment"][0] == {
        "dimension1": 30,
        "dimension2": 20,
        "dimension3": 10,
        "weight": 1.5,
        "is_nstd": 0,
        "shipment_type_code": "PACZKA",
    }
    assert sent["address"]["receiver"]["line1"] == "ul. Długa 5/7"
    assert sent["address"]["receiver"]["phone"] == "600100200"
    assert sent["address"]["sender"]["postal_code"] == "30-001"
    form = parse_qs(fake.calls("order_send/")[0].body.decode())
    assert int(form["expires"][0]) <= time.time() + 1800

    order.refresh_from_db()
    assert order.tracking_number == "AP0000000001" and order.status == Order.Status.PACKED

    label, _ = services.label_document(shipments=[shipment], fmt="pdf")
    assert len(PdfReader(io.BytesIO(label.content)).pages) == 1

    fake.advance("AP0000000001", "SENT")
    follow(django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED
    fake.advance("AP0000000001", "DELIVERED")
    follow(django_capture_on_commit_callbacks)
    order.refresh_from_db()
    shipment.refresh_from_db()
    assert shipment.status == S.DELIVERED
    assert order.status == Order.Status.DELIVERED and order.payment_status == Order.PaymentStatus.PAID


def test_batch_labels_merge_one_waybill_per_order(store, account, fake, django_capture_on_commit_callbacks):
    method = courier_method(store, carrier="apaczka")
    created, _ = ship([ship_ready_order(store, method) for _ in range(3)], django_capture_on_commit_callbacks)
    label, skipped = services.label_document(shipments=created, fmt="pdf")
    assert skipped == [] and len(PdfReader(io.BytesIO(label.content)).pages) == 3
    assert len(fake.calls("waybill/" + created[0].carrier_shipment_id + "/")) == 1


# --- faults ------------------------------------------------------------------------------------------


def test_wrong_secret_is_refused_by_the_signature_check(store, fake, django_capture_on_commit_callbacks):
    account = CarrierAccountFactory(
        store=store, carrier="apaczka", config={"app_id": fake.app_id}, secrets={"app_secret": "wrong"}
    )
    check = services.test_connection(account)
    assert not check.ok and "Invalid signature" in check.message
    (shipment,), _ = ship(
        [ship_ready_order(store, courier_method(store, carrier="apaczka"))],
        django_capture_on_commit_callbacks,
    )
    assert shipment.status == S.ERROR and "credentials" in shipment.error_message
    assert fake.orders == {}


def test_connection_test_with_good_credentials(store, account, fake):
    check = services.test_connection(account)
    assert check.ok and "3 services" in check.message


def test_a_clock_far_off_makes_requests_expired(store, account, fake):
    fake.clock = lambda: time.time() + 3600  # the server thinks our expiry is in the past
    assert "Request expired" in services.test_connection(account).message
    fake.clock = lambda: time.time() - 3600  # ... or too far ahead
    assert "too far" in services.test_connection(account).message


def test_cod_without_a_bank_account_is_refused_before_calling(
    store, fake, django_capture_on_commit_callbacks
):
    CarrierAccountFactory(store=store, carrier="apaczka", config={"app_id": fake.app_id})
    order = ship_ready_order(store, courier_method(store, carrier="apaczka"), cod=True)
    (shipment,), _ = ship([order], django_capture_on_commit_callbacks)
    assert shipment.status == S.ERROR and "bank account" in shipment.error_message
    assert fake.calls("order_send/") == []


def test_a_rejected_address_is_a_clear_error(store, account, fake, django_capture_on_commit_callbacks):
    order = ship_ready_order(store, courier_method(store, carrier="apaczka"))
    order.shipping_address.postal_code = "00950"
    order.shipping_address.save()
    (shipment,), _ = ship([order], django_capture_on_commit_callbacks)
    assert shipment.status == S.ERROR
    assert "address.receiver.postal_code: invalid" in shipment.error_message
    assert len(fake.calls("order_send/")) == 1  # a refusal is not retried by itself


def test_a_send_that_timed_out_is_found_by_its_comment(
    store, account, fake, settings, django_capture_on_commit_callbacks
):
    settings.CARRIER_HTTP_TIMEOUT_SECONDS = 0.3
    fake.next_send, fake.send_delay = "timeout", 1.0
    (shipment,), _ = ship(
        [ship_ready_order(store, courier_method(store, carrier="apaczka"))],
        django_capture_on_commit_callbacks,
    )
    assert len(fake.calls("order_send/")) == 1 and len(fake.orders) == 1
    assert shipment.status == S.CONFIRMED
    assert shipment.carrier_shipment_id == str(fake.by_comment(shipment.reference).id)


def test_server_errors_and_garbage_are_retryable_errors(
    store, account, fake, settings, django_capture_on_commit_callbacks
):
    settings.CARRIER_SUBMIT_MAX_ATTEMPTS = 2
    fake.fail_with = FakeResponse(502, b"<html>bad gateway</html>")
    (shipment,), _ = ship(
        [ship_ready_order(store, courier_method(store, carrier="apaczka"))],
        django_capture_on_commit_callbacks,
    )
    assert shipment.status == S.ERROR and shipment.submit_attempts == 2
    fake.fail_with = FakeResponse(200, b"not json at all", {"Content-Type": "text/plain"})
    with pytest.raises(CarrierError, match="cannot read"):
        apaczka.Apaczka().call(account, "service_structure/", retry=False)
    fake.fail_with = FakeResponse(200, b'{"status":200,"message":"","response":{"waybill":"!!notbase64"}}')
    with pytest.raises(CarrierError, match="cannot read"):
        apaczka.Apaczka().labels(account, ["1"], "pdf")
    fake.fail_with = None
    with django_capture_on_commit_callbacks(execute=True):
        services.retry_shipment(shipment=shipment)
    shipment.refresh_from_db()
    assert shipment.status == S.CONFIRMED and len(fake.orders) == 1


def test_a_non_numeric_service_is_refused(store, account, fake, django_capture_on_commit_callbacks):
    order = ship_ready_order(store, courier_method(store, carrier="apaczka", carrier_service="dpd"))
    created, refused = ship([order], django_capture_on_commit_callbacks)
    assert created == [] and "numeric id" in refused[0][1]


def test_cancel_at_apaczka(store, account, fake, django_capture_on_commit_callbacks):
    order = ship_ready_order(store, courier_method(store, carrier="apaczka"))
    (shipment,), _ = ship([order], django_capture_on_commit_callbacks)
    services.cancel_shipment(shipment=shipment)
    assert fake.orders[int(shipment.carrier_shipment_id)].status == "CANCELLED"
    shipment.refresh_from_db()
    assert shipment.status == S.CANCELLED
    order.refresh_from_db()
    assert order.tracking_number == ""


def test_shipping_method_tracking_url_wins_in_the_email(
    store, account, fake, django_capture_on_commit_callbacks
):
    from orders.carriers import tracking_url_for

    method = courier_method(store, carrier="apaczka", tracking_url="https://track.example/{number}?src=shop")
    order = ship_ready_order(store, method)
    ship([order], django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert tracking_url_for(order) == f"https://track.example/{order.tracking_number}?src=shop"
    method.tracking_url = ""
    method.save()
    order.refresh_from_db()
    assert tracking_url_for(order).startswith("https://www.apaczka.pl/sledz-przesylke/")
    assert Decimal(order.total) == Decimal("138.00")


def test_handover_list_for_the_courier(store, account, fake, django_capture_on_commit_callbacks):
    method = courier_method(store, carrier="apaczka")
    created, _ = ship([ship_ready_order(store, method) for _ in range(2)], django_capture_on_commit_callbacks)
    document = services.handover_document(shipments=created)
    assert document.content.startswith(b"%PDF")
    sent = parse_qs(fake.calls("turn_in/")[0].body.decode())["request"][0]
    first, second = created[0].carrier_shipment_id, created[1].carrier_shipment_id
    assert sent == f'{{"order_ids":[{first},{second}]}}'
    fake.fail_with = FakeResponse(200, b'{"status":200,"message":"","response":{"turn_in":"bm90IGEgcGRm"}}')
    with pytest.raises(services.ShipmentRefused, match="not a PDF"):
        services.handover_document(shipments=created)

"""InPost ShipX against the fake ShipX server: create (asynchronous confirmation polled by the
task), labels (single, batch, ZPL), tracking moving the order through the workflow, cash on
delivery, and faults (422 details, bad token, 5xx, timeouts, truncated labels, duplicates)."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from pypdf import PdfReader

from orders.carriers import inpost, services, tasks
from orders.carriers.base import CarrierError, split_street
from orders.models import Order, OrderNote, Shipment, ShipmentEvent
from tests.fakes.http_server import FakeResponse
from tests.fakes.inpost_shipx import FakeShipX
from tests.orders.factories_shipping import (
    CarrierAccountFactory,
    courier_method,
    locker_method,
    ship_ready_order,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]
S = Shipment.Status


@pytest.fixture
def shipx(settings):
    settings.CARRIER_HTTP_BACKOFF_SECONDS = 0
    settings.CARRIER_RATE_PER_SECOND = 0
    settings.CARRIER_HTTP_RETRIES = 1
    settings.CARRIER_HTTP_TIMEOUT_SECONDS = 2
    settings.CARRIER_CONFIRM_POLL_SECONDS = 0
    settings.CARRIER_TRACKING_MIN_AGE_SECONDS = 0
    with FakeShipX() as fake:
        settings.INPOST_SHIPX_SANDBOX_URL = fake.url
        settings.INPOST_SHIPX_URL = "http://127.0.0.1:9"
        yield fake


@pytest.fixture
def account(store, shipx):
    return CarrierAccountFactory(store=store, carrier="inpost")


def ship(orders, capture, **kwargs):
    with capture(execute=True):
        created, refused = services.create_shipments(orders=orders, **kwargs)
    for shipment in created:
        shipment.refresh_from_db()
    return created, refused


def follow(capture):
    with capture(execute=True):
        tasks.follow_shipments.delay()


# --- the whole journey -----------------------------------------------------------------------------


def test_locker_parcel_from_admin_to_delivery(store, account, shipx, django_capture_on_commit_callbacks):
    shipx.confirm_after = 3  # ShipX prepares the label asynchronously: two reads say "created"
    order = ship_ready_order(store, locker_method(store, tracking_url=""))
    (shipment,), refused = ship([order], django_capture_on_commit_callbacks)
    assert refused == []
    assert shipment.status == S.CONFIRMED
    assert len(shipx.calls("POST", "/shipments")) == 1
    assert len(shipx.calls("GET", f"/v1/shipments/{shipment.carrier_shipment_id}")) == 3

    body = shipx.created_bodies()[0]
    assert body["service"] == "inpost_locker_standard"
    assert body["reference"] == shipment.reference
    assert body["external_customer_id"] == order.number
    assert body["custom_attributes"]["target_point"] == "KRA010"
    assert body["parcels"] == [{"template": "small"}]
    assert body["receiver"]["phone"] == "600100200"
    assert "cod" not in body  # paid online

    order.refresh_from_db()
    assert order.tracking_number == shipment.tracking_number != ""
    assert order.status == Order.Status.PACKED

    label, skipped = services.label_document(shipments=[shipment], fmt="pdf")
    assert skipped == [] and label.content.startswith(b"%PDF")
    assert len(PdfReader(io.BytesIO(label.content)).pages) == 1

    shipx.advance(shipment.tracking_number, "taken_by_courier", "2026-11-23T12:00:00.000+01:00")
    follow(django_capture_on_commit_callbacks)
    order.refresh_from_db()
    shipment.refresh_from_db()
    assert shipment.status == S.IN_TRANSIT
    assert order.status == Order.Status.SHIPPED
    shipped_mail = [m for m in mail.outbox if "on its way" in m.subject or "w drodze" in m.subject]
    assert len(shipped_mail) == 1
    assert shipment.tracking_number in shipped_mail[0].body
    assert f"https://inpost.pl/sledzenie-przesylek?number={shipment.tracking_number}" in shipped_mail[0].body

    shipx.advance(shipment.tracking_number, "delivered", "2026-11-24T09:30:00.000+01:00")
    follow(django_capture_on_commit_callbacks)
    order.refresh_from_db()
    shipment.refresh_from_db()
    assert shipment.status == S.DELIVERED and order.status == Order.Status.DELIVERED
    assert shipment.delivered_at.isoformat().startswith("2026-11-24T08:30")
    assert list(shipment.events.values_list("carrier_status", flat=True)) == ["taken_by_courier", "delivered"]
    # Following again changes nothing and stores no event twice.
    follow(django_capture_on_commit_callbacks)
    assert ShipmentEvent.objects.filter(shipment=shipment).count() == 2
    statuses = list(order.status_changes.values_list("to_status", flat=True))
    assert statuses == ["packed", "shipped", "delivered"]


def test_cash_on_delivery_courier_parcel_carries_the_amount_and_is_paid_on_delivery(
    store, account, shipx, django_capture_on_commit_callbacks
):
    order = ship_ready_order(store, courier_method(store), cod=True)
    (shipment,), _ = ship([order], django_capture_on_commit_callbacks)
    body = shipx.created_bodies()[0]
    assert body["service"] == "inpost_courier_standard"
    assert body["cod"] == {"amount": "138.00", "currency": "PLN"}
    assert Decimal(body["insurance"]["amount"]) >= Decimal("138.00")
    assert body["receiver"]["address"] == {
        "street": "ul. Długa",
        "building_number": "5/7",
        "city": "Warszawa",
        "post_code": "00-950",
        "country_code": "PL",
    }
    assert body["parcels"][0]["dimensions"] == {"length": 300, "width": 200, "height": 100, "unit": "mm"}
    assert body["parcels"][0]["weight"] == {"amount": 1.5, "unit": "kg"}
    assert body["sender"]["company_name"] == "Sklep Testowy sp. z o.o."
    assert shipment.cod_amount == Decimal("138.00")
    order.refresh_from_db()
    assert order.status == Order.Status.PACKED  # COD: new -> packed

    shipx.advance(shipment.tracking_number, "delivered")
    follow(django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert order.payment_status == Order.PaymentStatus.PAID  # the courier collected the money
    assert list(order.status_changes.values_list("to_status", flat=True)) == [
        "packed",
        "shipped",
        "delivered",
    ]


# --- labels ----------------------------------------------------------------------------------------


def test_batch_labels_are_one_request_per_hundred_and_one_merged_pdf(
    store, account, shipx, django_capture_on_commit_callbacks, monkeypatch
):
    method = locker_method(store)
    orders = [ship_ready_order(store, method) for _ in range(3)]
    created, _ = ship(orders, django_capture_on_commit_callbacks)
    label, skipped = services.label_document(shipments=created, fmt="pdf")
    assert skipped == []
    assert len(PdfReader(io.BytesIO(label.content)).pages) == 3
    batch_calls = shipx.calls("GET", "/shipments/labels")
    assert len(batch_calls) == 1
    assert batch_calls[0].query.count("shipment_ids%5B%5D=") == 3
    # Above the carrier's batch limit the ids are split and the PDFs merged.
    monkeypatch.setattr(inpost.InPostShipX, "batch_label_limit", 2)
    label, _ = services.label_document(shipments=created, fmt="pdf")
    assert len(PdfReader(io.BytesIO(label.content)).pages) == 3
    assert len(shipx.calls("GET", "/shipments/labels")) == 3


def test_zpl_labels_and_unready_shipments_are_reported(
    store, account, shipx, django_capture_on_commit_callbacks
):
    method = locker_method(store)
    first, second = ship_ready_order(store, method), ship_ready_order(store, method)
    (done,), _ = ship([first], django_capture_on_commit_callbacks)
    shipx.confirm_after = 99
    with django_capture_on_commit_callbacks(execute=False):
        (waiting,), _ = services.create_shipments(orders=[second])
    label, skipped = services.label_document(shipments=[done, waiting], fmt="zpl")
    assert label.content.startswith(b"^XA") and done.tracking_number.encode() in label.content
    assert label.content_type == "application/zpl"
    assert [s.pk for s, _reason in skipped] == [waiting.pk]
    with pytest.raises(services.ShipmentRefused):
        services.label_document(shipments=[waiting], fmt="pdf")


def test_a_truncated_or_non_pdf_label_is_an_error_not_a_short_file(
    store, account, shipx, django_capture_on_commit_callbacks
):
    (shipment,), _ = ship([ship_ready_order(store, locker_method(store))], django_capture_on_commit_callbacks)
    shipx.fail_with = FakeResponse(
        200, b"%PDF-1.7" + b"x" * 5000, {"Content-Type": "application/pdf"}, truncate_after=100
    )
    with pytest.raises(services.ShipmentRefused):
        services.label_document(shipments=[shipment], fmt="pdf")
    shipx.fail_with = FakeResponse(200, b"<html>maintenance</html>", {"Content-Type": "text/html"})
    with pytest.raises(services.ShipmentRefused, match="not a PDF"):
        services.label_document(shipments=[shipment], fmt="pdf")


def test_an_oversized_label_is_refused(store, account, shipx, settings, django_capture_on_commit_callbacks):
    (shipment,), _ = ship([ship_ready_order(store, locker_method(store))], django_capture_on_commit_callbacks)
    settings.CARRIER_LABEL_MAX_BYTES = 1000
    shipx.fail_with = FakeResponse(200, b"%PDF" + b"0" * 5000, {"Content-Type": "application/pdf"})
    with pytest.raises(services.ShipmentRefused, match="larger than"):
        services.label_document(shipments=[shipment], fmt="pdf")


# --- faults ----------------------------------------------------------------------------------------


def test_a_rejected_point_is_an_error_with_the_carriers_details_and_can_be_retried(
    store, account, shipx, django_capture_on_commit_callbacks
):
    order = ship_ready_order(store, locker_method(store), pickup_point="XYZ99")
    (shipment,), _ = ship([order], django_capture_on_commit_callbacks)
    assert shipment.status == S.ERROR
    assert "target_point: does_not_exist" in shipment.error_message
    assert shipment.error_details == {"custom_attributes": [{"target_point": ["does_not_exist"]}]}
    assert len(shipx.calls("POST", "/shipments")) == 1  # a 422 is not retried automatically
    assert shipx.shipments == {}

    shipx.points.add("XYZ99")  # the merchant checked the point with InPost
    with django_capture_on_commit_callbacks(execute=True):
        services.retry_shipment(shipment=shipment)
    shipment.refresh_from_db()
    assert shipment.status == S.CONFIRMED and shipment.error_message == ""
    assert len(shipx.shipments) == 1


def test_a_courier_address_without_building_number_is_refused_before_calling(
    store, account, shipx, django_capture_on_commit_callbacks
):
    order = ship_ready_order(store, courier_method(store))
    order.shipping_address.street = "Rynek Główny"
    order.shipping_address.save()
    (shipment,), _ = ship([order], django_capture_on_commit_callbacks)
    assert shipment.status == S.ERROR and "building number" in shipment.error_message
    assert shipx.calls("POST", "/shipments") == []
    assert shipment.submitted_at is None


def test_an_invalid_token_is_a_clear_error_and_the_connection_test_says_so(
    store, shipx, django_capture_on_commit_callbacks
):
    account = CarrierAccountFactory(store=store, carrier="inpost", secrets={"api_token": "wrong"})
    (shipment,), _ = ship([ship_ready_order(store, locker_method(store))], django_capture_on_commit_callbacks)
    assert shipment.status == S.ERROR and "token" in shipment.error_message
    check = services.test_connection(account)
    assert not check.ok and "token" in check.message
    account.refresh_from_db()
    assert account.last_check_ok is False

    account.set_secrets(api_token="shipx-token")
    account.save()
    check = services.test_connection(account)
    assert check.ok and "Sklep Testowy" in check.message
    account.config = {"organization_id": "999"}
    assert not services.test_connection(account).ok
    account.config = {"organization_id": "12; DROP"}
    assert "must be a number" in services.test_connection(account).message


def test_server_errors_are_retried_then_left_as_an_error_without_duplicates(
    store, account, shipx, settings, django_capture_on_commit_callbacks
):
    settings.CARRIER_SUBMIT_MAX_ATTEMPTS = 3
    shipx.fail_with = FakeResponse(503, b"upstream down")
    (shipment,), _ = ship([ship_ready_order(store, locker_method(store))], django_capture_on_commit_callbacks)
    assert shipment.status == S.ERROR and shipment.submit_attempts == 3
    assert "Carrier unavailable" in shipment.error_message
    assert shipx.shipments == {}
    # The outage ends; the merchant retries: the lookup by reference comes first.
    shipx.fail_with = None
    with django_capture_on_commit_callbacks(execute=True):
        services.retry_shipment(shipment=shipment)
    shipment.refresh_from_db()
    assert shipment.status == S.CONFIRMED
    assert len(shipx.shipments) == 1
    assert shipx.calls("GET", "/organizations/1234/shipments")  # looked up first


def test_a_create_that_timed_out_is_found_by_reference_not_created_twice(
    store, account, shipx, settings, django_capture_on_commit_callbacks
):
    settings.CARRIER_HTTP_TIMEOUT_SECONDS = 0.3
    shipx.next_create, shipx.create_delay = "timeout", 1.0
    (shipment,), _ = ship([ship_ready_order(store, locker_method(store))], django_capture_on_commit_callbacks)
    # First attempt timed out after ShipX created the parcel; the retry found it by reference.
    assert len(shipx.calls("POST", "/shipments")) == 1
    assert len(shipx.shipments) == 1
    assert shipment.status == S.CONFIRMED
    assert shipment.carrier_shipment_id == str(next(iter(shipx.shipments)))
    assert shipment.submit_attempts == 2


def test_one_active_shipment_per_order_and_carrier(store, account, shipx, django_capture_on_commit_callbacks):
    order = ship_ready_order(store, locker_method(store))
    (shipment,), _ = ship([order], django_capture_on_commit_callbacks)
    created, refused = ship([order], django_capture_on_commit_callbacks)
    assert created == [] and "already has an active" in refused[0][1]
    with pytest.raises(IntegrityError), transaction.atomic():
        Shipment.objects.create(
            order=order, account=account, carrier="inpost", service="inpost_locker_standard"
        )
    services.cancel_shipment(shipment=shipment)
    assert shipx.shipments[int(shipment.carrier_shipment_id)].status == "canceled"
    order.refresh_from_db()
    assert order.tracking_number == ""
    created, refused = ship([order], django_capture_on_commit_callbacks)
    assert len(created) == 1 and refused == []


def test_two_workers_never_send_one_shipment_twice(store, account, shipx, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        (shipment,), _ = services.create_shipments(orders=[ship_ready_order(store, locker_method(store))])
    assert services.submit_shipment(shipment.pk) == "poll"
    assert services.submit_shipment(shipment.pk) == "skipped"  # the second delivery of the task
    assert len(shipx.calls("POST", "/shipments")) == 1


def test_orders_that_cannot_ship_are_refused_with_a_reason(
    store, account, shipx, django_capture_on_commit_callbacks
):
    method = locker_method(store)
    unpaid = ship_ready_order(store, method, status=Order.Status.AWAITING_PAYMENT)
    no_point = ship_ready_order(store, method, pickup_point="")
    plain = ship_ready_order(store, courier_method(store, carrier="", code="plain"))
    created, refused = ship([unpaid, no_point, plain], django_capture_on_commit_callbacks)
    assert created == []
    reasons = {order.pk: reason for order, reason in refused}
    assert "awaiting payment" in reasons[unpaid.pk]
    assert "parcel locker" in reasons[no_point.pk]
    assert "no carrier" in reasons[plain.pk]
    assert shipx.requests == []


def test_tracking_never_skips_the_workflow(store, account, shipx, django_capture_on_commit_callbacks):
    order = ship_ready_order(store, locker_method(store))
    (shipment,), _ = ship([order], django_capture_on_commit_callbacks)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)
    shipx.advance(shipment.tracking_number, "delivered")
    follow(django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert OrderNote.objects.filter(order=order, text__contains="check the parcel").count() == 1
    follow(django_capture_on_commit_callbacks)  # the note is not repeated
    assert OrderNote.objects.filter(order=order, text__contains="check the parcel").count() == 1


def test_confirmation_polling_gives_up_with_a_message(
    store, account, shipx, settings, django_capture_on_commit_callbacks
):
    settings.CARRIER_CONFIRM_MAX_POLLS = 3
    shipx.confirm_after = 50
    (shipment,), _ = ship([ship_ready_order(store, locker_method(store))], django_capture_on_commit_callbacks)
    assert shipment.status == S.ERROR and shipment.poll_attempts == 3
    assert "not confirmed" in shipment.error_message
    shipx.confirm_after = 1
    with django_capture_on_commit_callbacks(execute=True):
        services.retry_shipment(shipment=shipment)  # asks again, does not create again
    shipment.refresh_from_db()
    assert shipment.status == S.CONFIRMED and len(shipx.calls("POST", "/shipments")) == 1


def test_a_lost_enqueue_is_picked_up_by_the_periodic_job(
    store, account, shipx, settings, django_capture_on_commit_callbacks
):
    settings.CARRIER_STALE_SENDING_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=False):  # the broker never got the task
        (shipment,), _ = services.create_shipments(orders=[ship_ready_order(store, locker_method(store))])
    follow(django_capture_on_commit_callbacks)
    shipment.refresh_from_db()
    assert shipment.status in (S.SUBMITTED, S.CONFIRMED)


def test_hostile_answers_are_errors(store, account, shipx, django_capture_on_commit_callbacks):
    shipx.fail_with = FakeResponse(201, b"<html>not json</html>", {"Content-Type": "text/html"})
    (shipment,), _ = ship([ship_ready_order(store, locker_method(store))], django_capture_on_commit_callbacks)
    assert shipment.status == S.ERROR and "cannot read" in shipment.error_message
    shipx.fail_with = FakeResponse(
        201, json.dumps({"id": None}).encode(), {"Content-Type": "application/json"}
    )
    shipment.refresh_from_db()
    with pytest.raises(CarrierError):
        inpost.InPostShipX().create(account, services.build_request(shipment))


@pytest.mark.parametrize(
    ("street", "expected"),
    [
        ("ul. Długa 5/3", ("ul. Długa", "5/3")),
        ("Aleje Jerozolimskie 123A", ("Aleje Jerozolimskie", "123A")),
        ("ul. 3 Maja 12 / 4", ("ul. 3 Maja", "12/4")),
        ("Os. Piastów, 24", ("Os. Piastów", "24")),
    ],
)
def test_street_and_building_number_are_split(street, expected):
    assert split_street(street) == expected


@pytest.mark.parametrize("street", ["", "Rynek", "12", "x" * 300])
def test_streets_without_a_number_are_refused(street):
    with pytest.raises(CarrierError):
        split_street(street)


def test_tracking_faults_leave_the_status_and_say_why(
    store, account, shipx, django_capture_on_commit_callbacks
):
    order = ship_ready_order(store, locker_method(store))
    (shipment,), _ = ship([order], django_capture_on_commit_callbacks)
    shipx.fail_with = FakeResponse(404, b'{"status":404,"error":"resource_not_found"}')
    assert services.track_shipment(shipment.pk) == "error"
    shipment.refresh_from_db()
    assert shipment.status == S.CONFIRMED and "Tracking failed" in shipment.error_message
    assert shipment.last_tracked_at is not None
    shipx.fail_with = None
    shipx.advance(shipment.tracking_number, "returned_to_sender")
    services.track_shipment(shipment.pk)
    shipment.refresh_from_db()
    assert shipment.status == S.RETURNED and shipment.error_message == ""
    assert OrderNote.objects.filter(order=order, text__contains="going back").exists()
    assert services.track_shipment(shipment.pk) == "skipped"  # no longer followed


def test_refresh_action_queues_a_check(store, account, shipx, django_capture_on_commit_callbacks):
    (shipment,), _ = ship([ship_ready_order(store, locker_method(store))], django_capture_on_commit_callbacks)
    shipx.advance(shipment.tracking_number, "out_for_delivery")
    with django_capture_on_commit_callbacks(execute=True):
        services.queue_tracking(shipment.pk)
    shipment.refresh_from_db()
    assert shipment.status == S.IN_TRANSIT


def test_inpost_has_no_handover_list_here(store, account, shipx, django_capture_on_commit_callbacks):
    (shipment,), _ = ship([ship_ready_order(store, locker_method(store))], django_capture_on_commit_callbacks)
    with pytest.raises(services.ShipmentRefused, match="no handover list"):
        services.handover_document(shipments=[shipment])


def test_a_parcel_found_in_transit_by_reference_moves_the_order(
    store, account, shipx, settings, django_capture_on_commit_callbacks
):
    settings.CARRIER_HTTP_TIMEOUT_SECONDS = 0.3
    settings.CARRIER_SUBMIT_MAX_ATTEMPTS = 1
    shipx.next_create, shipx.create_delay = "timeout", 1.0
    order = ship_ready_order(store, locker_method(store))
    (shipment,), _ = ship([order], django_capture_on_commit_callbacks)
    assert shipment.status == S.ERROR  # gave up after one attempt; ShipX has the parcel anyway
    parcel = shipx.by_reference(shipment.reference)
    parcel.status, parcel.tracking_number = "taken_by_courier", "620000000000000000000099"
    with django_capture_on_commit_callbacks(execute=True):
        services.retry_shipment(shipment=shipment)
    shipment.refresh_from_db()
    order.refresh_from_db()
    assert shipment.status == S.IN_TRANSIT and len(shipx.shipments) == 1
    assert order.status == Order.Status.SHIPPED and order.tracking_number == "620000000000000000000099"

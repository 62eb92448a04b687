"""Allegro: orders imported from order events and checkout forms (cursor, duplicates, crash in the
middle of a page, cancellations, unknown SKUs, malformed forms, 429) and fulfilment sent back."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from catalog.models import StockItem
from integrations import services as framework
from integrations.channels import services as channel_services
from integrations.channels.allegro import orders as allegro_orders
from integrations.channels.models import ChannelListing, ChannelOrder
from integrations.models import SyncRun, SyncRunError
from orders.models import Order
from orders.services import change_status
from tests.fakes.allegro import FakeAllegro
from tests.fakes.http_server import FakeResponse

from .factories_allegro import allegro_config, fast_allegro, offerable_variant  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_allegro")]


@pytest.fixture
def fake_allegro():
    with FakeAllegro() as fake:
        yield fake


@pytest.fixture
def config(store, fake_allegro):
    return allegro_config(store, fake_allegro)


def import_orders(config) -> SyncRun:
    return framework.run_connector(config_id=config.pk, direction="orders", trigger="command")


def on_hand(variant) -> int:
    return sum(StockItem.objects.filter(variant=variant).values_list("quantity", flat=True))


def cursor(config) -> dict:
    config.refresh_from_db()
    return (config.state or {}).get(channel_services.CURSOR_KEY) or {}


def test_events_become_shop_orders(config, fake_allegro, store):
    boots = offerable_variant(store, sku="BUT-42", stock=5)
    socks = offerable_variant(store, sku="SKARP-1", stock=10, name="Skarpety")
    courier = fake_allegro.add_order(
        lines=[{"sku": "BUT-42", "quantity": 2, "price": "199.00"}, {"sku": "SKARP-1", "price": "15.50"}]
    )
    locker = fake_allegro.add_order(
        lines=[{"sku": "SKARP-1", "quantity": 3, "price": "15.50"}], pickup_point="WAW01M", invoice=True
    )
    run = import_orders(config)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.created == 2

    first = ChannelOrder.objects.get(config=config, external_id=courier["id"]).order
    assert first.channel == Order.Channel.MARKETPLACE
    assert first.external_reference == courier["id"]
    assert first.status == Order.Status.PAID and first.payment_status == Order.PaymentStatus.PAID
    assert first.total == Decimal("199.00") * 2 + Decimal("15.50") + Decimal("12.99")
    assert first.shipping_total == Decimal("12.99")
    assert first.shipping_address.city == "Kraków" and first.shipping_address.postal_code == "30-001"
    assert sorted((li.sku, li.quantity) for li in first.lines.all()) == [("BUT-42", 2), ("SKARP-1", 1)]
    assert "szybką wysyłkę" in first.customer_note
    assert first.email.endswith("@allegromail.pl")

    second = ChannelOrder.objects.get(config=config, external_id=locker["id"]).order
    assert second.pickup_point == "WAW01M"
    assert "Paczkomat WAW01M" in second.shipping_method_name
    assert second.wants_invoice is True
    assert second.billing_address.company_name == "Firma Sp. z o.o."
    assert second.billing_address.tax_id == "5260001246"

    assert on_hand(boots) == 3 and on_hand(socks) == 6
    assert cursor(config) == {"from": fake_allegro.events[-1]["id"]}
    events_call = fake_allegro.calls("GET", "/order/events")[0]
    assert "type=READY_FOR_PROCESSING" in events_call.query and "type=BUYER_CANCELLED" in events_call.query


def test_next_run_starts_from_the_cursor(config, fake_allegro, store):
    offerable_variant(store, sku="A-1", stock=5)
    fake_allegro.add_order(lines=[{"sku": "A-1"}])
    import_orders(config)
    last = fake_allegro.events[-1]["id"]
    fake_allegro.add_order(lines=[{"sku": "A-1"}])
    run = import_orders(config)
    assert run.created == 1
    assert f"from={last}" in fake_allegro.calls("GET", "/order/events")[-2].query


def test_the_same_order_twice_is_recognised(config, fake_allegro, store):
    variant = offerable_variant(store, sku="D-1", stock=5)
    form = fake_allegro.add_order(lines=[{"sku": "D-1", "quantity": 2}])
    fake_allegro.add_event(form["id"], "READY_FOR_PROCESSING")  # Allegro sends it again
    import_orders(config)
    # And a later run that reads it again from an older cursor.
    config.state = {**config.state, channel_services.CURSOR_KEY: {}}
    config.save(update_fields=["state"])
    import_orders(config)
    assert ChannelOrder.objects.filter(config=config).count() == 1
    assert Order.objects.filter(external_reference=form["id"]).count() == 1
    assert on_hand(variant) == 3


def test_a_crash_in_the_middle_of_a_page_resumes_without_duplicates(config, fake_allegro, store, monkeypatch):
    offerable_variant(store, sku="C-1", stock=10)
    first = fake_allegro.add_order(lines=[{"sku": "C-1"}])
    second = fake_allegro.add_order(lines=[{"sku": "C-1"}])
    real = channel_services.place_external_order
    calls = []

    def crash_on_second(**kwargs):
        calls.append(kwargs["external_reference"])
        if kwargs["external_reference"] == second["id"]:
            raise RuntimeError("worker killed")
        return real(**kwargs)

    monkeypatch.setattr(channel_services, "place_external_order", crash_on_second)
    run = import_orders(config)
    assert run.status == SyncRun.Status.FAILED
    assert cursor(config) == {}  # the page was not finished
    assert ChannelOrder.objects.get(external_id=first["id"]).order is not None

    monkeypatch.setattr(channel_services, "place_external_order", real)
    run = import_orders(config)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.created == 1 and run.unchanged == 1
    assert Order.objects.filter(external_reference__in=[first["id"], second["id"]]).count() == 2
    assert cursor(config) == {"from": fake_allegro.events[-1]["id"]}


@pytest.mark.parametrize("paid", [True, False], ids=["paid online", "cash on delivery"])
def test_cancellation_cancels_the_shop_order_and_releases_stock(config, fake_allegro, store, paid):
    variant = offerable_variant(store, sku="X-1", stock=4)
    form = fake_allegro.add_order(lines=[{"sku": "X-1", "quantity": 3}], cod=not paid, paid=paid)
    import_orders(config)
    assert on_hand(variant) == 1
    fake_allegro.cancel(form["id"], "BUYER_CANCELLED")
    run = import_orders(config)
    assert run.updated == 1
    order = Order.objects.get(external_reference=form["id"])
    assert order.status == Order.Status.CANCELLED
    assert on_hand(variant) == 4


def test_auto_cancelled_before_import_creates_nothing(config, fake_allegro, store):
    offerable_variant(store, sku="Y-1", stock=4)
    form = fake_allegro.add_order(
        lines=[{"sku": "Y-1"}], status="CANCELLED", event="AUTO_CANCELLED", paid=False
    )
    run = import_orders(config)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert not Order.objects.filter(external_reference=form["id"]).exists()
    assert run.skipped == 1


def test_unknown_sku_is_reported_per_order_and_retried_next_run(config, fake_allegro, store):
    offerable_variant(store, sku="ZNANY", stock=5)
    bad = fake_allegro.add_order(lines=[{"sku": "NIEZNANY", "name": "Kurtka"}])
    good = fake_allegro.add_order(lines=[{"sku": "ZNANY"}])
    run = import_orders(config)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.created == 1 and run.failed == 1
    row = ChannelOrder.objects.get(external_id=bad["id"])
    assert row.order is None and "NIEZNANY" in row.error
    assert SyncRunError.objects.filter(run=run, key=bad["id"], message__contains="NIEZNANY").exists()
    assert Order.objects.filter(external_reference=good["id"]).exists()

    offerable_variant(store, sku="NIEZNANY", stock=2)
    run = import_orders(config)
    assert run.created == 1
    row.refresh_from_db()
    assert row.order is not None and row.error == ""


def test_line_without_external_id_is_matched_by_the_listing_offer(config, fake_allegro, store):
    variant = offerable_variant(store, sku="RECZNA", stock=3)
    ChannelListing.objects.create(config=config, variant=variant, external_id="9988776655")
    form = fake_allegro.add_order(lines=[{"sku": None, "offer_id": "9988776655", "quantity": 1}])
    import_orders(config)
    order = Order.objects.get(external_reference=form["id"])
    assert order.lines.get().sku == "RECZNA"


def test_cash_on_delivery_is_unpaid(config, fake_allegro, store):
    offerable_variant(store, sku="COD-1", stock=3)
    form = fake_allegro.add_order(lines=[{"sku": "COD-1"}], cod=True, paid=False)
    import_orders(config)
    order = Order.objects.get(external_reference=form["id"])
    assert order.payment_status == Order.PaymentStatus.UNPAID
    assert order.payment_provider == "cod"


def test_malformed_checkout_form_is_kept_and_the_rest_go_on(config, fake_allegro, store):
    offerable_variant(store, sku="OK-1", stock=3)
    broken = fake_allegro.add_order(lines=[{"sku": "OK-1"}])
    broken["lineItems"] = "nonsense"
    fine = fake_allegro.add_order(lines=[{"sku": "OK-1"}])
    run = import_orders(config)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert Order.objects.filter(external_reference=fine["id"]).exists()
    row = ChannelOrder.objects.get(external_id=broken["id"])
    assert row.order is None and "no line items" in row.error
    assert SyncRunError.objects.filter(run=run, key=broken["id"]).exists()
    # Allegro fixes it: the retry fetches the form again and imports it.
    broken["lineItems"] = fake_allegro.forms[fine["id"]]["lineItems"]
    import_orders(config)
    row.refresh_from_db()
    assert row.order is not None


@pytest.mark.parametrize(
    "payload",
    [b"<html>502 Bad Gateway</html>", b'{"events": "x"}', b"", b'{"events": [' + b'{"id": "1"},' * 3],
)
def test_broken_event_answers_fail_the_run_clearly_and_keep_the_cursor(config, fake_allegro, payload):
    fake_allegro.fail_next("/order/events", FakeResponse(200, payload, {"Content-Type": "application/json"}))
    run = import_orders(config)
    assert run.status == SyncRun.Status.FAILED
    assert "event list" in run.error or "not valid JSON" in run.error
    assert cursor(config) == {}


def test_429_on_events_is_waited_out(config, fake_allegro, store):
    offerable_variant(store, sku="W-1", stock=3)
    fake_allegro.add_order(lines=[{"sku": "W-1"}])
    fake_allegro.fail_next("/order/events", FakeResponse(429, b"", {"Retry-After": "0"}))
    run = import_orders(config)
    assert run.status == SyncRun.Status.SUCCEEDED and run.created == 1


def test_import_can_be_switched_off(store, fake_allegro):
    config = allegro_config(store, fake_allegro, import_orders=False)
    run = import_orders(config)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert fake_allegro.calls("GET", "/order/events") == []


def test_parse_rejects_hostile_forms():
    for raw in ({}, {"id": "x"}, {"id": "x", "lineItems": [{"quantity": "many", "price": {"amount": "1"}}]}):
        with pytest.raises(ValueError):
            allegro_orders.parse_checkout_form(raw)
    with pytest.raises(ValueError, match="not an amount"):
        allegro_orders.parse_checkout_form(
            {"id": "x", "lineItems": [{"quantity": 1, "price": {"amount": "-5"}, "offer": {"id": "1"}}]}
        )
    long = allegro_orders.parse_checkout_form(
        {
            "id": "y" * 500,
            "status": "READY_FOR_PROCESSING",
            "buyer": {"email": "e" * 1000, "firstName": "J" * 500},
            "lineItems": [
                {
                    "quantity": 1,
                    "price": {"amount": "1.00"},
                    "offer": {"id": "1", "external": {"id": "S" * 300}},
                }
            ],
        }
    )
    assert len(long.external_id) <= 100 and len(long.lines[0].sku) <= 64


# --- fulfilment back -----------------------------------------------------------------------------


def test_fulfilment_status_is_sent_once_per_change(config, fake_allegro, store):
    offerable_variant(store, sku="F-1", stock=3)
    form = fake_allegro.add_order(lines=[{"sku": "F-1"}])
    import_orders(config)
    channel_order = ChannelOrder.objects.select_related("config").get(external_id=form["id"])
    order = channel_order.order
    assert channel_order.fulfilment_status_sent == "PROCESSING"  # Allegro knows it is paid

    change_status(order=order, status=Order.Status.PACKED)
    assert (
        channel_services.send_fulfilment(channel_order=channel_order, shop_status="packed")
        == "READY_FOR_SHIPMENT"
    )
    assert channel_services.send_fulfilment(channel_order=channel_order, shop_status="packed") is None
    change_status(order=order, status=Order.Status.SHIPPED)
    assert channel_services.send_fulfilment(channel_order=channel_order, shop_status="shipped") == "SENT"
    assert fake_allegro.fulfilment == [(form["id"], "READY_FOR_SHIPMENT"), (form["id"], "SENT")]
    put = fake_allegro.calls("PUT", "/fulfillment")[0]
    assert json.loads(put.body) == {"status": "READY_FOR_SHIPMENT"}
    assert put.headers["content-type"] == "application/vnd.allegro.public.v1+json"


def test_fulfilment_refused_raises_so_the_outbox_retries(config, fake_allegro, store):
    offerable_variant(store, sku="F-2", stock=3)
    form = fake_allegro.add_order(lines=[{"sku": "F-2"}])
    import_orders(config)
    channel_order = ChannelOrder.objects.select_related("config").get(external_id=form["id"])
    fake_allegro.fail_next("/fulfillment", FakeResponse(500, b"oops"), FakeResponse(500), FakeResponse(500))
    with pytest.raises(Exception, match="500"):
        channel_services.send_fulfilment(channel_order=channel_order, shop_status="packed")
    channel_order.refresh_from_db()
    assert channel_order.fulfilment_status_sent == "PROCESSING"
    assert (
        channel_services.send_fulfilment(channel_order=channel_order, shop_status="packed")
        == "READY_FOR_SHIPMENT"
    )


def test_own_status_map_and_its_validation(store, fake_allegro):
    config = allegro_config(store, fake_allegro, status_map={"shipped": "SENT"})
    from integrations.services import connector_for

    connector = connector_for(config)
    assert connector.fulfilment_status_for("shipped") == "SENT"
    assert connector.fulfilment_status_for("packed") is None
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="Not Allegro fulfilment statuses"):
        allegro_config(store, fake_allegro, name="zly", status_map={"shipped": "WYSLANE"})


def test_parcel_number_goes_with_sent_once(config, fake_allegro, store):
    offerable_variant(store, sku="T-1", stock=3)
    form = fake_allegro.add_order(lines=[{"sku": "T-1"}])
    import_orders(config)
    channel_order = ChannelOrder.objects.select_related("config").get(external_id=form["id"])
    order = channel_order.order
    change_status(order=order, status=Order.Status.PACKED)
    Order.objects.filter(pk=order.pk).update(tracking_number="0000123456789")
    change_status(order=order, status=Order.Status.SHIPPED)
    # The first attempt adds the parcel, then the status fails: the retry must not add it again.
    fake_allegro.fail_next("/fulfillment", FakeResponse(500), FakeResponse(500), FakeResponse(500))
    with pytest.raises(Exception, match="500"):
        channel_services.send_fulfilment(channel_order=channel_order, shop_status="shipped")
    assert channel_services.send_fulfilment(channel_order=channel_order, shop_status="shipped") == "SENT"
    shipments = fake_allegro.shipments[form["id"]]
    assert len(shipments) == 1
    assert shipments[0]["carrierId"] == "DPD" and shipments[0]["waybill"] == "0000123456789"
    assert shipments[0]["lineItems"] == [{"id": item["id"]} for item in form["lineItems"]]
    assert fake_allegro.fulfilment[-1] == (form["id"], "SENT")


def test_carrier_is_read_from_the_shipping_method():
    assert allegro_orders.carrier_for("Allegro Paczkomaty InPost (Paczkomat WAW01M)") == "INPOST"
    assert allegro_orders.carrier_for("Pocztex Kurier 48") == "POCZTA_POLSKA"
    assert allegro_orders.carrier_for("Kurier własny") == "OTHER"


def test_a_cursor_allegro_no_longer_knows_restarts_from_the_oldest_event(config, fake_allegro, store):
    offerable_variant(store, sku="E-1", stock=5)
    form = fake_allegro.add_order(lines=[{"sku": "E-1"}])
    config.state = {**config.state, channel_services.CURSOR_KEY: {"from": "999999"}}
    config.save(update_fields=["state"])
    run = import_orders(config)
    assert run.status == SyncRun.Status.SUCCEEDED and run.created == 1
    assert Order.objects.filter(external_reference=form["id"]).exists()
    assert cursor(config) == {"from": fake_allegro.events[-1]["id"]}

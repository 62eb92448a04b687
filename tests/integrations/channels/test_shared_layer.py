"""The shared channel layer: external orders, idempotent import, debounced batched pushes and
fulfilment back, through an in-memory channel (the HTTP connectors have their own tests)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog import stock
from catalog.models import StockItem, StockMovement
from integrations import services as framework
from integrations.channels import services
from integrations.channels.models import ChannelListing, ChannelOrder
from integrations.models import SyncRun, SyncRunError
from orders.models import Order, OrderEmail, Payment
from orders.services import change_status
from orders.services.external import ExternalOrderError, place_external_order
from shop.models import Event
from tests.catalog.factories import VariantFactory, give_stock, make_set

from .factories import (
    ChannelListingFactory,
    MemoryChannel,
    address,
    channel_config,
    external_order,
    line,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _memory():
    MemoryChannel.reset()
    yield
    MemoryChannel.reset()


@pytest.fixture
def config(store):
    return channel_config(
        store,
        "memory_channel",
        list_all_variants=False,
        status_map={"shipped": "SENT", "cancelled": "CANCELLED"},
    )


def on_hand(variant) -> int:
    return sum(StockItem.objects.filter(variant=variant).values_list("quantity", flat=True))


def run(config, direction):
    return framework.run_connector(config_id=config.pk, direction=direction, trigger="command")


# --- place_external_order ------------------------------------------------------------------------


def test_external_order_lands_as_a_normal_paid_order(store):
    a = VariantFactory(store=store, sku="KUB-1", stock=5, price=Decimal("25.00"))
    b = VariantFactory(store=store, sku="TAL-2", ean="5901234123457", stock=3)
    order = place_external_order(
        store=store,
        source="memory",
        external_reference="A-1",
        email="kupujacy@example.com",
        phone="+48600100200",
        paid=True,
        lines=[line("KUB-1", 2, "19.99"), line("", 1, "5.00", ean="5901234123457")],
        shipping_address=address(),
        shipping_cost=Decimal("12.00"),
        shipping_method_name="InPost Paczkomat",
        pickup_point="WAW01M",
        payment_reference="PAY-9",
    )
    assert order.channel == Order.Channel.MARKETPLACE
    assert order.external_reference == "A-1"
    assert order.number.startswith("KS-") or not order.number.startswith("~")
    assert order.status == Order.Status.PAID and order.payment_status == Order.PaymentStatus.PAID
    assert order.subtotal == Decimal("44.98") and order.shipping_total == Decimal("12.00")
    assert order.total == Decimal("56.98")
    assert [(x.sku, x.quantity, x.unit_price) for x in order.lines.order_by("position")] == [
        ("KUB-1", 2, Decimal("19.99")),
        ("TAL-2", 1, Decimal("5.00")),
    ]
    assert order.pickup_point == "WAW01M" and order.shipping_address.city == "Warszawa"
    payment = Payment.objects.get(order=order)
    assert payment.status == Payment.Status.PAID and payment.gateway_reference == "PAY-9"
    assert payment.amount == order.total
    # Stock taken like a storefront sale, under the order's reference.
    assert on_hand(a) == 3 and on_hand(b) == 2
    assert set(StockMovement.objects.values_list("reference", flat=True)) == {order.reservation_reference}
    assert order.stock_committed
    types = list(Event.objects.values_list("type", flat=True))
    assert "order.created" in types and "order.paid" in types and "stock.changed" in types
    # The marketplace mails its buyers: nothing is left to send.
    assert not OrderEmail.objects.filter(order=order, sent_at__isnull=True).exists()


def test_an_external_orders_phones_are_stored_in_the_shops_one_form(store):
    """Any channel's phone is read like the storefront's (shop.phones): E.164 when it is a number,
    in the address's country; text that is no number is kept, trimmed, never refused."""
    VariantFactory(store=store, sku="KUB-1", stock=5)
    order = place_external_order(
        store=store,
        source="memory",
        external_reference="PH-1",
        email="kupujacy@example.com",
        phone=" +48 600-100-200 ",
        paid=True,
        lines=[line("KUB-1", 1, "19.99")],
        shipping_address=address(phone="030 901820", country="DE"),
        shipping_cost=Decimal("0"),
        shipping_method_name="Kurier",
    )
    assert order.phone == "+48600100200"
    assert order.shipping_address.phone == "+4930901820"
    odd = place_external_order(
        store=store,
        source="memory",
        external_reference="PH-2",
        email="kupujacy@example.com",
        phone="zadzwoń po 18",
        paid=True,
        lines=[line("KUB-1", 1, "19.99")],
        shipping_address=address(),
        shipping_cost=Decimal("0"),
        shipping_method_name="Kurier",
    )
    assert odd.phone == "zadzwoń po 18"


def test_shop_emails_when_the_connector_wants_them(store):
    VariantFactory(store=store, sku="KUB-1", stock=5)
    order = place_external_order(
        store=store,
        source="memory",
        external_reference="A-2",
        email="kupujacy@example.com",
        paid=False,
        lines=[line("KUB-1")],
        send_emails=True,
    )
    kinds = set(OrderEmail.objects.filter(order=order).values_list("kind", flat=True))
    assert kinds == {OrderEmail.Kind.PLACED}
    assert order.status == Order.Status.NEW and order.payment_status == Order.PaymentStatus.UNPAID
    assert Payment.objects.get(order=order).status == Payment.Status.PENDING


def test_same_reference_twice_gives_the_first_order(store):
    v = VariantFactory(store=store, sku="KUB-1", stock=5)
    first = place_external_order(
        store=store, source="m", external_reference="X", paid=True, lines=[line("KUB-1")]
    )
    again = place_external_order(
        store=store, source="m", external_reference="X", paid=True, lines=[line("KUB-1")]
    )
    assert first.pk == again.pk and Order.objects.count() == 1 and on_hand(v) == 4


def test_unknown_variant_leaves_nothing_behind(store):
    v = VariantFactory(store=store, sku="KUB-1", stock=5)
    with pytest.raises(ExternalOrderError) as exc:
        place_external_order(
            store=store, source="m", external_reference="X", paid=True, lines=[line("KUB-1"), line("NOPE-9")]
        )
    assert exc.value.code == "unknown_variant" and "NOPE-9" in exc.value.message
    assert Order.objects.count() == 0 and on_hand(v) == 5 and not StockMovement.objects.exists()


def test_not_enough_stock_leaves_nothing_behind(store):
    v = VariantFactory(store=store, sku="KUB-1", stock=1)
    with pytest.raises(ExternalOrderError) as exc:
        place_external_order(
            store=store, source="m", external_reference="X", paid=True, lines=[line("KUB-1", 2)]
        )
    assert exc.value.code == "out_of_stock" and "KUB-1" in exc.value.message
    assert Order.objects.count() == 0 and on_hand(v) == 1


@pytest.mark.parametrize(
    "lines, kwargs, fragment",
    [
        ([], {}, "no items"),
        ([line("KUB-1", 0)], {}, "quantity"),
        ([line("KUB-1", -3)], {}, "quantity"),
        ([line("KUB-1", 10**9)], {}, "quantity"),
        ([line("KUB-1", 1, "-1.00")], {}, "out of range"),
        ([line("KUB-1", 1, "NaN")], {}, "out of range"),
        ([line("KUB-1", 1, "1e30")], {}, "out of range"),
        ([line("KUB-1")], {"shipping_cost": "abc"}, "not a number"),
        ([line("KUB-1")], {"currency": "EUR"}, "EUR"),
        ([line("KUB-1")] * 501, {}, "at most"),
        ([line("")], {}, "neither a SKU nor an EAN"),
    ],
)
def test_malformed_orders_are_refused_with_a_reason(store, lines, kwargs, fragment):
    VariantFactory(store=store, sku="KUB-1", stock=5)
    with pytest.raises(ExternalOrderError) as exc:
        place_external_order(
            store=store, source="m", external_reference="X", paid=True, lines=lines, **kwargs
        )
    assert fragment in exc.value.message
    assert Order.objects.count() == 0


def test_hostile_text_is_cut_and_a_bad_email_kept_as_a_note(store):
    VariantFactory(store=store, sku="KUB-1", stock=5)
    order = place_external_order(
        store=store,
        source="m",
        external_reference="R" * 300,
        email="not an email <script>",
        paid=True,
        lines=[line("KUB-1")],
        shipping_address=address(first_name="<b>" * 100, city="x" * 500, country="pol"),
        pickup_point="P" * 100,
        customer_note="n" * 10_000,
    )
    order.refresh_from_db()
    assert order.email == "" and "not an email" in order.customer_note
    assert len(order.external_reference) == 100 and len(order.pickup_point) == 32
    assert order.shipping_address.country == "PO" and len(order.shipping_address.city) == 100


# --- import_channel_order ------------------------------------------------------------------------


def test_an_order_imported_twice_is_recognised(store, config):
    v = VariantFactory(store=store, sku="KUB-1", stock=5)
    connector = framework.connector_for(config)
    incoming = external_order("A-1", [line("KUB-1", 2)], paid=True)
    co, outcome = services.import_channel_order(
        config=config, external_id="A-1", order=incoming, connector=connector
    )
    assert outcome == services.CREATED and co.order.channel == Order.Channel.MARKETPLACE
    co2, outcome2 = services.import_channel_order(
        config=config, external_id="A-1", order=incoming, connector=connector
    )
    assert outcome2 == services.UNCHANGED and co2.pk == co.pk
    assert Order.objects.count() == 1 and ChannelOrder.objects.count() == 1 and on_hand(v) == 3


def test_partner_payment_and_cancellation_reach_the_shop_order(
    store, config, django_capture_on_commit_callbacks
):
    v = VariantFactory(store=store, sku="KUB-1", stock=5)
    connector = framework.connector_for(config)
    co, _ = services.import_channel_order(
        config=config, external_id="A-1", order=external_order("A-1", [line("KUB-1", 2)]), connector=connector
    )
    assert co.order.status == Order.Status.NEW and on_hand(v) == 3
    _, outcome = services.import_channel_order(
        config=config,
        external_id="A-1",
        order=external_order("A-1", [line("KUB-1", 2)], paid=True),
        connector=connector,
    )
    co.order.refresh_from_db()
    assert outcome == services.UPDATED and co.order.status == Order.Status.PAID
    with django_capture_on_commit_callbacks(execute=True):
        services.import_channel_order(
            config=config,
            external_id="A-1",
            order=external_order("A-1", [line("KUB-1", 2)], paid=True, cancelled=True, status="cancelled"),
            connector=connector,
        )
    co.refresh_from_db()
    co.order.refresh_from_db()
    assert co.order.status == Order.Status.CANCELLED and on_hand(v) == 5
    assert co.external_status == "cancelled"
    # The partner cancelled it: its own cancellation is not echoed back to it.
    assert MemoryChannel.fulfilments == []


def test_cancelled_before_import_creates_nothing(store, config):
    VariantFactory(store=store, sku="KUB-1", stock=5)
    co, outcome = services.import_channel_order(
        config=config,
        external_id="C-1",
        order=external_order("C-1", [line("KUB-1")], cancelled=True),
        connector=framework.connector_for(config),
    )
    assert outcome == services.SKIPPED and co.order is None and Order.objects.count() == 0


def test_failed_order_is_logged_and_retried_on_the_next_run(store, config):
    v = VariantFactory(store=store, sku="KUB-1", stock=0)
    MemoryChannel.pages = [[external_order("A-1", [line("KUB-1", 2)], paid=True)]]
    first = run(config, "orders")
    assert first.status == SyncRun.Status.SUCCEEDED and first.failed == 1
    assert "Not enough stock" in SyncRunError.objects.get(run=first).message
    co = ChannelOrder.objects.get()
    assert co.order is None and co.attempts == 1 and "KUB-1" in co.error
    config.refresh_from_db()
    assert config.state["orders_cursor"] == {"page": 1}
    give_stock(v, 4)
    second = run(config, "orders")
    co.refresh_from_db()
    assert second.created == 1 and co.order is not None and co.error == ""
    assert on_hand(v) == 2


def test_orders_are_paged_from_the_stored_cursor(store, config):
    VariantFactory(store=store, sku="KUB-1", stock=50)
    MemoryChannel.pages = [
        [external_order(f"A-{i}", [line("KUB-1")], paid=True) for i in range(3)],
        [external_order(f"B-{i}", [line("KUB-1")], paid=True) for i in range(2)],
    ]
    first = run(config, "orders")
    assert first.created == 5 and Order.objects.count() == 5
    MemoryChannel.pages.append([external_order("A-0", [line("KUB-1")], paid=True)])
    second = run(config, "orders")
    assert second.unchanged == 1 and Order.objects.count() == 5


def test_unreadable_stored_order_is_reported(store, config):
    ChannelOrder.objects.create(config=config, external_id="BAD", payload={"raw": {"id": "BAD"}}, error="x")
    result = run(config, "orders")
    assert result.failed == 1
    assert "cannot be read" in SyncRunError.objects.get(run=result).message


# --- fulfilment ----------------------------------------------------------------------------------


def test_shop_status_goes_back_to_the_partner_once(store, config, django_capture_on_commit_callbacks):
    VariantFactory(store=store, sku="KUB-1", stock=5)
    connector = framework.connector_for(config)
    co, _ = services.import_channel_order(
        config=config,
        external_id="A-1",
        order=external_order("A-1", [line("KUB-1")], paid=True),
        connector=connector,
    )
    order = co.order
    with django_capture_on_commit_callbacks(execute=True):
        change_status(order=order, status=Order.Status.PACKED)
    assert MemoryChannel.fulfilments == []  # not mapped
    with django_capture_on_commit_callbacks(execute=True):
        change_status(order=order, status=Order.Status.SHIPPED)
    assert MemoryChannel.fulfilments == [("A-1", "SENT")]
    co.refresh_from_db()
    assert co.fulfilment_status_sent == "SENT"
    assert not OrderEmail.objects.filter(order=order, sent_at__isnull=True).exists()


def test_failed_fulfilment_is_retried_by_the_outbox(store, config, django_capture_on_commit_callbacks):
    from shop.models import EventDelivery

    VariantFactory(store=store, sku="KUB-1", stock=5)
    co, _ = services.import_channel_order(
        config=config,
        external_id="A-1",
        order=external_order("A-1", [line("KUB-1")], paid=True),
        connector=framework.connector_for(config),
    )
    MemoryChannel.fail_fulfilment = True
    change_status(order=co.order, status=Order.Status.PACKED)
    change_status(order=co.order, status=Order.Status.SHIPPED)
    from shop import events

    event = Event.objects.filter(type="order.status_changed", payload__to="shipped").get()
    assert events.deliver(event.pk) is False
    delivery = EventDelivery.objects.get(event=event, handler=services.FULFILMENT_HANDLER)
    assert "partner down" in delivery.last_error
    MemoryChannel.fail_fulfilment = False
    assert events.deliver(event.pk) is True
    assert MemoryChannel.fulfilments == [("A-1", "SENT")]


# --- pushing -------------------------------------------------------------------------------------


def test_stock_change_marks_listings_due_and_the_push_sends_them_in_batches(store, config):
    variants = [VariantFactory(store=store, sku=f"S-{i}", stock=10, price=Decimal("9.99")) for i in range(7)]
    listings = [ChannelListingFactory(config=config, variant=v, push_due=False) for v in variants]
    services.mark_variants_due(variant_ids=[v.pk for v in variants])
    assert ChannelListing.objects.filter(push_due=True).count() == 7
    result = run(config, "push")
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    assert [len(b) for b in MemoryChannel.pushed] == [3, 3, 1]
    assert result.updated == 7 and result.summary["calls"] == 3
    for listing in listings:
        listing.refresh_from_db()
        assert not listing.push_due and listing.status == ChannelListing.Status.ACTIVE
        assert listing.last_pushed_price == Decimal("9.99") and listing.last_pushed_quantity is not None
    # Nothing changed: marked due again, nothing is sent.
    MemoryChannel.pushed.clear()
    services.mark_variants_due(variant_ids=[v.pk for v in variants])
    again = run(config, "push")
    assert MemoryChannel.pushed == [] and again.unchanged == 7


def test_sale_in_the_shop_is_pushed_through_the_outbox(store, config, django_capture_on_commit_callbacks):
    v = VariantFactory(store=store, sku="KUB-1", stock=5)
    listing = ChannelListingFactory(config=config, variant=v, push_due=False, last_pushed_quantity=5)
    listing.last_pushed_price = v.price
    listing.save()
    with django_capture_on_commit_callbacks(execute=True):
        stock.sell_now(lines=[(v, 2)], reference="test", store=store)
    listing.refresh_from_db()
    assert listing.push_due
    run(config, "push")
    assert [(u.sku, u.quantity, u.quantity_changed, u.price_changed) for u in MemoryChannel.pushed[0]] == [
        ("KUB-1", 3, True, False)
    ]


def test_price_change_is_found_at_push_time(store, config):
    v = VariantFactory(store=store, sku="KUB-1", stock=5, price=Decimal("10.00"))
    ChannelListingFactory(
        config=config, variant=v, push_due=False, last_pushed_quantity=5, last_pushed_price=Decimal("10.00")
    )
    type(v).objects.filter(pk=v.pk).update(price=Decimal("12.50"))
    run(config, "push")
    assert [(u.price, u.price_changed, u.quantity_changed) for u in MemoryChannel.pushed[0]] == [
        (Decimal("12.50"), True, False)
    ]


def test_set_listing_follows_its_components(store, config):
    a = VariantFactory(store=store, sku="A", stock=5)
    b = VariantFactory(store=store, sku="B", stock=5)
    bundle = make_set(store=store, components=[(a, 1), (b, 2)])
    listing = ChannelListingFactory(config=config, variant=bundle, push_due=False)
    services.mark_variants_due(variant_ids=[b.pk])
    listing.refresh_from_db()
    assert listing.push_due


def test_partial_batch_failure_keeps_only_the_failed_items_due(store, config):
    variants = [VariantFactory(store=store, sku=f"S-{i}", stock=2) for i in range(3)]
    for v in variants:
        ChannelListingFactory(config=config, variant=v)
    MemoryChannel.fail_skus = {"S-1"}
    result = run(config, "push")
    assert result.status == SyncRun.Status.SUCCEEDED and result.updated == 2 and result.failed == 1
    failed = ChannelListing.objects.get(variant__sku="S-1")
    assert failed.push_due and failed.error == "refused" and failed.status == ChannelListing.Status.ERROR
    assert failed.last_pushed_quantity is None
    assert SyncRunError.objects.get(run=result).key == "S-1"
    assert ChannelListing.objects.filter(push_due=False).count() == 2
    MemoryChannel.fail_skus = set()
    MemoryChannel.pushed.clear()
    run(config, "push")
    assert [u.sku for u in MemoryChannel.pushed[0]] == ["S-1"]


def test_a_failed_call_leaves_the_batch_due_and_fails_the_run(store, config):
    from integrations.connector_client import IntegrationHTTPError

    v = VariantFactory(store=store, sku="S-1", stock=2)
    ChannelListingFactory(config=config, variant=v)
    MemoryChannel.raise_on_push = IntegrationHTTPError("HTTP 503")
    result = run(config, "push")
    assert result.status == SyncRun.Status.FAILED and "503" in result.error
    listing = ChannelListing.objects.get()
    assert listing.push_due and listing.pushing_since is None and "503" in listing.error


def test_change_during_a_push_stays_due(store, config, monkeypatch):
    v = VariantFactory(store=store, sku="S-1", stock=2)
    ChannelListingFactory(config=config, variant=v)
    original = MemoryChannel.push_stock_prices

    def push_and_sell(self, batch):
        services.mark_variants_due(variant_ids=[v.pk])  # a sale arrives while the call is out
        return original(self, batch)

    monkeypatch.setattr(MemoryChannel, "push_stock_prices", push_and_sell)
    run(config, "push")
    listing = ChannelListing.objects.get()
    assert listing.push_due and listing.last_pushed_quantity == 2


def test_a_push_interrupted_by_a_crash_is_redone(store, config):
    from django.utils import timezone

    v = VariantFactory(store=store, sku="S-1", stock=2)
    ChannelListingFactory(config=config, variant=v, push_due=False, pushing_since=timezone.now())
    run(config, "push")
    assert [u.sku for u in MemoryChannel.pushed[0]] == ["S-1"]
    assert ChannelListing.objects.get().pushing_since is None


def test_every_active_variant_gets_a_listing_when_asked(store):
    config = channel_config(store, "memory_channel", list_all_variants=True)
    VariantFactory(store=store, sku="A", stock=1)
    VariantFactory(store=store, sku="B", stock=0)
    VariantFactory(store=store, sku="OFF", stock=1, is_active=False)
    run(config, "push")
    assert set(ChannelListing.objects.values_list("variant__sku", "last_pushed_quantity")) == {
        ("A", 1),
        ("B", 0),
    }


def test_schedules_follow_the_connector_intervals(store):
    from django_celery_beat.models import PeriodicTask

    config = channel_config(store, "memory_channel", push_every_seconds=60, orders_every_seconds=0)
    push = PeriodicTask.objects.get(name=f"integrations:{config.pk}:push")
    orders = PeriodicTask.objects.get(name=f"integrations:{config.pk}:orders")
    assert push.interval.every == 60 and push.interval.period == "seconds" and push.enabled
    assert not orders.enabled


def test_status_map_is_validated(store):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        channel_config(store, "memory_channel", status_map={"teleported": "X"})
    assert "teleported" in str(exc.value)
    with pytest.raises(ValidationError):
        channel_config(store, "memory_channel", status_map="[1, 2")

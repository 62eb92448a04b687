"""BaseLinker against its fake: listings matched or created, batched stock/price pushes with
per-product warnings, getOrders paging with a stored cursor, journal updates, setOrderStatus,
and every fault (bad token, limit, 429, 5xx, timeouts, malformed answers)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.models import StockItem
from integrations import services as framework
from integrations.channels.models import ChannelListing, ChannelOrder
from integrations.models import SyncRun, SyncRunError
from orders.models import Order
from orders.services import change_status
from tests.catalog.factories import ProductFactory, VariantFactory
from tests.fakes.baselinker import FakeBaseLinker
from tests.fakes.http_server import FakeResponse

from .factories import ChannelListingFactory, channel_config

pytestmark = pytest.mark.django_db


@pytest.fixture
def bl(fast_http, settings):
    settings.CHANNELS_BASELINKER_LIMIT_WAIT_SECONDS = 0.01
    with FakeBaseLinker(token="bl-token") as fake:
        yield fake


def bl_config(store, bl, **options):
    values = {
        "api_url": bl.url,
        "inventory_id": bl.inventory_id,
        "warehouse": bl.warehouse,
        "price_group_id": bl.price_group,
        "list_all_variants": False,
        "use_journal": True,
        **options,
    }
    return channel_config(
        store, "baselinker", secrets={"api_token": options.pop("token", "bl-token")}, **values
    )


def run(config, direction):
    return framework.run_connector(config_id=config.pk, direction=direction, trigger="command")


def on_hand(variant) -> int:
    return sum(StockItem.objects.filter(variant=variant).values_list("quantity", flat=True))


# --- configuration ------------------------------------------------------------------------------


def test_connection_test_checks_inventory_warehouse_and_price_group(store, bl):
    config = bl_config(store, bl)
    assert "Magazyn sklepu" in framework.connector_for(config).test_connection()
    other = bl_config(store, bl, name="wrong", inventory_id=999)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="999"):
        framework.connector_for(other).test_connection()


def test_connection_test_with_a_bad_token(store, bl):
    from integrations.channels.baselinker import BaseLinkerError

    config = bl_config(store, bl, token="wrong")
    with pytest.raises(BaseLinkerError, match="token"):
        framework.connector_for(config).test_connection()


@pytest.mark.parametrize(
    "options, field",
    [
        ({"warehouse": "123"}, "warehouse"),
        ({"warehouse": "bl_1; DROP"}, "warehouse"),
        ({"cancelled_status_ids": '[1, "x"]'}, "cancelled_status_ids"),
        ({"status_map": {"shipped": "sent"}}, "status_map"),
        ({"batch_size": 5000}, "batch_size"),
        ({"inventory_id": "abc"}, "inventory_id"),
    ],
)
def test_bad_settings_are_refused_per_field(store, bl, options, field):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        bl_config(store, bl, **options)
    assert field in exc.value.message_dict


# --- listings and pushes ------------------------------------------------------------------------


def test_listings_are_matched_by_sku_or_created_then_pushed(store, bl):
    existing = bl.add_product(sku="KUB-1")
    VariantFactory(store=store, sku="KUB-1", stock=4, price=Decimal("19.99"))
    shirt = ProductFactory(store=store, name="Koszulka")
    VariantFactory(product=shirt, sku="TS-S", stock=2, price=Decimal("49.00"))
    VariantFactory(product=shirt, sku="TS-M", stock=0, price=Decimal("49.00"))
    config = bl_config(store, bl, list_all_variants=True)
    result = run(config, "push")
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    listings = {x.variant.sku: x for x in ChannelListing.objects.select_related("variant")}
    assert listings["KUB-1"].external_id == existing
    # The shirt got a parent product and one BaseLinker variant per shop variant.
    adds = bl.methods("addInventoryProduct")
    assert len(adds) == 3 and adds[0]["text_fields"]["name"] == "Koszulka"
    parent = str(bl.products[listings["TS-S"].external_id]["parent_id"])
    assert parent and parent == str(bl.products[listings["TS-M"].external_id]["parent_id"])
    assert bl.products[existing]["stock"] == {"bl_206": 4}
    assert bl.products[existing]["prices"] == {"105": 19.99}
    assert bl.products[listings["TS-M"].external_id]["stock"] == {"bl_206": 0}
    assert len(bl.methods("updateInventoryProductsStock")) == 1
    assert all(not x.push_due and x.status == ChannelListing.Status.ACTIVE for x in listings.values())


def test_missing_products_are_reported_when_creation_is_off(store, bl):
    v = VariantFactory(store=store, sku="NEW-1", stock=1)
    config = bl_config(store, bl, create_products=False)
    ChannelListing.objects.create(config=config, variant=v)
    result = run(config, "push")
    listing = ChannelListing.objects.get()
    assert "NEW-1" in listing.error and listing.push_due and listing.external_id == ""
    assert SyncRunError.objects.filter(run=result, key="NEW-1").exists()
    assert not bl.methods("updateInventoryProductsStock")


def test_stock_is_pushed_in_batches_of_the_configured_size(store, bl):
    config = bl_config(store, bl, batch_size=2)
    for i in range(5):
        v = VariantFactory(store=store, sku=f"S-{i}", stock=i)
        ChannelListingFactory(config=config, variant=v, external_id=bl.add_product(sku=f"S-{i}"))
    result = run(config, "push")
    calls = bl.methods("updateInventoryProductsStock")
    assert [len(c["products"]) for c in calls] == [2, 2, 1]
    assert result.updated == 5 and result.summary["calls"] == 3


def test_per_product_warnings_fail_only_those_items(store, bl):
    config = bl_config(store, bl)
    ids = []
    for i in range(3):
        v = VariantFactory(store=store, sku=f"S-{i}", stock=3)
        pid = bl.add_product(sku=f"S-{i}")
        ids.append(pid)
        ChannelListingFactory(config=config, variant=v, external_id=pid)
    bl.warn_ids = {ids[1]}
    result = run(config, "push")
    assert result.status == SyncRun.Status.SUCCEEDED and result.updated == 2 and result.failed == 1
    failed = ChannelListing.objects.get(external_id=ids[1])
    assert failed.push_due and "locked" in failed.error
    assert SyncRunError.objects.get(run=result).key == "S-1"
    assert bl.products[ids[0]]["stock"] == {"bl_206": 3}
    bl.warn_ids = set()
    run(config, "push")
    assert bl.products[ids[1]]["stock"] == {"bl_206": 3}
    assert not ChannelListing.objects.filter(push_due=True).exists()


def test_unchanged_values_are_never_pushed_twice(store, bl):
    config = bl_config(store, bl)
    v = VariantFactory(store=store, sku="S-1", stock=3)
    ChannelListingFactory(config=config, variant=v, external_id=bl.add_product(sku="S-1"))
    run(config, "push")
    ChannelListing.objects.update(push_due=True)
    second = run(config, "push")
    assert second.unchanged == 1
    assert len(bl.methods("updateInventoryProductsStock")) == 1
    assert len(bl.methods("updateInventoryProductsPrices")) == 1


def test_invalid_token_fails_the_run_and_keeps_everything_due(store, bl):
    config = bl_config(store, bl, token="wrong")
    v = VariantFactory(store=store, sku="S-1", stock=3)
    ChannelListingFactory(config=config, variant=v, external_id=bl.add_product(sku="S-1"))
    result = run(config, "push")
    assert result.status == SyncRun.Status.FAILED and "token" in result.error
    listing = ChannelListing.objects.get()
    assert listing.push_due and listing.last_pushed_quantity is None


def test_limit_answer_waits_and_tries_again(store, bl):
    config = bl_config(store, bl)
    v = VariantFactory(store=store, sku="S-1", stock=3)
    pid = bl.add_product(sku="S-1")
    ChannelListingFactory(config=config, variant=v, external_id=pid)
    bl.script = ["limit", "limit"]
    result = run(config, "push")
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    assert bl.products[pid]["stock"] == {"bl_206": 3}


def test_http_429_with_retry_after_is_honoured(store, bl):
    config = bl_config(store, bl)
    v = VariantFactory(store=store, sku="S-1", stock=3)
    pid = bl.add_product(sku="S-1")
    ChannelListingFactory(config=config, variant=v, external_id=pid)
    bl.script = [FakeResponse(429, b"slow down", {"Retry-After": "0"})]
    result = run(config, "push")
    assert result.status == SyncRun.Status.SUCCEEDED
    assert bl.products[pid]["stock"] == {"bl_206": 3}


@pytest.mark.parametrize(
    "responses, fragment",
    [
        ([FakeResponse(500, b"oops")] * 5, "HTTP 500"),
        ([FakeResponse(200, b"{not json")], "not JSON"),
        ([FakeResponse(200, b'{"no": "status"}')], "no status"),
        ([FakeResponse(200, b"[1,2]")], "no status"),
        ([FakeResponse(200, b"x" * 200, delay=1.0)] * 5, "timed out"),
        ([FakeResponse(200, b'{"status": "SUCCESS"}' + b" " * 100, truncate_after=10)] * 5, "attempts"),
    ],
)
def test_faults_fail_the_run_with_a_reason_and_lose_nothing(store, bl, responses, fragment):
    config = bl_config(store, bl)
    v = VariantFactory(store=store, sku="S-1", stock=3)
    ChannelListingFactory(config=config, variant=v, external_id=bl.add_product(sku="S-1"))
    bl.script = list(responses)
    result = run(config, "push")
    assert result.status == SyncRun.Status.FAILED and fragment in result.error
    assert ChannelListing.objects.get().push_due
    bl.script = []
    assert run(config, "push").status == SyncRun.Status.SUCCEEDED


def test_an_error_answer_fails_the_items_of_that_call(store, bl):
    config = bl_config(store, bl)
    v = VariantFactory(store=store, sku="S-1", stock=3)
    ChannelListingFactory(config=config, variant=v, external_id=bl.add_product(sku="S-1"))
    bl.script = [
        FakeResponse(200, b'{"status": "ERROR", "error_code": "ERROR_STORAGE", "error_message": "busy"}')
    ]
    result = run(config, "push")
    assert result.status == SyncRun.Status.SUCCEEDED and result.failed == 1
    assert "busy" in ChannelListing.objects.get().error


# --- orders -------------------------------------------------------------------------------------


def test_orders_land_as_normal_orders_paged_from_the_cursor(store, bl):
    v = VariantFactory(store=store, sku="KUB-1", stock=500)
    config = bl_config(store, bl)
    base = 1_700_000_000
    for i in range(150):
        bl.add_order(
            products=[{"sku": "KUB-1", "quantity": 1, "price_brutto": 19.99}], date_confirmed=base + i
        )
    config.state = {"orders_cursor": {"date_confirmed_from": base}}
    config.save()
    result = run(config, "orders")
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    assert result.created == 150 and Order.objects.count() == 150
    froms = [c["date_confirmed_from"] for c in bl.methods("getOrders")]
    assert froms[:2] == [base, base + 100]
    order = Order.objects.get(external_reference=str(bl.orders[0]["order_id"]))
    assert order.channel == Order.Channel.MARKETPLACE and order.status == Order.Status.PAID
    assert order.total == Decimal("31.99") and order.pickup_point == "WAW01M"
    assert order.shipping_address.first_name == "Jan" and order.shipping_address.last_name == "Kowalski"
    assert on_hand(v) == 350
    config.refresh_from_db()
    assert config.state["orders_cursor"]["date_confirmed_from"] == base + 150
    again = run(config, "orders")
    assert again.created == 0 and Order.objects.count() == 150


def test_bad_orders_are_logged_per_order_and_the_rest_go_on(store, bl):
    VariantFactory(store=store, sku="KUB-1", stock=10)
    config = bl_config(store, bl)
    good = bl.add_order(products=[{"sku": "KUB-1", "quantity": 1, "price_brutto": 10}])
    broken = bl.add_order(products=[{"sku": "KUB-1", "quantity": "lots", "price_brutto": 10}])
    unknown = bl.add_order(products=[{"sku": "GHOST", "quantity": 1, "price_brutto": 10}])
    result = run(config, "orders")
    assert result.created == 1 and result.failed == 2
    messages = dict(SyncRunError.objects.filter(run=result).values_list("key", "message"))
    assert "cannot be read" in messages[str(broken["order_id"])]
    assert "GHOST" in messages[str(unknown["order_id"])]
    assert ChannelOrder.objects.get(external_id=str(good["order_id"])).order is not None
    # The unknown SKU is created in the shop; the next run places the waiting order.
    VariantFactory(store=store, sku="GHOST", stock=1)
    second = run(config, "orders")
    assert ChannelOrder.objects.get(external_id=str(unknown["order_id"])).order is not None
    assert second.created == 1


def test_cash_on_delivery_and_unpaid_orders(store, bl):
    VariantFactory(store=store, sku="KUB-1", stock=10)
    config = bl_config(store, bl)
    cod = bl.add_order(
        products=[{"sku": "KUB-1", "quantity": 1, "price_brutto": 10}], payment_method_cod="1", payment_done=0
    )
    run(config, "orders")
    order = Order.objects.get(external_reference=str(cod["order_id"]))
    assert order.status == Order.Status.NEW and order.payment_provider == "cod"


def test_journal_brings_payments_and_cancellations(store, bl):
    v = VariantFactory(store=store, sku="KUB-1", stock=10)
    config = bl_config(
        store, bl, cancelled_status_ids=[666], status_map={"cancelled": "666", "shipped": "777"}
    )
    unpaid = bl.add_order(products=[{"sku": "KUB-1", "quantity": 2, "price_brutto": 10}], payment_done=0)
    run(config, "orders")
    order = Order.objects.get(external_reference=str(unpaid["order_id"]))
    assert order.status == Order.Status.NEW and on_hand(v) == 8
    bl.log(order_id=unpaid["order_id"], log_type=3)
    run(config, "orders")
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    bl.log(order_id=unpaid["order_id"], log_type=18, object_id=666)
    bl.log(order_id=424242, log_type=18, object_id=666)  # an order never imported
    run(config, "orders")
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and on_hand(v) == 10
    assert bl.statuses == []  # BaseLinker's own cancellation is not sent back to it
    config.refresh_from_db()
    assert config.state["orders_cursor"]["last_log_id"] == 3


def test_shop_status_is_sent_back_with_set_order_status(store, bl, django_capture_on_commit_callbacks):
    VariantFactory(store=store, sku="KUB-1", stock=10)
    config = bl_config(store, bl, status_map={"shipped": "2001"})
    bl_order = bl.add_order(products=[{"sku": "KUB-1", "quantity": 1, "price_brutto": 10}])
    run(config, "orders")
    order = Order.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        change_status(order=order, status=Order.Status.PACKED)
        change_status(order=order, status=Order.Status.SHIPPED)
    assert bl.statuses == [(bl_order["order_id"], 2001)]
    assert ChannelOrder.objects.get().fulfilment_status_sent == "2001"


def test_orders_answer_without_a_list_fails_the_run(store, bl):
    config = bl_config(store, bl)
    bl.script = [FakeResponse(200, b'{"status": "SUCCESS", "orders": "none"}')]
    result = run(config, "orders")
    assert result.status == SyncRun.Status.FAILED and "malformed" in result.error


def test_oversized_answer_is_refused_and_nothing_is_lost(store, bl, settings):
    settings.CHANNELS_MAX_RESPONSE_BYTES = 200
    config = bl_config(store, bl)
    v = VariantFactory(store=store, sku="S-1", stock=3)
    ChannelListingFactory(config=config, variant=v, external_id=bl.add_product(sku="S-1"))
    bl.script = [FakeResponse(200, b'{"status": "SUCCESS", "counter": 1, "pad": "' + b"x" * 5000 + b'"}')]
    result = run(config, "push")
    assert result.status == SyncRun.Status.FAILED and "larger than 200 bytes" in result.error
    assert ChannelListing.objects.get().push_due


def test_hostile_journal_and_order_values_are_survived(store, bl):
    VariantFactory(store=store, sku="KUB-1", stock=10)
    config = bl_config(store, bl, cancelled_status_ids=[666])
    good = bl.add_order(
        products=[{"sku": "KUB-1", "quantity": 1, "price_brutto": 10}],
        email="<script>alert(1)</script>",
        delivery_fullname="x" * 10_000,
        delivery_point_id="P" * 500,
        user_comments="'; DROP TABLE orders_order; --",
    )
    bl.add_order(products=[{"sku": "KUB-1", "quantity": 1, "price_brutto": "NaN"}])
    bl.journal.extend([{"log_id": "x"}, "garbage", {"log_id": 99, "log_type": 18, "order_id": None}])
    result = run(config, "orders")
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    order = Order.objects.get(external_reference=str(good["order_id"]))
    assert order.email == "" and "not valid" in order.customer_note
    assert "DROP TABLE" in order.customer_note and len(order.pickup_point) == 32
    assert result.created == 1 and result.failed == 1


def test_the_scheduled_task_pushes_due_listings(store, bl, django_capture_on_commit_callbacks):
    from catalog import stock
    from integrations.tasks import run_connector

    config = bl_config(store, bl)
    v = VariantFactory(store=store, sku="S-1", stock=5)
    pid = bl.add_product(sku="S-1")
    ChannelListingFactory(config=config, variant=v, external_id=pid)
    run_connector(config.pk, "push")
    assert bl.products[pid]["stock"] == {"bl_206": 5}
    with django_capture_on_commit_callbacks(execute=True):
        stock.sell_now(lines=[(v, 2)], reference="shop-sale", store=store)
    assert ChannelListing.objects.get().push_due  # marked by the stock.changed handler
    run_connector(config.pk, "push")  # what the beat entry runs every push_every_seconds
    assert bl.products[pid]["stock"] == {"bl_206": 3}

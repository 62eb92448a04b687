"""Merchant endpoints: catalog CRUD, all-or-nothing bulk stock and prices, orders, recovery,
reports."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.models import PriceHistory, Product, StockItem, StockMovement, Variant
from orders.models import Order
from shop.models import Event
from tests.api.conftest import error_of, merchant
from tests.catalog.factories import VariantFactory, WarehouseFactory, give_stock, main_warehouse
from tests.orders.factories_after_sales import make_order

pytestmark = pytest.mark.django_db


def test_product_and_variant_crud(merchant_client, store):
    r = merchant_client.post(
        "/api/v1/manage/products/", {"name": "Sukienka lniana", "vat_rate": "8"}, format="json"
    )
    assert r.status_code == 201, r.content
    product_id = r.json()["id"]
    assert r.json()["slug"] == "sukienka-lniana"
    r = merchant_client.post(
        "/api/v1/manage/variants/",
        {"product": product_id, "sku": "SL-M", "price": "199.99", "compare_at_price": "249.00"},
        format="json",
    )
    assert r.status_code == 201, r.content
    variant_id = r.json()["id"]
    assert PriceHistory.objects.filter(variant_id=variant_id).count() == 1
    r = merchant_client.post(
        "/api/v1/manage/variants/", {"product": product_id, "sku": "SL-M", "price": "1"}, format="json"
    )
    assert r.status_code == 422  # the model's rule (a unique SKU) refuses a well-formed request
    assert "sku" in error_of(r)["fields"]
    r = merchant_client.post(
        "/api/v1/manage/variants/",
        {"product": product_id, "sku": "SL-L", "price": "10", "compare_at_price": "5"},
        format="json",
    )
    assert r.status_code == 422
    assert "compare_at_price" in error_of(r)["fields"]
    r = merchant_client.patch(f"/api/v1/manage/products/{product_id}/", {"is_published": True}, format="json")
    assert r.json()["is_published"] is True
    assert r.json()["min_price"] == "199.99"
    r = merchant_client.patch(f"/api/v1/manage/variants/{variant_id}/", {"price": "150.00"}, format="json")
    assert r.json()["price"] == "150.00"
    assert merchant_client.get("/api/v1/manage/products/", {"search": "SL-M"}).json()["count"] == 1
    assert merchant_client.delete(f"/api/v1/manage/variants/{variant_id}/").status_code == 204
    assert merchant_client.delete(f"/api/v1/manage/products/{product_id}/").status_code == 204
    assert not Product.objects.filter(pk=product_id).exists()


def test_bulk_stock_all_or_nothing(store):
    c = merchant(store, ["stock:write"])
    a = VariantFactory(store=store, sku="A")
    b = VariantFactory(store=store, sku="B")
    give_stock(a, 5)
    other = WarehouseFactory(store=store, code="drugi", priority=5)
    r = c.post(
        "/api/v1/stock/bulk/",
        {"rows": [{"sku": "A", "quantity": 7}, {"variant_id": b.pk, "delta": 3, "warehouse": "drugi"}]},
        format="json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["updated"] == 2
    assert StockItem.objects.get(variant=a, warehouse=main_warehouse(store)).quantity == 7
    assert StockItem.objects.get(variant=b, warehouse=other).quantity == 3
    assert Event.objects.filter(type="stock.changed").count() == 2
    movements = StockMovement.objects.count()
    r = c.post(
        "/api/v1/stock/bulk/",
        {"rows": [{"sku": "A", "quantity": 1}, {"sku": "B", "delta": -50}, {"sku": "NOPE", "quantity": 1}]},
        format="json",
    )
    assert r.status_code == 422
    assert error_of(r)["code"] == "rows_refused"
    assert set(error_of(r)["fields"]) == {"rows.2.sku"}
    r = c.post(
        "/api/v1/stock/bulk/",
        {"rows": [{"sku": "A", "quantity": 1}, {"sku": "B", "delta": -50}]},
        format="json",
    )
    assert r.status_code == 422
    assert set(error_of(r)["fields"]) == {"rows.1.delta"}
    assert StockItem.objects.get(variant=a, warehouse=main_warehouse(store)).quantity == 7  # nothing kept
    assert StockMovement.objects.count() == movements
    r = c.post("/api/v1/stock/bulk/", {"rows": [{"sku": "A", "quantity": -1}]}, format="json")
    assert r.status_code == 400
    assert "rows.0.quantity" in error_of(r)["fields"]
    r = c.post("/api/v1/stock/bulk/", {"rows": [{"sku": "A", "quantity": 1, "delta": 1}]}, format="json")
    assert r.status_code == 400


def test_bulk_stock_1000_rows_idempotent(store, settings):
    c = merchant(store, ["stock:write"])
    main_warehouse(store)
    product = Product.objects.create(store=store, name="Masa", slug="masa")
    Variant.objects.bulk_create(
        [Variant(store=store, product=product, sku=f"M{i:04d}", price=Decimal("1")) for i in range(1000)]
    )
    rows = [{"sku": f"M{i:04d}", "quantity": i % 7} for i in range(1000)]
    r = c.post("/api/v1/stock/bulk/", {"rows": rows}, format="json", HTTP_IDEMPOTENCY_KEY="count-2026-11")
    assert r.status_code == 200, r.content[:500]
    assert r.json()["updated"] == 1000
    movements = StockMovement.objects.count()
    again = c.post("/api/v1/stock/bulk/", {"rows": rows}, format="json", HTTP_IDEMPOTENCY_KEY="count-2026-11")
    assert again.json() == r.json()
    assert again["Idempotent-Replayed"] == "true"
    assert StockMovement.objects.count() == movements
    too_many = c.post("/api/v1/stock/bulk/", {"rows": [*rows, rows[0]]}, format="json")
    assert too_many.status_code == 400
    # Another key's Idempotency-Key space is its own.
    other = merchant(store, ["stock:write"]).post(
        "/api/v1/stock/bulk/", {"rows": rows[:1]}, format="json", HTTP_IDEMPOTENCY_KEY="count-2026-11"
    )
    assert other.status_code == 200


def test_bulk_prices(store):
    c = merchant(store, ["catalog:write"])
    a = VariantFactory(store=store, sku="A", price=Decimal("100"))
    VariantFactory(store=store, sku="B", price=Decimal("100"))
    r = c.post(
        "/api/v1/prices/bulk/",
        {
            "rows": [
                {"sku": "A", "price": "80.00", "compare_at_price": "100.00"},
                {"sku": "B", "price": "120"},
            ]
        },
        format="json",
    )
    assert r.status_code == 200, r.content
    a.refresh_from_db()
    assert (a.price, a.compare_at_price) == (Decimal("80.00"), Decimal("100.00"))
    r = c.post(
        "/api/v1/prices/bulk/",
        {"rows": [{"sku": "A", "price": "70.00"}, {"sku": "B", "price": "50", "compare_at_price": "40"}]},
        format="json",
    )
    assert r.status_code == 422
    assert set(error_of(r)["fields"]) == {"rows.1.compare_at_price"}
    a.refresh_from_db()
    assert a.price == Decimal("80.00")  # all or nothing


def test_orders_search_and_status(store, variant):
    reader = merchant(store, ["orders:read"])
    writer = merchant(store, ["orders:write"])
    order = make_order(store=store, lines=[(variant, 1)], status=Order.Status.PAID)
    make_order(store=store, lines=[(variant, 2)], status=Order.Status.DELIVERED)
    r = reader.get("/api/v1/manage/orders/", {"status": "paid"})
    assert [o["number"] for o in r.json()["results"]] == [order.number]
    assert "packed" in r.json()["results"][0]["allowed_transitions"]
    assert reader.get("/api/v1/manage/orders/", {"email": order.email}).json()["count"] == 1
    r = writer.post(f"/api/v1/manage/orders/{order.pk}/status/", {"status": "packed"}, format="json")
    assert r.status_code == 200, r.content
    order.refresh_from_db()
    assert order.status == "packed"
    assert Event.objects.filter(type="order.status_changed").exists()
    r = writer.post(f"/api/v1/manage/orders/{order.pk}/status/", {"status": "new"}, format="json")
    assert r.status_code == 409
    assert error_of(r)["code"] == "invalid_transition"


@pytest.mark.parametrize("n", [1, 8])
def test_orders_list_query_count(store, variant, n, django_assert_max_num_queries):
    reader = merchant(store, ["orders:read"])
    for _ in range(n):
        make_order(store=store, lines=[(variant, 1)])
    with django_assert_max_num_queries(6):
        assert reader.get("/api/v1/manage/orders/").json()["count"] == n


def test_recovery_and_reports(store, variant):
    from recovery.models import Campaign

    Campaign.objects.create(store=store, name="Domyślna")
    c = merchant(store, ["recovery:read", "reports:read"])
    r = c.get("/api/v1/recovery/campaigns/")
    assert r.status_code == 200
    assert [x["name"] for x in r.json()["results"]] == ["Domyślna"]
    r = c.get("/api/v1/recovery/stats/", {"date_from": "2026-01-01", "date_to": "2026-01-31"})
    assert r.status_code == 200, r.content
    assert len(r.json()["days"]) == 31
    assert (
        c.get("/api/v1/recovery/stats/", {"date_from": "2026-02-01", "date_to": "2026-01-01"}).status_code
        == 422  # a rule across two parameters: a business refusal (docs/api.md, 400 or 422)
    )
    make_order(store=store, lines=[(variant, 2)], status=Order.Status.PAID)
    r = c.get("/api/v1/reports/sales/", {"granularity": "day"})
    assert r.status_code == 200, r.content
    assert r.json()["totals"]["orders"] == 1
    assert c.get("/api/v1/reports/sales/", {"date_from": "x"}).status_code == 400

"""A real HTTP client (httpx) builds a cart and checks out purely through the API against the
live server; the order then appears in the admin's order list."""

from __future__ import annotations

import httpx
import pytest

from orders.models import Order
from tests.api.conftest import ADDRESS, reload_live_server_middleware
from tests.catalog.factories import VariantFactory, give_stock
from tests.orders.factories import PaymentMethodFactory, ShippingMethodFactory
from tests.shop.factories import StoreFactory


@pytest.mark.django_db(transaction=True)
def test_cart_to_order_over_http(live_server, admin_client):
    reload_live_server_middleware(live_server)
    store = StoreFactory(domain="localhost", name="Sklep", is_default=True)
    variant = VariantFactory(store=store, sku="LIVE-1")
    give_stock(variant, 3)
    shipping = ShippingMethodFactory(store=store, code="kurier")
    payment = PaymentMethodFactory(store=store, provider="bank_transfer")
    with httpx.Client(base_url=f"{live_server.url}/api/v1", timeout=30) as http:
        products = http.get("/products/").json()["results"]
        assert [p["name"] for p in products] == [variant.product.name]
        detail = http.get(f"/products/{products[0]['id']}/").json()
        token = http.post("/carts/").json()["token"]
        r = http.post(
            f"/carts/{token}/lines/", json={"variant_id": detail["variants"][0]["id"], "quantity": 2}
        )
        assert r.status_code == 201, r.text
        assert (
            http.get(f"/carts/{token}/shipping-methods/").json()["shipping_methods"][0]["id"] == shipping.pk
        )
        r = http.post(
            f"/carts/{token}/checkout/",
            json={
                "email": "live@example.com",
                "marketing_consent": False,
                "shipping_method": shipping.pk,
                "payment_method": payment.pk,
                "answers": ADDRESS,
            },
            headers={"Idempotency-Key": "live-1"},
        )
        assert r.status_code == 201, r.text
        number = r.json()["order"]["number"]
        assert r.json()["payment"]["instructions"]
        again = http.post(f"/carts/{token}/checkout/", json={}, headers={"Idempotency-Key": "live-2"})
        assert again.json()["order"]["number"] == number
    assert Order.objects.filter(store=store).count() == 1
    changelist = admin_client.get("/admin/orders/order/")
    assert changelist.status_code == 200
    assert number in changelist.content.decode()

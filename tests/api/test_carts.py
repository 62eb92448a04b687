"""Shopper carts through the API: the orders services' rules, tokens as the only key, and an
idempotent checkout."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Cart, Order
from tests.api.conftest import ADDRESS, error_of
from tests.catalog.factories import VariantFactory, give_stock

pytestmark = pytest.mark.django_db


def new_cart(client) -> str:
    r = client.post("/api/v1/carts/")
    assert r.status_code == 201, r.content
    return r.json()["token"]


def filled_cart(client, variant, methods, quantity=2, payment="online") -> str:
    token = new_cart(client)
    assert (
        client.post(
            f"/api/v1/carts/{token}/lines/", {"variant_id": variant.pk, "quantity": quantity}
        ).status_code
        == 201
    )
    r = client.patch(
        f"/api/v1/carts/{token}/",
        {
            "email": "anna@example.com",
            "marketing_consent": True,
            "shipping_method": methods["shipping"].pk,
            "payment_method": methods[payment].pk,
            "answers": ADDRESS,
        },
    )
    assert r.status_code == 200, r.content
    return token


def test_cart_lifecycle(client, variant, methods):
    token = new_cart(client)
    r = client.post(f"/api/v1/carts/{token}/lines/", {"variant_id": variant.pk, "quantity": 3})
    body = r.json()
    assert body["lines"][0]["quantity"] == 3
    assert body["totals"]["subtotal"] == "300.00"
    assert {p["step"] for p in body["problems"]} >= {"contact", "delivery"}
    line_id = body["lines"][0]["id"]
    r = client.patch(f"/api/v1/carts/{token}/lines/{line_id}/", {"quantity": 1})
    assert r.json()["lines"][0]["quantity"] == 1
    r = client.get(f"/api/v1/carts/{token}/shipping-methods/")
    assert r.status_code == 200
    assert [m["id"] for m in r.json()["shipping_methods"]] == [methods["shipping"].pk]
    assert r.json()["shipping_methods"][0]["price"] == "15.00"
    r = client.patch(
        f"/api/v1/carts/{token}/",
        {
            "email": "anna@example.com",
            "shipping_method": methods["shipping"].pk,
            "payment_method": methods["online"].pk,
            "answers": ADDRESS,
        },
    )
    body = r.json()
    assert body["problems"] == []
    assert body["totals"]["total"] == "115.00"
    r = client.delete(f"/api/v1/carts/{token}/lines/{line_id}/")
    assert r.json()["lines"] == []


def test_online_checkout_returns_order_and_payment_redirect(client, variant, methods):
    token = filled_cart(client, variant, methods)
    r = client.post(f"/api/v1/carts/{token}/checkout/", {"expected_total": "215.00"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["order"]["status"] == "awaiting_payment"
    assert body["order"]["total"] == "215.00"
    assert body["order"]["channel"] == "api"
    assert body["payment"]["redirect_url"]
    order = Order.objects.get(number=body["order"]["number"])
    assert order.cart.token == token
    # The cart now shows the order it became, and cannot be changed any more.
    r = client.get(f"/api/v1/carts/{token}/")
    assert r.json()["status"] == "ordered"
    assert r.json()["order"]["number"] == order.number
    r = client.post(f"/api/v1/carts/{token}/lines/", {"variant_id": variant.pk})
    assert r.status_code == 422


def test_checkout_in_one_call(client, variant, methods):
    token = new_cart(client)
    client.post(f"/api/v1/carts/{token}/lines/", {"variant_id": variant.pk, "quantity": 1})
    r = client.post(
        f"/api/v1/carts/{token}/checkout/",
        {
            "email": "jan@example.com",
            "marketing_consent": False,
            "shipping_method": methods["shipping"].pk,
            "payment_method": methods["transfer"].pk,
            "answers": ADDRESS,
        },
    )
    assert r.status_code == 201, r.content
    assert r.json()["payment"]["instructions"]
    assert Order.objects.get().email == "jan@example.com"


def test_retried_checkout_with_idempotency_key_returns_first_order(client, variant, methods):
    token = filled_cart(client, variant, methods)
    first = client.post(f"/api/v1/carts/{token}/checkout/", {}, HTTP_IDEMPOTENCY_KEY="abc-123")
    assert first.status_code == 201
    again = client.post(f"/api/v1/carts/{token}/checkout/", {}, HTTP_IDEMPOTENCY_KEY="abc-123")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Order.objects.count() == 1
    other = client.post(
        f"/api/v1/carts/{token}/checkout/", {"expected_total": "1.00"}, HTTP_IDEMPOTENCY_KEY="abc-123"
    )
    assert other.status_code == 422
    assert error_of(other)["code"] == "idempotency_key_reused"
    # Without a key the service itself is idempotent: the cart's order comes back, nothing new.
    plain = client.post(f"/api/v1/carts/{token}/checkout/", {})
    assert plain.status_code == 200
    assert plain.json()["order"]["number"] == first.json()["order"]["number"]
    assert Order.objects.count() == 1


def test_checkout_problems_and_refusals(client, variant, methods):
    token = new_cart(client)
    r = client.post(f"/api/v1/carts/{token}/checkout/", {})
    assert r.status_code == 422
    assert error_of(r)["code"] == "refused"
    token = filled_cart(client, variant, methods)
    r = client.post(f"/api/v1/carts/{token}/checkout/", {"expected_total": "1.00"})
    assert r.status_code == 409
    assert error_of(r)["code"] == "total_changed"
    give_stock(variant, 1)  # someone bought the rest meanwhile
    r = client.post(f"/api/v1/carts/{token}/checkout/", {})
    assert r.status_code == 409
    assert error_of(r)["code"] == "out_of_stock"
    assert not Order.objects.exists()


def test_add_more_than_available_and_foreign_variant(client, variant, other_store, methods):
    token = new_cart(client)
    r = client.post(f"/api/v1/carts/{token}/lines/", {"variant_id": variant.pk, "quantity": 11})
    assert r.status_code == 422
    assert "quantity" in error_of(r)["fields"]
    foreign = VariantFactory(store=other_store)
    give_stock(foreign, 5)
    r = client.post(f"/api/v1/carts/{token}/lines/", {"variant_id": foreign.pk, "quantity": 1})
    assert r.status_code == 422
    r = client.patch(f"/api/v1/carts/{token}/", {"shipping_method": 999999})
    assert r.status_code == 400


def test_cart_tokens_do_not_leak(client, other_client, variant, other_store):
    token = new_cart(client)
    client.post(f"/api/v1/carts/{token}/lines/", {"variant_id": variant.pk})
    other = new_cart(client)
    line_id = Cart.objects.get(token=token).lines.get().pk
    # Another shopper's cart cannot touch this cart's line.
    assert client.patch(f"/api/v1/carts/{other}/lines/{line_id}/", {"quantity": 5}).status_code == 422
    assert client.delete(f"/api/v1/carts/{other}/lines/{line_id}/").status_code == 422
    assert Cart.objects.get(token=token).lines.get().quantity == 1
    # The same token on another store's host is unknown.
    assert other_client.get(f"/api/v1/carts/{token}/").status_code == 404
    assert client.get("/api/v1/carts/not-a-token/").status_code == 404
    assert client.get(f"/api/v1/carts/{'x' * 500}/").status_code == 404


def test_voucher_code(client, variant, methods):
    from tests.orders.factories import VoucherFactory

    VoucherFactory(store=variant.store, code="RABAT10", value=Decimal("10"))
    token = filled_cart(client, variant, methods, quantity=1)
    r = client.post(f"/api/v1/carts/{token}/voucher/", {"code": "rabat10"})
    assert r.status_code == 200, r.content
    assert r.json()["voucher_code"] == "RABAT10"
    assert r.json()["totals"]["discount"] == "10.00"
    r = client.post(f"/api/v1/carts/{token}/voucher/", {"code": "NOPE"})
    assert r.status_code == 422
    assert error_of(r)["fields"] == {"code": [error_of(r)["message"]]}
    r = client.delete(f"/api/v1/carts/{token}/voucher/")
    assert r.json()["voucher_code"] is None

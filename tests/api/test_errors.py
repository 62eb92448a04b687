"""One error shape and never a 500, whatever is sent."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import error_of

pytestmark = pytest.mark.django_db


def new_cart(client) -> str:
    return client.post("/api/v1/carts/").json()["token"]


def test_malformed_json(client, store):
    token = new_cart(client)
    r = client.generic(
        "POST", f"/api/v1/carts/{token}/lines/", '{"variant_id": 1,', content_type="application/json"
    )
    assert r.status_code == 400
    assert error_of(r)["code"] == "parse_error"


def test_wrong_types_and_unknown_fields(client, variant):
    token = new_cart(client)
    r = client.post(f"/api/v1/carts/{token}/lines/", {"variant_id": "abc", "quantity": [1]}, format="json")
    assert r.status_code == 400
    fields = error_of(r)["fields"]
    assert set(fields) == {"variant_id", "quantity"}
    r = client.post(
        f"/api/v1/carts/{token}/lines/", {"variant_id": variant.pk, "price": "0.01"}, format="json"
    )
    assert r.status_code == 400
    assert error_of(r)["fields"] == {"price": ["Unknown field."]} or "price" in error_of(r)["fields"]
    r = client.post(f"/api/v1/carts/{token}/lines/", ["not", "an", "object"], format="json")
    assert r.status_code == 400
    r = client.post(f"/api/v1/carts/{token}/lines/", {"variant_id": 2**70}, format="json")
    assert r.status_code == 400


def test_negative_and_zero_quantities(client, variant):
    token = new_cart(client)
    for quantity in (-1, 0, 10**12):
        r = client.post(f"/api/v1/carts/{token}/lines/", {"variant_id": variant.pk, "quantity": quantity})
        assert r.status_code == 400, quantity
        assert "quantity" in error_of(r)["fields"]


def test_sql_ish_strings(client, variant, merchant_client):
    sqlish = "1' OR '1'='1'; DROP TABLE catalog_product; --"
    assert (
        client.get("/api/v1/products/", {"search": sqlish, "category": sqlish, "group": sqlish}).status_code
        == 200
    )
    assert client.get("/api/v1/products/", {"price_min": sqlish}).status_code == 400
    assert client.get(f"/api/v1/carts/{sqlish}/").status_code == 404
    assert merchant_client.get("/api/v1/manage/orders/", {"q": sqlish, "email": sqlish}).status_code == 200
    assert merchant_client.get("/api/v1/manage/orders/", {"date_from": sqlish}).status_code == 400
    assert client.get("/api/v1/products/").json()["count"] == 1


def test_huge_payload(client, store, settings):
    settings.API_MAX_BODY_BYTES = 10_000
    token = new_cart(client)
    body = json.dumps({"variant_id": 1, "padding": "x" * 20_000})
    r = client.generic("POST", f"/api/v1/carts/{token}/lines/", body, content_type="application/json")
    assert r.status_code == 413
    assert error_of(r)["code"] == "too_large"


def test_bulk_row_limit(merchant_client, settings):
    settings.API_BULK_MAX_ROWS = 5
    from catalog.api.serializers import StockRowInput, bulk_input  # noqa: F401

    rows = [{"sku": f"S{i}", "quantity": 1} for i in range(6)]
    r = merchant_client.post("/api/v1/stock/bulk/", {"rows": rows}, format="json")
    assert r.status_code in (400, 422)


def test_unsupported_media_type_and_method(client, store):
    token = new_cart(client)
    r = client.post(
        f"/api/v1/carts/{token}/lines/", "variant_id=1", content_type="application/x-www-form-urlencoded"
    )
    assert r.status_code == 415
    assert error_of(r)["code"] == "unsupported_media_type"
    r = client.put(f"/api/v1/carts/{token}/", {})
    assert r.status_code == 405
    assert error_of(r)["code"] == "method_not_allowed"


def test_not_found_shapes(client, store):
    for path in (
        "/api/v1/nothing/",
        "/api/v2/products/",
        "/api/v1/products/999999/",
        "/api/v1/products/abc/",
    ):
        r = client.get(path)
        assert r.status_code == 404, path
        assert error_of(r)["code"] == "not_found"
    r = client.get("/api/v1/products/", {"page": 999})
    assert r.status_code == 404
    r = client.get("/api/v1/products/", {"page": "x"})
    assert r.status_code == 404


def test_unknown_store_host_is_a_json_404(db, settings):
    settings.ALLOWED_HOSTS = ["*"]
    r = APIClient(SERVER_NAME="nieznany.example.pl").get("/api/v1/products/")
    assert r.status_code == 404
    assert error_of(r)["code"] == "not_found"


def test_unexpected_exception_is_a_json_500(client, store, monkeypatch):
    from catalog.api import public

    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(public.selectors, "published_products", boom)
    client.raise_request_exception = False
    r = client.get("/api/v1/products/")
    assert r.status_code == 500
    assert error_of(r)["code"] == "server_error"
    assert "bug" not in r.content.decode()


def test_invalid_filters(client, store):
    assert client.get("/api/v1/products/", {"ordering": "price; drop"}).status_code == 400
    assert client.get("/api/v1/products/", {"attr": "nocolon"}).status_code == 400
    assert client.get("/api/v1/products/", {"price_min": "-5"}).status_code == 400
    assert client.get("/api/v1/products/", {"price_max": "NaN"}).status_code == 400
    assert client.get("/api/v1/products/", {"page_size": "100000"}).status_code == 200


def test_bad_idempotency_key(merchant_client, variant):
    r = merchant_client.post(
        "/api/v1/stock/bulk/",
        {"rows": [{"sku": variant.sku, "quantity": 1}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY=" ",
    )
    assert r.status_code == 400
    assert error_of(r)["code"] == "invalid_idempotency_key"

"""The OpenAPI schema says exactly what the API does, one mismatch class at a time (issue 16:
"The API says what it does"): each test reads the generated schema and calls the API."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator
from rest_framework.renderers import JSONRenderer

from tests.api.conftest import error_of
from tests.api.test_carts import new_cart

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema():
    raw = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(JSONRenderer().render(raw))


def _component(schema, name):
    return schema["components"]["schemas"][name]


def _request_schema(schema, path, method):
    ref = schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return _component(schema, ref.rsplit("/", 1)[1])


def _parameter(schema, path, method, name):
    return next(p for p in schema["paths"][path][method]["parameters"] if p["name"] == name)


def test_deleting_a_cart_line_or_code_is_documented_as_200_with_the_cart(schema, client, variant):
    for path in ("/api/v1/carts/{token}/lines/{line_id}/", "/api/v1/carts/{token}/voucher/"):
        responses = schema["paths"][path]["delete"]["responses"]
        assert "204" not in responses
        assert responses["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/CartOutput")
    token = new_cart(client)
    line = client.post(f"/api/v1/carts/{token}/lines/", {"variant_id": variant.pk}, format="json").json()
    response = client.delete(f"/api/v1/carts/{token}/lines/{line['lines'][0]['id']}/")
    assert response.status_code == 200 and response.json()["lines"] == []
    response = client.delete(f"/api/v1/carts/{token}/voucher/")
    assert response.status_code == 200 and response.json()["token"] == token


def test_every_request_body_refuses_unknown_fields_and_says_so(schema, client, store):
    bodies = 0
    for operations in schema["paths"].values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                component = _component(schema, media["schema"]["$ref"].rsplit("/", 1)[1])
                assert component["additionalProperties"] is False, component
                bodies += 1
    assert bodies > 15
    nested = _component(schema, "CheckoutAnswersInputRequest")
    assert nested["additionalProperties"] is False
    token = new_cart(client)
    response = client.patch(f"/api/v1/carts/{token}/", {"answers": {"colour": "red"}}, format="json")
    assert response.status_code == 400
    assert error_of(response)["fields"] == {"answers.colour": ["Nieznane pole."]}


@pytest.mark.parametrize("key", ["", "ключ-1", "tab\tinside", "x" * 256])
def test_idempotency_key_format_is_in_the_schema_and_enforced(schema, merchant_client, key):
    parameter = _parameter(schema, "/api/v1/stock/bulk/", "post", "Idempotency-Key")
    pattern = parameter["schema"]["pattern"]
    assert parameter["schema"]["maxLength"] == 255
    assert not (re.fullmatch(pattern, key) and len(key) <= 255)
    assert re.fullmatch(pattern, "count-2026-11-23 run 2")
    body = {"rows": [{"sku": "NONE", "quantity": 1}]}
    response = merchant_client.post("/api/v1/stock/bulk/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_idempotency_key"


def test_line_quantity_maximum_is_the_shops_limit(schema, client, variant, settings):
    settings.CART_MAX_LINE_QUANTITY = 7
    generated = json.loads(JSONRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    assert (
        _request_schema(generated, "/api/v1/carts/{token}/lines/", "post")["properties"]["quantity"][
            "maximum"
        ]
        == 7
    )
    assert _component(generated, "PatchedLineUpdateInputRequest")["properties"]["quantity"]["maximum"] == 7
    token = new_cart(client)
    response = client.post(
        f"/api/v1/carts/{token}/lines/", {"variant_id": variant.pk, "quantity": 8}, format="json"
    )
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["quantity"]


def test_non_empty_lists_say_min_items(schema, merchant_client):
    rows = _request_schema(schema, "/api/v1/stock/bulk/", "post")["properties"]["rows"]
    assert rows["minItems"] == 1 and rows["maxItems"] == settings.API_BULK_MAX_ROWS
    assert _request_schema(schema, "/api/v1/me/returns/", "post")["properties"]["lines"]["minItems"] == 1
    assert merchant_client.post("/api/v1/stock/bulk/", {"rows": []}, format="json").status_code == 400


def test_date_parameters_say_format_date_and_take_only_that(schema, merchant_client):
    for path in ("/api/v1/manage/orders/", "/api/v1/reports/sales/", "/api/v1/recovery/stats/"):
        assert _parameter(schema, path, "get", "date_from")["schema"]["format"] == "date"
        response = merchant_client.get(path, {"date_from": "12/07/2026"})
        assert response.status_code == 400, (path, response.content)
        assert "date_from" in error_of(response)["fields"]
    assert merchant_client.get("/api/v1/manage/orders/", {"date_from": "2026-12-01"}).status_code == 200


@pytest.mark.parametrize(
    "field, value",
    [("customer_note", 0), ("wants_invoice", 0), ("city", ["Warszawa"])],
)
def test_nested_text_and_booleans_take_only_their_json_type(client, store, field, value):
    token = new_cart(client)
    response = client.patch(f"/api/v1/carts/{token}/", {"answers": {field: value}}, format="json")
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == [f"answers.{field}"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "Sukienka", "is_published": 0}, "is_published"),
        ({"name": 5}, "name"),
        ({"name": "Sukienka", "category": "1"}, "category"),
        ({"name": "Sukienka", "category": True}, "category"),
    ],
)
def test_merchant_inputs_take_only_their_json_type(merchant_client, body, field):
    response = merchant_client.post("/api/v1/manage/products/", body, format="json")
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == [field]


def test_money_is_a_string_in_the_schemas_pattern(schema, merchant_client, variant):
    price = _component(schema, "PriceRowInputRequest")["properties"]["price"]
    assert price["type"] == "string" and not re.fullmatch(price["pattern"], "")
    for bad in (149, "", "-1.00", "1e3", "1.005"):
        assert not re.fullmatch(price["pattern"], str(bad)) or isinstance(bad, int)
        body = {"rows": [{"sku": variant.sku, "price": bad}]}
        response = merchant_client.post("/api/v1/prices/bulk/", body, format="json")
        assert response.status_code == 400, (bad, response.content)
    ok = {"rows": [{"sku": variant.sku, "price": "149.00"}]}
    assert merchant_client.post("/api/v1/prices/bulk/", ok, format="json").status_code == 200


@pytest.mark.parametrize(
    "path, query",
    [
        ("/api/v1/manage/orders/", {"page_size": "null"}),
        ("/api/v1/manage/orders/", {"page_size": "0"}),
        ("/api/v1/manage/products/", {"published": "null"}),
        ("/api/v1/manage/variants/", {"product": "null"}),
        ("/api/v1/products/", {"in_stock": "yes"}),
        ("/api/v1/products/", {"price_min": "1e3"}),
    ],
)
def test_query_parameters_of_the_wrong_type_are_refused(schema, merchant_client, path, query):
    (name,) = query
    parameter = _parameter(schema, path, "get", name)
    if name in ("page_size", "product"):
        assert parameter["schema"] == {"type": "integer", **parameter["schema"], "minimum": 1}
    response = merchant_client.get(path, query)
    assert response.status_code == 400, response.content
    assert list(error_of(response)["fields"]) == [name]


def test_bulk_rows_say_exactly_one_of_sku_or_variant_id(schema, merchant_client, variant):
    row = _component(schema, "StockRowInputRequest")
    assert {"oneOf": [{"required": ["sku"]}, {"required": ["variant_id"]}]} in row["allOf"]
    both = {"rows": [{"sku": variant.sku, "variant_id": variant.pk, "quantity": 1}]}
    assert merchant_client.post("/api/v1/stock/bulk/", both, format="json").status_code == 400


@pytest.mark.parametrize("path", ["/api/v1/recovery/stats/", "/api/v1/reports/sales/"])
def test_a_date_range_too_long_is_a_business_refusal_not_a_shape_error(merchant_client, path):
    response = merchant_client.get(path, {"date_from": "2000-01-01", "date_to": "2026-12-01"})
    assert response.status_code == 422
    assert list(error_of(response)["fields"]) == ["date_to"]


def test_an_unknown_category_is_422(merchant_client):
    response = merchant_client.post(
        "/api/v1/manage/products/", {"name": "X", "category": 999999}, format="json"
    )
    assert response.status_code == 422
    assert list(error_of(response)["fields"]) == ["category"]


@pytest.mark.parametrize("value", ["", "2026-02-30", "07.12.2026"])
def test_an_empty_or_impossible_date_is_refused(merchant_client, value):
    response = merchant_client.get("/api/v1/manage/orders/", {"date_to": value})
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["date_to"]


def test_order_total_filters_are_plain_amounts(schema, merchant_client):
    assert _parameter(schema, "/api/v1/manage/orders/", "get", "total_min")["schema"]["pattern"]
    assert merchant_client.get("/api/v1/manage/orders/", {"total_min": "1e3"}).status_code == 400
    assert merchant_client.get("/api/v1/manage/orders/", {"total_min": "10.50"}).status_code == 200


def test_a_variant_of_an_unknown_product_is_422(merchant_client):
    body = {"product": 999999, "sku": "X-1", "price": "10.00"}
    response = merchant_client.post("/api/v1/manage/variants/", body, format="json")
    assert response.status_code == 422
    assert list(error_of(response)["fields"]) == ["product"]

"""The schema says the address book's Polish rules exactly: with ``country`` PL or left out, a
postal code NN-NNN and a NIP-shaped tax id; any other country, neither. Each body below is judged
by the schema's own ``AddressInputRequest`` (jsonschema) and by the API: they agree."""

from __future__ import annotations

import json

import jsonschema
import pytest

from orders.models import Address

pytestmark = pytest.mark.django_db

BASE = {"first_name": "Anna", "last_name": "Kowalska", "street": "ul. Długa 5", "city": "Warszawa"}


@pytest.fixture(scope="module")
def address_schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator
    from rest_framework.renderers import JSONRenderer

    with django_db_blocker.unblock():
        raw = json.loads(JSONRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    return raw["components"]["schemas"]


@pytest.mark.parametrize(
    ("changes", "accepted"),
    [
        ({"postal_code": "00-950"}, True),
        ({"postal_code": " 00-950 "}, True),  # trimmed, as every text field
        ({"postal_code": "00950"}, False),
        ({"postal_code": "0"}, False),
        ({"postal_code": "00-9500"}, False),
        ({"postal_code": "AB-CDE"}, False),
        ({"postal_code": "00-950", "country": "PL"}, True),
        ({"postal_code": "00950", "country": "PL"}, False),
        ({"postal_code": "10115", "country": "DE"}, True),
        ({"postal_code": "SW1A 1AA", "country": "GB"}, True),
        ({"postal_code": "00-950", "tax_id": "526-000-12-46"}, True),
        ({"postal_code": "00-950", "tax_id": "PL 526 000 12 46"}, True),
        ({"postal_code": "00-950", "tax_id": "pl5260001246"}, True),
        ({"postal_code": "00-950", "tax_id": ""}, True),
        ({"postal_code": "00-950", "tax_id": "123"}, False),
        ({"postal_code": "00-950", "tax_id": "52600012460"}, False),
        ({"postal_code": "00-950", "tax_id": "PL"}, False),
        ({"postal_code": "00-950", "tax_id": "-"}, False),
        ({"postal_code": "00-950", "tax_id": "NIP5260001246"}, False),
        ({"postal_code": "10115", "country": "DE", "tax_id": "DE123456789"}, True),
    ],
)
def test_the_schema_and_the_api_judge_polish_addresses_alike(
    address_schema, customer_client, changes, accepted
):
    body = {**BASE, **changes}
    by_schema = jsonschema.Draft7Validator(address_schema["AddressInputRequest"]).is_valid(body)
    response = customer_client.post("/api/v1/me/addresses/", body, format="json")
    assert by_schema is accepted
    assert response.status_code == (201 if accepted else 400), response.content
    assert Address.objects.exists() is accepted


def test_a_wrong_nip_check_digit_is_the_one_rule_left_to_the_description(address_schema, customer_client):
    body = {**BASE, "postal_code": "00-950", "tax_id": "526-000-12-47"}
    assert jsonschema.Draft7Validator(address_schema["AddressInputRequest"]).is_valid(body)
    assert customer_client.post("/api/v1/me/addresses/", body, format="json").status_code == 400
    properties = address_schema["AddressInputRequest"]["properties"]
    assert "check digit" in properties["tax_id"]["description"]
    assert "NN-NNN" in properties["postal_code"]["description"]
    patched = address_schema["PatchedAddressInputRequest"]
    assert "allOf" not in patched  # on PATCH the stored address's country decides
    assert "On PATCH" in patched["properties"]["postal_code"]["description"]

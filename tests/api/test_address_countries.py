"""An address's country must be a real ISO 3166-1 code (issue 16: ``country: "AA"`` with postal
code "0" was accepted, since any two capitals skipped the Polish postal-code check). The API
serializer and the storefront address form share one validator."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from orders.account_forms import AddressForm
from orders.models import Address
from orders.services.validation import clean_country
from tests.api.conftest import error_of
from tests.orders.factories_after_sales import AddressFactory

pytestmark = pytest.mark.django_db

NEW_ADDRESS = {
    "first_name": "Anna",
    "last_name": "Kowalska",
    "street": "ul. Długa 5/3",
    "postal_code": "0",
    "city": "Warszawa",
}


@pytest.mark.parametrize("country", ["AA", "ZZ", "XX", "UK", "EU"])
def test_api_refuses_two_capitals_that_are_no_country(customer_client, shopper, country):
    with translation.override("pl"):
        r = customer_client.post("/api/v1/me/addresses/", {**NEW_ADDRESS, "country": country}, format="json")
    assert r.status_code == 400, r.content
    error = error_of(r)
    assert "country" in error["fields"]
    assert "nie jest kodem kraju" in " ".join(error["fields"]["country"])
    assert not Address.objects.filter(user=shopper).exists()


def test_api_patch_to_a_fake_country_is_refused(customer_client, shopper):
    address = AddressFactory(user=shopper)
    r = customer_client.patch(f"/api/v1/me/addresses/{address.pk}/", {"country": "AA"}, format="json")
    assert r.status_code == 400 and "country" in error_of(r)["fields"]
    address.refresh_from_db()
    assert address.country == "PL"


def test_api_still_takes_real_foreign_countries(customer_client):
    for country, code in (("DE", "10115"), ("GB", "SW1A 1AA"), ("CZ", "110 00")):
        r = customer_client.post(
            "/api/v1/me/addresses/", {**NEW_ADDRESS, "country": country, "postal_code": code}, format="json"
        )
        assert r.status_code == 201, r.content
        assert r.json()["country"] == country


@pytest.mark.parametrize("country", ["AA", "ZZ"])
def test_the_storefront_form_uses_the_same_rule(country):
    form = AddressForm(data={**NEW_ADDRESS, "country": country})
    assert not form.is_valid()
    assert "country" in form.errors
    assert AddressForm(data={**NEW_ADDRESS, "country": "de", "postal_code": "10115"}).is_valid()


def test_the_shared_validator():
    assert clean_country("pl") == "PL" and clean_country("") == "PL" and clean_country(" se ") == "SE"
    for bad in ("AA", "P1", "POL", "Polska", "QQ"):
        with pytest.raises(ValidationError):
            clean_country(bad)

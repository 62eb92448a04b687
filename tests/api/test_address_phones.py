"""An address's phone is read in the address's country and kept in E.164 (shop/phones.py): the
API serializer and the storefront address form share the one rule."""

from __future__ import annotations

import pytest
from django.utils import translation

from orders.account_forms import AddressForm
from orders.models import Address
from tests.api.conftest import error_of
from tests.orders.factories_after_sales import AddressFactory

pytestmark = pytest.mark.django_db

ADDRESS = {"first_name": "Anna", "last_name": "Kowalska", "street": "ul. Długa 5/3", "city": "Warszawa"}


@pytest.mark.parametrize(
    ("country", "postal_code", "phone", "stored"),
    [
        ("PL", "00-950", "600 100 200", "+48600100200"),
        ("PL", "00-950", "+49 30 1234567", "+49301234567"),
        ("DE", "10115", "030 1234567", "+49301234567"),  # read in the address's country
        ("PL", "00-950", "", ""),
    ],
)
def test_api_stores_the_phone_in_e164(customer_client, shopper, country, postal_code, phone, stored):
    r = customer_client.post(
        "/api/v1/me/addresses/",
        {**ADDRESS, "country": country, "postal_code": postal_code, "phone": phone},
        format="json",
    )
    assert r.status_code == 201, r.content
    assert Address.objects.get(user=shopper).phone == stored


@pytest.mark.parametrize("phone", ["111 222 333", "12", "<b>600100200</b>;--", "6" * 32])
def test_api_refuses_a_phone_that_is_not_a_number(customer_client, shopper, phone):
    with translation.override("pl"):
        r = customer_client.post(
            "/api/v1/me/addresses/", {**ADDRESS, "postal_code": "00-950", "phone": phone}, format="json"
        )
    assert r.status_code == 400, r.content
    assert "Podaj poprawny numer telefonu" in " ".join(error_of(r)["fields"]["phone"])
    assert not Address.objects.filter(user=shopper).exists()


def test_api_patch_of_the_phone_is_normalised(customer_client, shopper):
    address = AddressFactory(user=shopper)
    r = customer_client.patch(
        f"/api/v1/me/addresses/{address.pk}/", {"phone": "0048 601-222-333"}, format="json"
    )
    assert r.status_code == 200, r.content
    address.refresh_from_db()
    assert address.phone == "+48601222333"


def test_the_storefront_form_uses_the_same_rule():
    form = AddressForm(data={**ADDRESS, "postal_code": "10115", "country": "DE", "phone": "030 1234567"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["phone"] == "+49301234567"
    bad = AddressForm(data={**ADDRESS, "postal_code": "00-950", "country": "PL", "phone": "111 222 333"})
    assert not bad.is_valid() and "phone" in bad.errors


# --- a cart's checkout answers ----------------------------------------------------------------------


def _answer_phone(client, variant, methods, phone):
    from tests.api.test_carts import filled_cart

    token = filled_cart(client, variant, methods, quantity=1)
    r = client.patch(
        f"/api/v1/carts/{token}/", {"answers": {**ADDRESS, "postal_code": "00-950", "phone": phone}}
    )
    assert r.status_code == 200, r.content
    return token, r.json()


def test_cart_answers_keep_a_phone_in_e164(client, variant, methods):
    from orders.models import Cart

    token, body = _answer_phone(client, variant, methods, "0048 600-100-200")
    assert body["problems"] == []
    assert Cart.objects.get(token=token).checkout["phone"] == "+48600100200"


@pytest.mark.parametrize("phone", ["111 222 333", "<img src=x onerror=alert(1)>"])
def test_a_cart_answer_that_is_no_phone_is_named_by_the_delivery_step(client, variant, methods, phone):
    _token, body = _answer_phone(client, variant, methods, phone)
    delivery = [p for p in body["problems"] if p["step"] == "delivery"]
    assert delivery and "numer telefonu" in " ".join(p["message"] for p in delivery)

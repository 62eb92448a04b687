"""Customer groups: a signed-in member pays the group's price in the storefront, in
place_order and through the API; a guest and a non-member pay the list price; a B2B member's
company is prefilled for the invoice."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from orders import services
from orders.models import PaymentMethod, ShippingMethod
from orders.pricing import PriceList, price_list_for
from shop.api import keys
from tests.catalog.factories import GiftCardProductFactory, VariantFactory, give_stock
from tests.customers.factories import CustomerGroupFactory, group_price, join
from tests.orders.factories import PaymentMethodFactory, ShippingMethodFactory, ready_cart
from tests.orders.factories_after_sales import use_isolated_cache
from tests.shop.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings):
    use_isolated_cache(settings)


@pytest.fixture
def catalog(store):
    cheap = VariantFactory(store=store, price=Decimal("100.00"), stock=50)
    listed = VariantFactory(store=store, price=Decimal("80.00"), stock=50)
    return cheap, listed


@pytest.fixture
def member(store, catalog):
    group = CustomerGroupFactory(store=store, discount_percent=Decimal("12.5"))
    group_price(group, catalog[1], "59.99")
    user = UserFactory(email="hurt@example.com")
    join(group, user, company_name="Hurt sp. z o.o.", tax_id="5260001246", city="Łódź")
    return user


def test_percentage_and_variant_prices_for_a_member_only(store, catalog, member):
    cheap, listed = catalog
    prices = price_list_for(store_id=store.pk, user=member)
    assert prices.unit_price(cheap) == Decimal("87.50")
    assert prices.unit_price(listed) == Decimal("59.99")  # its own price wins over the percentage
    assert price_list_for(store_id=store.pk, user=UserFactory()) is None
    assert price_list_for(store_id=StoreFactory().pk, user=member) is None  # another store's buyer
    # A group price above the list price never makes it dearer; gift cards keep their face value.
    card = VariantFactory(store=store, product=GiftCardProductFactory(store=store), price=Decimal("50.00"))
    assert PriceList(prices={cheap.pk: Decimal("150")}).unit_price(cheap) == Decimal("100.00")
    assert prices.unit_price(card) == Decimal("50.00")


def test_best_of_two_groups(store, catalog, member):
    other = CustomerGroupFactory(store=store, discount_percent=Decimal("20"))
    group_price(other, catalog[1], "70.00")
    join(other, member)
    prices = price_list_for(store_id=store.pk, user=member)
    assert prices.unit_price(catalog[0]) == Decimal("80.00")
    assert prices.unit_price(catalog[1]) == Decimal("59.99")
    other.is_active = False
    other.save()
    assert price_list_for(store_id=store.pk, user=member).unit_price(catalog[0]) == Decimal("87.50")


def test_place_order_charges_the_member_the_group_price(store, catalog, member):
    cheap, listed = catalog
    cart = ready_cart(store, [(cheap, 2), (listed, 1)], user=member, email=member.email)
    order = services.place_order(cart=cart, user=member)
    lines = {line.variant_id: line for line in order.lines.all()}
    assert lines[cheap.pk].unit_price == Decimal("87.50")
    assert lines[cheap.pk].total == Decimal("175.00")
    assert lines[listed.pk].unit_price == Decimal("59.99")
    assert order.subtotal == Decimal("234.99")
    # A guest buying the same pays the list price.
    guest = ready_cart(store, [(cheap, 2), (listed, 1)], email="gosc@example.com")
    assert services.place_order(cart=guest).subtotal == Decimal("280.00")


def test_the_storefront_shows_the_group_price_and_prefills_the_company(client, store, catalog, member):
    cheap, _listed = catalog
    cart = services.get_or_create_cart(store=store, user=member)
    services.add_to_cart(cart=cart, variant_id=cheap.pk, quantity=1)
    services.save_checkout_email(cart=cart, email=member.email, marketing_consent=False)
    ShippingMethodFactory(store=store, code="kurier")
    PaymentMethodFactory(store=store, provider=PaymentMethod.Provider.TEST_GATEWAY)
    client.force_login(member)
    page = client.get(reverse("orders:cart")).content.decode()
    assert "87,50\xa0zł" in page
    form = client.get(reverse("orders:checkout-delivery")).context["form"]
    assert form.initial["company_name"] == "Hurt sp. z o.o."
    assert form.initial["tax_id"] == "5260001246"
    assert form.initial["wants_invoice"] is True
    client.logout()
    assert "87,50\xa0zł" not in client.get(reverse("orders:cart")).content.decode()


def test_the_api_checkout_charges_the_member_the_group_price(store, catalog, member, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    cheap, _listed = catalog
    give_stock(cheap, 5)
    shipping = ShippingMethodFactory(
        store=store, code="kurier", price=Decimal("15.00"), kind=ShippingMethod.Kind.COURIER
    )
    online = PaymentMethodFactory(store=store, provider=PaymentMethod.Provider.TEST_GATEWAY)
    _, raw = keys.create_customer_token(store=store, user=member)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    token = api.post("/api/v1/carts/").json()["token"]
    body = api.post(f"/api/v1/carts/{token}/lines/", {"variant_id": cheap.pk, "quantity": 2}).json()
    assert body["totals"]["subtotal"] == "175.00"
    r = api.post(
        f"/api/v1/carts/{token}/checkout/",
        {
            "email": member.email,
            "shipping_method": shipping.pk,
            "payment_method": online.pk,
            "answers": {
                "first_name": "Jan",
                "last_name": "Hurt",
                "phone": "600 100 200",
                "street": "ul. Długa 1",
                "postal_code": "00-950",
                "city": "Warszawa",
            },
            "expected_total": "190.00",
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    assert r.json()["order"]["total"] == "190.00"
    # The same cart without the member's token is a guest's: list prices.
    guest = APIClient()
    token = guest.post("/api/v1/carts/").json()["token"]
    body = guest.post(f"/api/v1/carts/{token}/lines/", {"variant_id": cheap.pk, "quantity": 2}).json()
    assert body["totals"]["subtotal"] == "200.00"


def test_group_admin_refuses_a_bad_nip_and_another_stores_variant(client, store, catalog):
    from tests.shop.factories import SuperuserFactory

    other_variant = VariantFactory(store=StoreFactory(), price=Decimal("10.00"))
    user = UserFactory(email="firma@example.com")
    client.force_login(SuperuserFactory())
    data = {
        "store": store.pk,
        "name": "Hurtownicy",
        "discount_percent": "10",
        "is_active": "on",
        "prices-TOTAL_FORMS": "1",
        "prices-INITIAL_FORMS": "0",
        "prices-0-variant": other_variant.pk,
        "prices-0-price": "5.00",
        "members-TOTAL_FORMS": "1",
        "members-INITIAL_FORMS": "0",
        "members-0-user": user.pk,
        "members-0-tax_id": "123",
    }
    response = client.post(reverse("admin:customers_customergroup_add"), data)
    assert response.status_code == 200
    errors = str(response.context["inline_admin_formsets"][0].formset.errors) + str(
        response.context["inline_admin_formsets"][1].formset.errors
    )
    assert "innego sklepu" in errors or "another store" in errors
    assert "NIP" in errors
    data.update(
        {"prices-0-variant": catalog[0].pk, "members-0-tax_id": "PL 526-000-12-46", "discount_percent": "101"}
    )
    response = client.post(reverse("admin:customers_customergroup_add"), data)
    assert response.status_code == 200  # 101 % is refused
    data["discount_percent"] = "10"
    response = client.post(reverse("admin:customers_customergroup_add"), data)
    assert response.status_code == 302, response.context and response.context["adminform"].errors
    from customers.models import CustomerGroupMember

    assert CustomerGroupMember.objects.get().tax_id == "5260001246"

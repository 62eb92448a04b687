"""Factories and helpers for the orders tests (catalog factories come from tests.catalog)."""

from __future__ import annotations

from decimal import Decimal

import factory

from orders import services
from orders.models import Cart, GiftCard, PaymentMethod, ShippingMethod, ShippingRate, Voucher
from tests.shop.factories import StoreFactory

ADDRESS = {
    "first_name": "Anna",
    "last_name": "Kowalska",
    "phone": "600 100 200",
    "street": "ul. Długa 5/3",
    "postal_code": "00-950",
    "city": "Warszawa",
    "pickup_point": "",
    "wants_invoice": False,
}


class ShippingMethodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShippingMethod
        django_get_or_create = ("store", "code")

    store = factory.SubFactory(StoreFactory)
    name = "Kurier InPost"
    code = factory.Sequence(lambda n: f"kurier-{n}")
    kind = ShippingMethod.Kind.COURIER
    price = Decimal("14.99")
    cash_on_delivery = ShippingMethod.CashOnDelivery.ALLOWED


class ShippingRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShippingRate

    method = factory.SubFactory(ShippingMethodFactory)
    price = Decimal("19.99")


class PaymentMethodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentMethod
        django_get_or_create = ("store", "provider")

    store = factory.SubFactory(StoreFactory)
    name = factory.LazyAttribute(lambda o: dict(PaymentMethod.Provider.choices)[o.provider])
    provider = PaymentMethod.Provider.TEST_GATEWAY


class VoucherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Voucher

    store = factory.SubFactory(StoreFactory)
    code = factory.Sequence(lambda n: f"RABAT{n}")
    kind = Voucher.Kind.PERCENTAGE
    value = Decimal("10")


class GiftCardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GiftCard

    store = factory.SubFactory(StoreFactory)
    code = factory.Sequence(lambda n: f"GIFT{n:012d}")
    initial_balance = Decimal("100.00")
    balance = factory.LazyAttribute(lambda o: o.initial_balance)


def ready_cart(
    store,
    lines,
    *,
    shipping: ShippingMethod | None = None,
    payment: str | None = PaymentMethod.Provider.TEST_GATEWAY,
    email: str = "anna@example.com",
    answers: dict | None = None,
    user=None,
) -> Cart:
    """A cart with ``lines`` [(variant, quantity)] that has been through every checkout step."""
    cart = services.get_or_create_cart(store=store, user=user)
    for variant, quantity in lines:
        services.add_to_cart(cart=cart, variant_id=variant.pk, quantity=quantity)
    services.save_checkout_email(cart=cart, email=email, marketing_consent=False)
    needs_shipping = any(v.product.kind not in ("digital", "gift_card") for v, _ in lines)
    if needs_shipping and shipping is None:
        shipping = ShippingMethodFactory(store=store, code="kurier")
    services.set_checkout_choices(
        cart=cart,
        shipping_method=shipping if needs_shipping else None,
        payment_method=PaymentMethodFactory(store=store, provider=payment) if payment else None,
        answers={**ADDRESS, **(answers or {})},
    )
    cart.refresh_from_db()
    return cart

"""Factories for carrier tests: carrier accounts, carrier-backed shipping methods, and orders
ready to ship (paid, or cash on delivery) with a parcel locker or a courier address."""

from __future__ import annotations

from decimal import Decimal

import factory

from orders.models import CarrierAccount, Order, OrderLine, PaymentMethod, ShippingMethod
from tests.orders.factories import ShippingMethodFactory
from tests.orders.factories_after_sales import OrderFactory


class CarrierAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CarrierAccount
        django_get_or_create = ("store", "carrier")
        skip_postgeneration_save = True

    carrier = "inpost"
    is_sandbox = True
    config = factory.LazyAttribute(
        lambda o: {"organization_id": "1234"} if o.carrier == "inpost" else {"app_id": "123456_abcdef"}
    )
    sender_name = "Jan Nowak"
    sender_company = "Sklep Testowy sp. z o.o."
    sender_email = "wysylki@example.com"
    sender_phone = "+48 500 600 700"
    sender_street = "ul. Magazynowa 12"
    sender_postal_code = "30-001"
    sender_city = "Kraków"

    @factory.post_generation
    def secrets(obj, create, extracted, **kwargs):
        default = (
            {"api_token": "shipx-token"} if obj.carrier == "inpost" else {"app_secret": "apaczka-secret"}
        )
        obj.set_secrets(**(extracted or default))
        if create:
            obj.save()


def locker_method(store, **kwargs) -> ShippingMethod:
    return ShippingMethodFactory(
        store=store,
        code=kwargs.pop("code", "paczkomat"),
        name="Paczkomat InPost",
        kind=ShippingMethod.Kind.PARCEL_LOCKER,
        carrier="inpost",
        parcel_template="small",
        **kwargs,
    )


def courier_method(store, *, carrier: str = "inpost", **kwargs) -> ShippingMethod:
    defaults = {
        "code": f"kurier-{carrier}",
        "name": f"Kurier ({carrier})",
        "kind": ShippingMethod.Kind.COURIER,
        "carrier": carrier,
        "carrier_service": "41" if carrier == "apaczka" else "",
        "parcel_length_mm": 300,
        "parcel_width_mm": 200,
        "parcel_height_mm": 100,
        "parcel_weight_grams": 1500,
    }
    defaults.update(kwargs)
    return ShippingMethodFactory(store=store, **defaults)


def ship_ready_order(store, method: ShippingMethod, *, cod: bool = False, **kwargs) -> Order:
    """A paid order (or a new cash-on-delivery one) of 2 × 61.50 + 15.00 shipping."""
    fields = {
        "store": store,
        "shipping_method": method,
        "shipping_method_name": method.name,
        "pickup_point": "KRA010" if method.kind == ShippingMethod.Kind.PARCEL_LOCKER else "",
        "subtotal": Decimal("123.00"),
        "shipping_total": Decimal("15.00"),
        "total": Decimal("138.00"),
        "total_net": Decimal("112.20"),
    }
    if cod:
        PaymentMethod.objects.get_or_create(
            store=store, provider=PaymentMethod.Provider.CASH_ON_DELIVERY, defaults={"name": "Pobranie"}
        )
        fields.update(
            status=Order.Status.NEW,
            payment_status=Order.PaymentStatus.UNPAID,
            payment_provider=PaymentMethod.Provider.CASH_ON_DELIVERY,
            payment_method_name="Pobranie",
            paid_at=None,
        )
    fields.update(kwargs)
    order = OrderFactory(**fields)
    OrderLine.objects.create(
        order=order,
        product_name="Kubek",
        sku="KUB-1",
        quantity=2,
        unit_price=Decimal("61.50"),
        total=Decimal("123.00"),
        weight_grams=400,
    )
    return order

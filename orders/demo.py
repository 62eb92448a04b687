"""Demo data of the orders app: shipping and payment methods, a welcome voucher and ~60 orders
over the past 90 days in every status, placed through the same services a shopper uses.

Called by ``manage.py seed_demo`` after ``catalog.demo.seed``. Idempotent: methods and the
voucher are found by their codes; the orders are placed together in one transaction (the command
wraps each app's ``seed``), so once any demo order (idempotency key ``demo-000`` ...) exists, the
orders are done and a later run adds nothing, on any day: an order skipped on the first run (the
stock ran out) is not retried later against other stock and another clock. Each order draws its
values from a generator of its own, so it does not depend on which orders came before it.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from catalog.models import Product, Variant
from catalog.stock import availability_map
from shop.models import Store

from . import services
from .models import Cart, Order, OrderEmail, OrderStatusChange, PaymentMethod, ShippingMethod, Voucher

DEMO_ORDERS = 60
SHIPPING = [
    # code, name, kind, price, free from, cash on delivery, days
    ("kurier-inpost", "Kurier InPost", "courier", "14.99", None, "no", (1, 2)),
    ("paczkomat-inpost", "Paczkomat InPost", "parcel_locker", "12.99", "200.00", "no", (1, 2)),
    ("odbior-osobisty", "Odbiór osobisty", "pickup", "0.00", None, "no", (0, 1)),
    ("kurier-pobranie", "Kurier pobranie", "courier", "19.99", None, "only", (1, 3)),
]
PAYMENTS = [
    ("test_gateway", "Płatność online (bramka testowa)", "BLIK, karta, szybki przelew – w bramce testowej."),
    ("bank_transfer", "Przelew tradycyjny", "Wysyłamy po zaksięgowaniu wpłaty."),
    ("cod", "Płatność przy odbiorze", "Płacisz przy odbiorze: kurierowi albo w paczkomacie."),
]
# Target status -> weight. Awaiting-payment orders are recent (their stock hold is still on).
STATUSES = [
    (Order.Status.DELIVERED, 38),
    (Order.Status.SHIPPED, 12),
    (Order.Status.PACKED, 8),
    (Order.Status.PAID, 12),
    (Order.Status.NEW, 7),
    (Order.Status.AWAITING_PAYMENT, 8),
    (Order.Status.CANCELLED, 10),
    (Order.Status.RETURNED, 5),
]
NAMES = [
    ("Anna", "Nowak"),
    ("Piotr", "Kowalski"),
    ("Katarzyna", "Wiśniewska"),
    ("Tomasz", "Wójcik"),
    ("Magdalena", "Kamińska"),
    ("Michał", "Lewandowski"),
    ("Agnieszka", "Zielińska"),
    ("Krzysztof", "Szymański"),
    ("Joanna", "Woźniak"),
    ("Paweł", "Dąbrowski"),
]
CITIES = [
    ("Warszawa", "00-950"),
    ("Kraków", "30-001"),
    ("Poznań", "60-101"),
    ("Gdańsk", "80-001"),
    ("Wrocław", "50-001"),
]
LOCKERS = ["WAW01M", "KRA12A", "POZ08APP", "GDA33M", "WRO05N"]


def seed(*, store: Store, rng: random.Random) -> None:
    shipping = _shipping_methods(store)
    payments = _payment_methods(store)
    _welcome_voucher(store)
    _orders(store, rng, shipping, payments)


def _shipping_methods(store: Store) -> dict[str, ShippingMethod]:
    methods = {}
    for position, (code, name, kind, price, free_from, cod, (days_min, days_max)) in enumerate(SHIPPING):
        method, _ = ShippingMethod.objects.get_or_create(
            store=store,
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "price": Decimal(price),
                "free_shipping_threshold": Decimal(free_from) if free_from else None,
                "cash_on_delivery": cod,
                "delivery_days_min": days_min,
                "delivery_days_max": days_max,
                "position": position,
                "tracking_url": "https://inpost.pl/sledzenie-przesylek?number={number}"
                if "inpost" in code
                else "",
            },
        )
        methods[code] = method
    return methods


def _payment_methods(store: Store) -> dict[str, PaymentMethod]:
    methods = {}
    for position, (provider, name, description) in enumerate(PAYMENTS):
        method, _ = PaymentMethod.objects.get_or_create(
            store=store,
            provider=provider,
            defaults={"name": name, "description": description, "position": position},
        )
        methods[provider] = method
    return methods


def _welcome_voucher(store: Store) -> Voucher:
    voucher, _ = Voucher.objects.get_or_create(
        store=store,
        code="WITAJ10",
        defaults={
            "name": "Rabat powitalny 10%",
            "kind": Voucher.Kind.PERCENTAGE,
            "value": Decimal("10"),
            "min_basket": Decimal("100.00"),
            "usage_limit_per_customer": 1,
            "source": "demo",
        },
    )
    return voucher


def _orders(store: Store, rng: random.Random, shipping, payments) -> None:
    base = rng.getrandbits(64)
    keys = [f"demo-{i:03d}" for i in range(DEMO_ORDERS)]
    if Order.objects.filter(store=store, idempotency_key__in=keys).exists():
        return
    variants = list(
        Variant.objects.filter(store=store, is_active=True, product__is_published=True)
        .exclude(product__kind=Product.Kind.GIFT_CARD)
        .select_related("product")
        .order_by("pk")
    )
    if not variants:
        return
    now = timezone.now()
    statuses = [s for s, _ in STATUSES]
    weights = [w for _, w in STATUSES]
    for key in keys:
        index = int(key.rsplit("-", 1)[1])
        own = random.Random(f"{base}:{key}")  # one generator per order
        target = own.choices(statuses, weights)[0]
        recent = target in (Order.Status.AWAITING_PAYMENT, Order.Status.NEW)
        placed_at = now - timedelta(
            days=own.uniform(0, 2) if recent else own.uniform(3, 90), minutes=own.randint(0, 600)
        )
        provider = _provider_for(target, own)
        method = (
            shipping["kurier-pobranie"]
            if provider == "cod"
            else shipping[own.choice(["kurier-inpost", "paczkomat-inpost", "odbior-osobisty"])]
        )
        available = availability_map(variants)
        sellable = [v for v in variants if available[v.pk].sellable and available[v.pk].available >= 2]
        if provider == "cod":
            # Cash on delivery needs a parcel: never an e-book-only basket.
            sellable = [v for v in sellable if v.product.kind != Product.Kind.DIGITAL]
        if not sellable:
            continue
        picked = own.sample(sellable, k=min(len(sellable), own.choice([1, 1, 2, 3])))
        try:
            _place(store, own, key, index, picked, method, payments[provider], placed_at, target)
        except services.OrdersError:
            continue  # e.g. the stock ran out meanwhile: the demo just has one order fewer


@transaction.atomic
def _place(store, rng, key, index, picked, method, payment, placed_at, target) -> Order:
    first, last = NAMES[index % len(NAMES)]
    city, postal = CITIES[index % len(CITIES)]
    email = f"{first.lower()}.{last.lower()}{index}@example.com".translate(
        str.maketrans("ąćęłńóśźż", "acelnoszz")
    )
    cart = Cart.objects.create(store=store, language=store.default_language)
    for variant in picked:
        services.add_to_cart(cart=cart, variant_id=variant.pk, quantity=rng.choice([1, 1, 2]))
    services.save_checkout_email(cart=cart, email=email, marketing_consent=rng.random() < 0.4)
    services.set_checkout_choices(
        cart=cart,
        shipping_method=method,
        payment_method=payment,
        answers={
            "first_name": first,
            "last_name": last,
            "phone": f"600 {100 + index:03d} {200 + index:03d}",
            "street": f"ul. Lipowa {index + 1}",
            "postal_code": postal,
            "city": city,
            "pickup_point": rng.choice(LOCKERS) if method.needs_pickup_point else "",
            "wants_invoice": False,
        },
    )
    Cart.objects.filter(pk=cart.pk).update(checkout_token=key)
    cart.refresh_from_db()
    order = services.place_order(cart=cart, checkout_token=key, placed_at=placed_at)
    for status in _path_to(order, target):
        if status == Order.Status.SHIPPED:
            Order.objects.filter(pk=order.pk).update(
                tracking_number=f"6200{index:05d}{rng.randint(1000, 9999)}"
            )
        services.change_status(order=order, status=status, note="demo")
    # Spread the history over the days after the order was placed, and do not mail demo shoppers.
    step = timedelta(hours=rng.randint(6, 30))
    for n, change in enumerate(OrderStatusChange.objects.filter(order=order).order_by("pk")):
        OrderStatusChange.objects.filter(pk=change.pk).update(created_at=placed_at + n * step)
    changes = dict(OrderStatusChange.objects.filter(order=order).values_list("to_status", "created_at"))
    Order.objects.filter(pk=order.pk).update(
        paid_at=changes.get(Order.Status.PAID) or (order.paid_at and changes.get(Order.Status.DELIVERED)),
        shipped_at=changes.get(Order.Status.SHIPPED),
        delivered_at=changes.get(Order.Status.DELIVERED),
        cancelled_at=changes.get(Order.Status.CANCELLED),
    )
    OrderEmail.objects.filter(order=order, sent_at__isnull=True).update(
        sent_at=placed_at, created_at=placed_at
    )
    Cart.objects.filter(pk=cart.pk).update(
        created_at=placed_at, last_activity_at=placed_at, ordered_at=placed_at
    )
    return order


def _provider_for(target: str, rng: random.Random) -> str:
    if target == Order.Status.NEW:
        return "cod"
    if target == Order.Status.AWAITING_PAYMENT:
        return rng.choice(["bank_transfer", "test_gateway"])
    return rng.choice(["test_gateway", "test_gateway", "bank_transfer", "cod"])


def _path_to(order: Order, target: str) -> list[str]:
    S = Order.Status
    cod = order.payment_provider == "cod"
    if target in (S.NEW, S.AWAITING_PAYMENT):
        return []
    if target == S.CANCELLED:
        return [S.CANCELLED]
    paid = [] if cod else [S.PAID]
    full = [*paid, S.PACKED, S.SHIPPED, S.DELIVERED]
    if target == S.RETURNED:
        return [*full, S.RETURNED]
    if target == S.PAID and cod:
        return [S.PACKED]
    return full[: full.index(target) + 1]

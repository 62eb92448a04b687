from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Product, StockItem, Variant
from recovery import services
from recovery.models import TrackedCart
from recovery.personalise import build_context
from tests.recovery.factories import make_cart, make_order, make_variant

pytestmark = pytest.mark.django_db


def context_for(cart):
    services.detect_abandoned()
    tracked = TrackedCart.objects.get(cart=cart)
    reminder = tracked.reminders.first()
    return build_context(cart=cart, tracked=tracked, reminder=reminder)


def test_current_prices_and_price_drop_since_abandonment(store):
    variant = make_variant(store, price="100.00")
    cart = make_cart(store, variants=[variant])
    services.detect_abandoned()
    Variant.objects.filter(pk=variant.pk).update(price=Decimal("80.00"))
    tracked = TrackedCart.objects.get(cart=cart)
    ctx = build_context(cart=cart, tracked=tracked, reminder=tracked.reminders.first())
    line = ctx["lines"][0]
    assert line["unit_price"] == Decimal("80.00")
    assert line["price_when_abandoned"] == Decimal("100.00")
    assert line["price_dropped"] and line["price_drop"] == Decimal("20.00")
    assert ctx["has_price_drop"] and ctx["cart_total"] == Decimal("80.00")


def test_sold_out_items_are_flagged_and_excluded_from_the_total(store):
    sold_out = make_variant(store, price="50.00", stock=0)
    fine = make_variant(store, price="20.00", stock=100)
    cart = make_cart(store, variants=[sold_out, fine])
    ctx = context_for(cart)
    assert [line["sold_out"] for line in ctx["lines"]] == [True, False]
    assert ctx["has_sold_out"] and not ctx["all_sold_out"]
    assert ctx["cart_total"] == Decimal("20.00")


def test_urgency_only_when_few_units_really_remain(store, settings):
    settings.RECOVERY_URGENCY_MAX_UNITS = 2
    scarce = make_variant(store, stock=2)
    plenty = make_variant(store, stock=50)
    untracked = make_variant(store, stock=0, track_stock=False)
    cart = make_cart(store, variants=[scarce, plenty, untracked])
    ctx = context_for(cart)
    assert [line["units_left"] for line in ctx["lines"]] == [2, None, None]
    StockItem.objects.filter(variant=scarce).update(quantity=30)
    ctx = build_context(cart=cart, tracked=TrackedCart.objects.get(cart=cart))
    assert ctx["lines"][0]["units_left"] is None


def _order_with(store, variant, *, email, days_ago, paid, status="new", payment_status=None):
    from orders.models import Order, OrderLine

    at = timezone.now() - timedelta(days=days_ago)
    order = make_order(store, email=email, created_at=at, status=status)
    if paid:
        Order.objects.filter(pk=order.pk).update(
            paid_at=at, payment_status=payment_status or Order.PaymentStatus.PAID
        )
    OrderLine.objects.create(
        order=order, variant=variant, product_name="x", sku="x", quantity=1, unit_price=1, total=1
    )
    return order


def test_social_proof_only_from_real_recent_orders(store, settings):
    settings.RECOVERY_SOCIAL_PROOF_MIN = 2
    variant = make_variant(store)
    cart = make_cart(store, variants=[variant])
    assert context_for(cart)["social_proof"] is None
    for i, days in enumerate((1, 2, 30)):
        _order_with(store, variant, email=f"b{i}@example.com", days_ago=days, paid=True, status="paid")
    ctx = build_context(cart=cart, tracked=TrackedCart.objects.get(cart=cart))
    assert ctx["social_proof"] == {"count": 2, "product_name": variant.product.name}


def test_social_proof_counts_only_paid_orders(store, settings):
    """Unpaid, cancelled and returned orders are no proof that anybody bought the product."""
    settings.RECOVERY_SOCIAL_PROOF_MIN = 2
    variant = make_variant(store)
    cart = make_cart(store, variants=[variant])
    services.detect_abandoned()
    _order_with(store, variant, email="unpaid1@example.com", days_ago=1, paid=False)
    _order_with(
        store, variant, email="unpaid2@example.com", days_ago=1, paid=False, status="awaiting_payment"
    )
    _order_with(store, variant, email="cancelled@example.com", days_ago=1, paid=True, status="cancelled")
    _order_with(store, variant, email="returned@example.com", days_ago=1, paid=True, status="returned")
    _order_with(
        store, variant, email="refunded@example.com", days_ago=1, paid=True, payment_status="refunded"
    )
    _order_with(store, variant, email="paid@example.com", days_ago=1, paid=True, status="paid")
    tracked = TrackedCart.objects.get(cart=cart)
    assert build_context(cart=cart, tracked=tracked)["social_proof"] is None
    _order_with(
        store,
        variant,
        email="partial@example.com",
        days_ago=2,
        paid=True,
        payment_status="partially_refunded",
    )
    ctx = build_context(cart=cart, tracked=tracked)
    assert ctx["social_proof"] == {"count": 2, "product_name": variant.product.name}


def test_recommendations_are_the_products_recommended_products(store):
    variant = make_variant(store)
    other = make_variant(store)
    Product.objects.filter(pk=other.product_id).update(is_published=True)
    variant.product.recommended.add(other.product)
    cart = make_cart(store, variants=[variant])
    ctx = context_for(cart)
    assert [r["name"] for r in ctx["recommendations"]] == [other.product.name]
    assert "/r/c/" in ctx["recommendations"][0]["url"]


def test_name_and_links(store):
    cart = make_cart(store, first_name="Zofia")
    ctx = context_for(cart)
    assert ctx["first_name"] == "Zofia" and ctx["greeting_name"] == "Zofia"
    assert "/r/restore/" in ctx["restore_url"] and "/r/u/" in ctx["unsubscribe_url"]

"""The message context, built at SEND time from the cart as it is now.

Current prices (a drop since abandonment is flagged), availability (sold-out lines are flagged and
listed apart), honest urgency (``units_left`` only when few units really remain), recommended
products, and social proof counted from real orders -- never invented.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Product, ProductImage
from catalog.stock import availability_map
from orders.models import Cart, Order, OrderLine
from shop.money import format_money

from . import carts, templating, tokens


def _product_path(product: Product) -> str:
    try:
        return product.get_absolute_url()
    except NoReverseMatch:
        return "/"


def _image_urls(store, products: list[Product]) -> dict[int, str]:
    urls: dict[int, str] = {}
    for image in ProductImage.objects.filter(product__in=products).order_by("product_id", "position", "pk"):
        if image.product_id not in urls and image.image:
            url = image.image.url
            urls[image.product_id] = url if url.startswith("http") else store.absolute_url(url)
    return urls


def coupon_label(voucher, currency: str) -> str:
    if voucher.kind == "percentage":
        return f"-{voucher.value.normalize():f}%"
    if voucher.kind == "fixed":
        return f"-{format_money(voucher.value, currency)}"
    return _("free shipping")


def tracked_url(store, reminder_id: int | None, path: str) -> str:
    if reminder_id is None:
        return store.absolute_url(path)
    return store.absolute_url(
        reverse("recovery:click", args=[tokens.click_token(reminder_id=reminder_id, path=path)])
    )


def build_context(*, cart: Cart, tracked=None, reminder=None, voucher=None, step_position: int = 1) -> dict:
    store = cart.store
    reminder_id = reminder.pk if reminder is not None else None
    lines = carts.lines_of(cart)
    variants = [line.variant for line in lines]
    availability = availability_map(variants) if variants else {}
    snapshot = {
        int(item["variant"]): Decimal(item["price"]) for item in (tracked.snapshot if tracked else [])
    }
    products = list({v.product_id: v.product for v in variants}.values())
    images = _image_urls(store, products)
    context_lines = []
    for line in lines:
        variant = line.variant
        product = variant.product
        avail = availability.get(variant.pk)
        sellable = bool(avail and avail.sellable) and variant.is_active and product.is_published
        before = snapshot.get(variant.pk, line.price_when_added)
        now_price = variant.price
        units_left = None
        if (
            sellable
            and avail is not None
            and variant.track_stock
            and avail.status in ("in_stock", "low_stock")
            and 0 < avail.available <= settings.RECOVERY_URGENCY_MAX_UNITS
        ):
            units_left = avail.available
        context_lines.append(
            {
                "name": product.name,
                "variant_name": variant.name,
                "quantity": line.quantity,
                "image_url": images.get(product.pk, ""),
                "url": tracked_url(store, reminder_id, _product_path(product)),
                "unit_price": now_price,
                "price_when_abandoned": before,
                "price_dropped": now_price < before,
                "price_drop": max(Decimal("0"), before - now_price),
                "line_total": now_price * line.quantity,
                "available": sellable,
                "sold_out": not sellable,
                "units_left": units_left,
            }
        )
    available_lines = [line for line in context_lines if line["available"]]
    sold_out_lines = [line for line in context_lines if line["sold_out"]]
    since = timezone.now() - timedelta(days=settings.RECOVERY_SOCIAL_PROOF_DAYS)
    social_proof = None
    if products:
        best = (
            # Only orders really paid (and neither cancelled nor returned since) are "bought":
            # an order waiting for a payment that never comes is no proof of anything.
            OrderLine.objects.filter(
                variant__product__in=products,
                order__store=store,
                order__paid_at__gte=since,
                order__payment_status__in=[Order.PaymentStatus.PAID, Order.PaymentStatus.PARTIALLY_REFUNDED],
            )
            .exclude(order__status__in=[Order.Status.CANCELLED, Order.Status.RETURNED])
            .values("variant__product_id")
            .annotate(n=Count("order", distinct=True))
            .order_by("-n")
            .first()
        )
        if best and best["n"] >= settings.RECOVERY_SOCIAL_PROOF_MIN:
            name = next(p.name for p in products if p.pk == best["variant__product_id"])
            social_proof = {"count": best["n"], "product_name": name}
    recommendations = []
    if products and settings.RECOVERY_RECOMMENDATIONS:
        in_cart = {p.pk for p in products}
        recommended = (
            Product.objects.filter(recommended_by__in=products, is_published=True, store=store)
            .exclude(pk__in=in_cart)
            .distinct()[: settings.RECOVERY_RECOMMENDATIONS]
        )
        recommended = list(recommended)
        rec_images = _image_urls(store, recommended)
        recommendations = [
            {
                "name": p.name,
                "url": tracked_url(store, reminder_id, _product_path(p)),
                "image_url": rec_images.get(p.pk, ""),
                "price": p.min_price,
            }
            for p in recommended
        ]
    first_name = carts.shopper_first_name(cart)
    restore_url = ""
    if tracked is not None:
        restore_url = store.absolute_url(
            reverse(
                "recovery:restore",
                args=[tokens.restore_token(tracked_id=tracked.pk, cart_id=cart.pk, reminder_id=reminder_id)],
            )
        )
    email = (tracked.email if tracked else "") or carts.shopper_email(cart)
    unsubscribe_url = (
        store.absolute_url(
            reverse("recovery:unsubscribe", args=[tokens.unsubscribe_token(store_id=store.pk, email=email)])
        )
        if email
        else ""
    )
    coupon = None
    if voucher is not None:
        coupon = {
            "code": voucher.code,
            "label": coupon_label(voucher, store.currency),
            "expires_at": voucher.valid_until,
        }
    return {
        "store": {"name": store.name, "url": store.absolute_url("/")},
        "first_name": first_name,
        "greeting": templating.greeting(first_name),
        "greeting_name": templating.greeting_name(first_name),
        "lines": context_lines,
        "available_lines": available_lines,
        "sold_out_lines": sold_out_lines,
        "has_sold_out": bool(sold_out_lines),
        "all_sold_out": bool(context_lines) and not available_lines,
        "has_price_drop": any(line["price_dropped"] for line in context_lines),
        "cart_total": sum((line["line_total"] for line in available_lines), Decimal("0")),
        "currency": store.currency,
        "coupon": coupon,
        "recommendations": recommendations,
        "social_proof": social_proof,
        "restore_url": restore_url,
        "unsubscribe_url": unsubscribe_url,
        "step_position": step_position,
    }

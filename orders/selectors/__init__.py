"""Read queries shaped for the orders pages: a constant number of queries for 1 or 100 lines."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from catalog.models import Product, ProductImage
from catalog.stock import availability_map
from shop.money import format_money

from ..models import Cart, CartLine, Order, PaymentMethod, ShippingMethod
from ..services.checkout import LoadedCart, load_for_checkout

CART_SESSION_KEY = "cart_token"


@dataclass(frozen=True)
class MiniCart:
    quantity: int = 0
    lines: int = 0


def mini_cart_summary(request) -> MiniCart:
    """Items in the shopper's cart for the header: one query, none without a cart."""
    store = getattr(request, "store", None)
    if store is None:
        return MiniCart()
    user = getattr(request, "user", None)
    lines = CartLine.objects.filter(cart__store=store, cart__status=Cart.Status.OPEN)
    if user is not None and user.is_authenticated:
        lines = lines.filter(cart__user=user)
    else:
        token = request.session.get(CART_SESSION_KEY) if hasattr(request, "session") else None
        if not token:
            return MiniCart()
        lines = lines.filter(cart__token=token, cart__user__isnull=True)
    agg = lines.aggregate(quantity=Sum("quantity"), lines=Count("id"))
    return MiniCart(quantity=agg["quantity"] or 0, lines=agg["lines"] or 0)


def cart_for_request(request) -> Cart | None:
    """The shopper's open cart (with the rows the pages show) or None; never creates one."""
    store = request.store
    qs = Cart.objects.select_related(
        "store", "voucher", "gift_card", "payment_method", "shipping_method", "user"
    )
    if request.user.is_authenticated:
        return qs.filter(store=store, user=request.user, status=Cart.Status.OPEN).first()
    token = request.session.get(CART_SESSION_KEY)
    if not token:
        return None
    return qs.filter(store=store, token=token, user__isnull=True, status=Cart.Status.OPEN).first()


@dataclass
class CartRow:
    line: CartLine
    priced: object
    availability: object
    image: ProductImage | None
    notices: list[str] = field(default_factory=list)


@dataclass
class CartPage:
    cart: Cart | None
    loaded: LoadedCart | None
    rows: list[CartRow]
    shipping_methods: list[ShippingMethod]
    recommended: list[Product]

    @property
    def basket(self):
        return self.loaded.basket if self.loaded else None

    @property
    def has_blocking_notice(self) -> bool:
        return any(
            not r.availability.sellable or r.line.quantity > r.availability.available for r in self.rows
        )


def _images_prefetch():
    return Prefetch("variant__product__images", queryset=ProductImage.objects.order_by("position", "pk"))


def cart_page(cart: Cart | None, *, user=None, with_recommendations: bool = True) -> CartPage:
    """Everything the cart page shows: lines with live prices and notices ("price changed",
    "only N left", "no longer available"), shipping costs, the free-shipping threshold and
    recommendations. About 8 queries whatever the number of lines."""
    if cart is None:
        return CartPage(None, None, [], [], [])
    methods = list(
        ShippingMethod.objects.filter(store_id=cart.store_id, is_active=True).prefetch_related("rates")
    )
    loaded = load_for_checkout(cart, user=user)
    # Re-price against every method for the cost table (no queries: rates are prefetched).
    from ..pricing import shipping_options

    loaded.basket.shipping_options = shipping_options(
        methods,
        goods_value=loaded.basket.goods_value,
        weight_grams=loaded.basket.weight_grams,
        currency=cart.store.currency,
    )
    lines = loaded.lines
    images: dict[int, ProductImage] = {}
    product_ids = {line.variant.product_id for line in lines}
    if product_ids:
        for image in ProductImage.objects.filter(product_id__in=product_ids).order_by("position", "pk"):
            images.setdefault(image.product_id, image)
    avail = availability_map([line.variant for line in lines])
    rows = []
    currency = cart.store.currency
    for line, priced in zip(lines, loaded.basket.lines, strict=True):
        v = line.variant
        a = avail[v.pk]
        notices = []
        if not v.is_active or not v.product.is_published:
            notices.append(_("No longer available – please remove it."))
        elif v.product.kind != Product.Kind.GIFT_CARD:
            if not a.sellable:
                notices.append(_("Sold out – please remove it."))
            elif (a.status != "backorder" and line.quantity > a.available) or a.status == "low_stock":
                notices.append(_("Only %(n)d left.") % {"n": a.available})
        if line.price_when_added != v.price:
            notices.append(
                _("The price changed from %(old)s to %(new)s.")
                % {
                    "old": format_money(line.price_when_added, currency),
                    "new": format_money(v.price, currency),
                }
            )
        if v.is_preorder and v.release_date:
            notices.append(
                _("Pre-order: ships on %(date)s.") % {"date": date_format(v.release_date, "j E Y")}
            )
        rows.append(CartRow(line, priced, a, images.get(v.product_id), notices))
    recommended: list[Product] = []
    if with_recommendations and product_ids:
        recommended = list(
            Product.objects.filter(recommended_by__in=product_ids, is_published=True, store_id=cart.store_id)
            .exclude(pk__in=product_ids)
            .distinct()
            .order_by("-popularity", "pk")[:4]
        )
    return CartPage(cart, loaded, rows, methods, recommended)


def available_payment_methods(store, shipping_method: ShippingMethod | None = None) -> list[PaymentMethod]:
    from ..payments.base import disabled_providers

    methods = list(
        PaymentMethod.objects.filter(store=store, is_active=True).exclude(provider__in=disabled_providers())
    )
    if shipping_method is None:
        return [m for m in methods if not m.is_cash_on_delivery]
    if shipping_method.cash_on_delivery == ShippingMethod.CashOnDelivery.NO:
        return [m for m in methods if not m.is_cash_on_delivery]
    if shipping_method.cash_on_delivery == ShippingMethod.CashOnDelivery.ONLY:
        return [m for m in methods if m.is_cash_on_delivery]
    return methods


def order_for_token(*, store, token: str) -> Order | None:
    """The order a guest's status link names (404 for any other token: no enumeration)."""
    if not token or len(token) > 64:
        return None
    return (
        Order.objects.select_related("store", "shipping_address", "billing_address", "shipping_method")
        .prefetch_related("lines", "payments", "status_changes")
        .filter(store=store, token=token)
        .first()
    )


def order_page(order: Order) -> dict:
    from ..services.payments import open_payment

    payment = open_payment(order) if order.status == Order.Status.AWAITING_PAYMENT else None
    instructions = ""
    if payment is not None and payment.provider in ("bank_transfer",):
        from ..payments import get_provider

        instructions = get_provider(payment.provider).start(payment).instructions
    elif order.payment_provider == "cod" and order.payment_status == Order.PaymentStatus.UNPAID:
        from ..payments import cod

        instructions = cod.instructions(order.amount_due, order.currency)
    from ..services.payments import is_online

    online_payment = order.status == Order.Status.AWAITING_PAYMENT and is_online(order.payment_provider)
    last_failed = None
    if online_payment:
        attempts = sorted(order.payments.all(), key=lambda p: p.pk)
        online = [p for p in attempts if p.provider == order.payment_provider]
        if online and online[-1].status in ("failed", "cancelled"):
            last_failed = online[-1]
    hold_left = None
    if order.status == Order.Status.AWAITING_PAYMENT and order.reservation_expires_at:
        hold_left = max(0, int((order.reservation_expires_at - timezone.now()).total_seconds() // 60))
    return {
        "order": order,
        "online_payment": online_payment,
        "lines": list(order.lines.all()),
        "payment": payment,
        "instructions": instructions,
        "last_failed": last_failed,
        "hold_minutes_left": hold_left,
        "history": list(order.status_changes.all()),
    }

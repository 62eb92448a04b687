"""Reads for the marketing tags: a store's tag configuration (cached), the shopper's consent from
the first-party cookie, and the e-commerce events built from objects the pages already loaded.

Money stays ``Decimal`` until the JSON boundary: analytics endpoints want JSON numbers, so
``_num`` turns a rounded Decimal into one only when an event is built.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from shop.money import round_money

from .models import MarketingSettings, PurchaseReport, settings_cache_key

log = logging.getLogger(__name__)
CENT = Decimal("0.01")
DISABLED = {"enabled": False}


def _num(value) -> float:
    return float(round_money(value or 0))


# --- configuration --------------------------------------------------------------------------------


def consent_version(revision: int) -> str:
    return f"{settings.MARKETING_CONSENT_VERSION}.{revision}"


def public_config(tags: MarketingSettings) -> dict:
    """What the browser needs: ids of the switched-on tags only, and the cookie rules."""
    config = {
        "enabled": tags.any_enabled,
        "version": consent_version(tags.consent_revision),
        "cookie": settings.MARKETING_CONSENT_COOKIE,
        "maxAgeDays": settings.MARKETING_CONSENT_MAX_AGE_DAYS,
        "waitForUpdate": settings.MARKETING_CONSENT_WAIT_FOR_UPDATE_MS,
        "currency": tags.store.currency if tags.store_id else "PLN",
        "privacyUrl": tags.privacy_policy_url,
        "logUrl": reverse("marketing:consent-log"),
        "ga4": tags.ga4_measurement_id if tags.ga4_enabled else "",
        "ads": tags.google_ads_conversion_id if tags.google_ads_enabled else "",
        "adsPurchaseLabel": tags.google_ads_purchase_label if tags.google_ads_enabled else "",
        "pixel": tags.meta_pixel_id if tags.meta_pixel_enabled else "",
        "trustedShops": tags.trusted_shops_id if tags.review_widget_enabled else "",
        "widgetUrl": tags.review_widget_url if tags.review_widget_enabled else "",
    }
    return config


def tag_config(store) -> dict:
    """The store's public tag configuration; cached, so a page costs no query for it."""
    if store is None or not getattr(store, "pk", None):
        return DISABLED
    key = settings_cache_key(store.pk)
    try:
        config = cache.get(key)
    except Exception:  # the cache is down: the database still answers (one query per page)
        log.warning("Cache unavailable: reading the marketing tags of store %s from the database", store.pk)
        config, key = None, None
    if config is None:
        tags = MarketingSettings.objects.filter(store_id=store.pk).first()
        if tags is not None:
            tags.store = store
        config = public_config(tags) if tags is not None and tags.any_enabled else DISABLED
        if key is not None:
            try:
                cache.set(key, config, settings.MARKETING_SETTINGS_CACHE_SECONDS)
            except Exception:
                log.warning("Could not cache the marketing tags of store %s", store.pk)
    return config


def request_config(request) -> dict:
    """``tag_config`` memoised on the request (templates ask for it several times)."""
    config = getattr(request, "_marketing_config", None)
    if config is None:
        config = tag_config(getattr(request, "store", None))
        request._marketing_config = config
    return config


# --- consent --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Consent:
    decided: bool = False
    analytics: bool = False
    marketing: bool = False

    @property
    def any_granted(self) -> bool:
        return self.analytics or self.marketing


def consent_from_request(request, config: dict | None = None) -> Consent:
    """The shopper's choice from the consent cookie; anything malformed, expired or written for
    another banner version counts as "not decided yet" (the banner asks again)."""
    config = config or request_config(request)
    if not config.get("enabled"):
        return Consent()
    raw = request.COOKIES.get(config["cookie"], "")
    if not raw or len(raw) > 200:
        return Consent()
    try:
        values = parse_qs(raw, strict_parsing=True, max_num_fields=8)
    except ValueError:
        return Consent()
    one = {k: v[0] for k, v in values.items() if len(v) == 1}
    if one.get("v") != config["version"] or one.get("a") not in ("0", "1") or one.get("m") not in ("0", "1"):
        return Consent()
    return Consent(decided=True, analytics=one["a"] == "1", marketing=one["m"] == "1")


# --- events ---------------------------------------------------------------------------------------


def _categories(names: list[str]) -> dict:
    """GA4's item_category, item_category2 ... item_category5 from a category path."""
    result = {}
    for i, name in enumerate([n for n in names if n][:5]):
        result["item_category" if i == 0 else f"item_category{i + 1}"] = name
    return result


def _item(*, sku, name, variant_name="", brand="", categories=(), price, quantity=1, discount=None) -> dict:
    item = {"item_id": sku, "item_name": name, "price": _num(price), "quantity": int(quantity)}
    if variant_name:
        item["item_variant"] = variant_name
    if brand:
        item["item_brand"] = brand
    item.update(_categories(list(categories)))
    if discount:
        item["discount"] = _num(discount)
    return item


def _meta_contents(items: list[dict]) -> dict:
    return {
        "content_ids": [i["item_id"] for i in items],
        "contents": [{"id": i["item_id"], "quantity": i["quantity"]} for i in items],
        "content_type": "product",
        "num_items": sum(i["quantity"] for i in items),
    }


def _limit(items: list[dict]) -> list[dict]:
    return items[: settings.MARKETING_MAX_EVENT_ITEMS]


def view_item_event(*, product, variant, breadcrumbs, currency: str) -> dict:
    """The product page: which variant the shopper looks at, at its current price."""
    item = _item(
        sku=variant.sku,
        name=product.name,
        variant_name=variant.name,
        brand=product.brand,
        categories=[getattr(node, "name", "") for node in breadcrumbs or []],
        price=variant.price,
    )
    value = _num(variant.price)
    return {
        "ga": ["view_item", {"currency": currency, "value": value, "items": [item]}],
        "meta": [
            "ViewContent",
            {
                "content_ids": [variant.sku],
                "content_type": "product",
                "content_name": product.name,
                "value": value,
                "currency": currency,
            },
        ],
    }


def category_path(request, product) -> list:
    """The product's category and its ancestors from the catalog's cached tree (no query; the
    product page's cached body does not hand its breadcrumbs to the surrounding template)."""
    if not product.category_id or getattr(request, "store", None) is None:
        return []
    from catalog.selectors import category_tree

    tree = getattr(request, "_catalog_tree", None) or category_tree(request.store)
    node = tree.by_id.get(product.category_id)
    return [*tree.ancestors(node), node] if node is not None else []


def category_names(product_category_ids: set[int]) -> dict[int, str]:
    """Category names by id in one query (cart, checkout and order lines carry only the id)."""
    from catalog.models import Category

    ids = {i for i in product_category_ids if i}
    if not ids:
        return {}
    return dict(Category.objects.filter(pk__in=ids).values_list("pk", "name"))


def _variant_item(variant, quantity: int, names: dict[int, str], price=None) -> dict:
    product = variant.product
    return _item(
        sku=variant.sku,
        name=product.name,
        variant_name=variant.name,
        brand=product.brand,
        categories=[names.get(product.category_id, "")],
        price=variant.price if price is None else price,
        quantity=quantity,
    )


def cart_change_events(changes: list[tuple], *, currency: str) -> list[dict]:
    """add_to_cart / remove_from_cart from (variant with product loaded, quantity delta) pairs."""
    names = category_names({v.product.category_id for v, _ in changes})
    added = [(v, d) for v, d in changes if d > 0]
    removed = [(v, -d) for v, d in changes if d < 0]
    events = []
    if added:
        items = _limit([_variant_item(v, q, names) for v, q in added])
        value = _num(sum((Decimal(v.price) * q for v, q in added), Decimal(0)))
        events.append(
            {
                "ga": ["add_to_cart", {"currency": currency, "value": value, "items": items}],
                "meta": ["AddToCart", {**_meta_contents(items), "value": value, "currency": currency}],
            }
        )
    if removed:
        items = _limit([_variant_item(v, q, names) for v, q in removed])
        value = _num(sum((Decimal(v.price) * q for v, q in removed), Decimal(0)))
        events.append({"ga": ["remove_from_cart", {"currency": currency, "value": value, "items": items}]})
    return events


def _basket_items(basket) -> list[dict]:
    names = category_names({p.variant.product.category_id for p in basket.lines})
    items = []
    for priced in basket.lines:
        per_unit_discount = (priced.discount / priced.quantity) if priced.quantity else 0
        item = _variant_item(priced.variant, priced.quantity, names, price=priced.unit_price)
        if per_unit_discount:
            item["price"] = _num(priced.unit_price - per_unit_discount)
            item["discount"] = _num(per_unit_discount)
        items.append(item)
    return _limit(items)


def view_cart_event(basket) -> dict | None:
    if basket is None or not basket.lines:
        return None
    value = _num(basket.subtotal - basket.discount)
    return {
        "ga": ["view_cart", {"currency": basket.currency, "value": value, "items": _basket_items(basket)}]
    }


def begin_checkout_event(basket) -> dict | None:
    """The first checkout step: what the cart is worth now (goods after discounts)."""
    if basket is None or not basket.lines:
        return None
    items = _basket_items(basket)
    value = _num(basket.subtotal - basket.discount)
    params = {"currency": basket.currency, "value": value, "items": items}
    if basket.voucher is not None:
        params["coupon"] = basket.voucher.code
    return {
        "ga": ["begin_checkout", params],
        "meta": ["InitiateCheckout", {**_meta_contents(items), "value": value, "currency": basket.currency}],
    }


def purchase_event(order, lines) -> dict:
    """The thank-you page: the order exactly as placed (number, total, VAT, shipping, lines)."""
    from catalog.models import Variant

    variant_ids = {line.variant_id for line in lines if line.variant_id}
    info = {}
    if variant_ids:
        rows = Variant.objects.filter(pk__in=variant_ids).values_list(
            "pk", "product__brand", "product__category__name"
        )
        info = {pk: (brand, category) for pk, brand, category in rows}
    items = []
    for line in lines:
        brand, category = info.get(line.variant_id, ("", ""))
        per_unit_discount = (line.discount / line.quantity) if line.quantity else 0
        items.append(
            _item(
                sku=line.sku,
                name=line.product_name,
                variant_name=line.variant_name,
                brand=brand or "",
                categories=[category or ""],
                price=line.unit_price - per_unit_discount,
                quantity=line.quantity,
                discount=per_unit_discount,
            )
        )
    items = _limit(items)
    value = _num(order.total)
    params = {
        "transaction_id": order.number,
        "currency": order.currency,
        "value": value,
        "tax": _num(order.total - order.total_net),
        "shipping": _num(order.shipping_total),
        "items": items,
    }
    if order.voucher_code:
        params["coupon"] = order.voucher_code
    return {
        "ga": ["purchase", params],
        "meta": [
            "Purchase",
            {**_meta_contents(items), "value": value, "currency": order.currency},
            {"eventID": f"purchase-{order.number}"},
        ],
        "conversion": {"value": value, "currency": order.currency, "transaction_id": order.number},
        "tx": order.number,
    }


# --- purchase: whose order, and was it reported -------------------------------------------------


def viewer_placed_order(request, order) -> bool:
    """True only for the shopper who placed ``order``: the logged-in owner, or the guest whose
    session still holds the token of the cart the order was placed from. Anyone else holding the
    order link (a forwarded email, a shared computer after logout) is not that shopper."""
    user = getattr(request, "user", None)
    if order.user_id is not None:
        return bool(user is not None and user.is_authenticated and user.pk == order.user_id)
    if order.cart_id is None or not hasattr(request, "session"):
        return False
    from orders.models import Cart
    from orders.selectors import CART_SESSION_KEY

    token = request.session.get(CART_SESSION_KEY)
    if not token or not isinstance(token, str):
        return False
    return Cart.objects.filter(pk=order.cart_id, token=token, store_id=order.store_id).exists()


def purchase_reportable(order) -> bool:
    """A storefront order placed recently enough to still be this visit's purchase."""
    from orders.models import Order

    if order.channel != Order.Channel.STOREFRONT or order.status == Order.Status.CANCELLED:
        return False
    window = timedelta(hours=settings.MARKETING_PURCHASE_WINDOW_HOURS)
    return order.created_at >= timezone.now() - window


def purchase_already_reported(order) -> bool:
    return PurchaseReport.objects.filter(order_id=order.pk).exists()

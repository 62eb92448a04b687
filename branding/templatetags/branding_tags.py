"""The store's look in templates: head (colours, font, icons), logo, menu, delivery lines."""

from __future__ import annotations

from django import template

from ..selectors import Brand, brand_for, free_shipping_progress

register = template.Library()


def _brand(context) -> Brand | None:
    store = context.get("store")
    if store is None:
        return None
    return brand_for(store, context.get("request"))


@register.simple_tag(takes_context=True)
def store_brand(context) -> Brand | None:
    """``{% store_brand as brand %}``: the store's look (cached, memoised on the request)."""
    return _brand(context)


@register.inclusion_tag("branding/_head.html", takes_context=True)
def brand_head(context) -> dict:
    return {"brand": _brand(context)}


@register.inclusion_tag("branding/_delivery_line.html", takes_context=True)
def delivery_line(context) -> dict:
    """ "Delivery from 9,99 zł · free from 200,00 zł" from the store's active shipping methods."""
    return {"brand": _brand(context)}


@register.inclusion_tag("branding/_free_shipping_bar.html")
def free_shipping_bar(basket) -> dict:
    """The bar towards free delivery: the nearest threshold of an available method, or full
    once the basket reached one; nothing when no method has a threshold."""
    options = [
        o for o in basket.shipping_options if o.available and o.method.free_shipping_threshold is not None
    ]
    if not options or not basket.needs_shipping:
        return {"show": False}
    hint = basket.free_shipping_hint
    if hint is not None:
        threshold = hint.method.free_shipping_threshold
        return {
            "show": True,
            "reached": False,
            "missing": hint.missing_for_free,
            "threshold": threshold,
            "percent": free_shipping_progress(basket.goods_value, threshold),
            "currency": basket.currency,
        }
    reached = [o for o in options if basket.goods_value >= o.method.free_shipping_threshold]
    if not reached:
        return {"show": False}
    return {"show": True, "reached": True, "percent": 100, "currency": basket.currency}


@register.filter
def css_percent(value) -> str:
    """A Decimal percent for a CSS width: ``37.50`` -> ``37.50%`` (a dot, whatever the locale)."""
    return f"{value}%" if value is not None else "0%"


@register.filter
def absolute_for(url: str, store) -> str:
    """``/media/x.png`` as an absolute address on ``store`` (e-mails); full URLs stay as they are."""
    if not url or url.startswith(("http://", "https://")) or store is None:
        return url
    return store.absolute_url(url)

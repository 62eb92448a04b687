"""Template tags of the marketing tags.

Pages never contain a tracking call: they carry JSON data blocks (``json_script``, so ``</script>``
in a product name cannot break out) that ``static/js/consent.js`` replays into gtag/fbq only after
the shopper agreed. Every tag renders nothing when the store has no tags switched on.

    {% load marketing_tags %}
    {% marketing_head %}  {% marketing_banner %}  {% marketing_settings_link %}   (base.html)
    {% marketing_flashed_events %}                                                (base.html)
    {% marketing_view_item %}                   (product page: product, variant, breadcrumbs)
    {% marketing_view_cart page.basket %}       (cart page)
    {% marketing_begin_checkout cart %}         (first checkout step)
    {% marketing_purchase order lines %}        (order confirmation page)
"""

from __future__ import annotations

import logging

from django import template
from django.utils.html import json_script
from django.utils.safestring import mark_safe

from .. import selectors, services

register = template.Library()
log = logging.getLogger(__name__)


def _config(context) -> tuple[object, dict]:
    request = context.get("request")
    if request is None:
        return None, selectors.DISABLED
    return request, selectors.request_config(request)


def _block(name: str, events: list[dict]) -> str:
    events = [e for e in events if e]
    if not events:
        return ""
    return json_script(events, f"marketing-event-{name}")


@register.inclusion_tag("marketing/head.html", takes_context=True)
def marketing_head(context):
    _, config = _config(context)
    return {"config": config, "csp_nonce": context.get("csp_nonce", "")}


@register.inclusion_tag("marketing/banner.html", takes_context=True)
def marketing_banner(context):
    _, config = _config(context)
    return {"config": config, "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("marketing/settings_link.html", takes_context=True)
def marketing_settings_link(context):
    _, config = _config(context)
    return {"config": config}


@register.simple_tag(takes_context=True)
def marketing_flashed_events(context):
    """Events of the shopper's last cart change (it redirected here), shown once."""
    request, config = _config(context)
    if not config.get("enabled"):
        return ""
    return _block("flash", services.take_flashed_events(request=request))


@register.simple_tag(takes_context=True)
def marketing_view_item(context):
    request, config = _config(context)
    product, variant = context.get("product"), context.get("variant")
    if not config.get("enabled") or product is None or variant is None:
        return ""
    store = context.get("store")
    breadcrumbs = context.get("breadcrumbs")
    if breadcrumbs is None:
        breadcrumbs = selectors.category_path(request, product)
    event = selectors.view_item_event(
        product=product,
        variant=variant,
        breadcrumbs=breadcrumbs,
        currency=getattr(store, "currency", None) or config.get("currency", "PLN"),
    )
    return _block("view_item", [event])


@register.simple_tag(takes_context=True)
def marketing_view_cart(context, basket):
    _, config = _config(context)
    if not config.get("enabled") or basket is None:
        return ""
    return _block("view_cart", [selectors.view_cart_event(basket)])


@register.simple_tag(takes_context=True)
def marketing_begin_checkout(context, cart):
    """On the first checkout step, shown (GET), not on a form re-shown with errors."""
    request, config = _config(context)
    if not config.get("enabled") or cart is None or request is None or request.method != "GET":
        return ""
    consent = selectors.consent_from_request(request, config)
    if consent.decided and not consent.any_granted:
        return ""
    from orders.services.checkout import load_for_checkout

    loaded = load_for_checkout(cart, user=request.user)
    return _block("begin_checkout", [selectors.begin_checkout_event(loaded.basket)])


@register.simple_tag(takes_context=True)
def marketing_purchase(context, order, lines):
    """The purchase, once, and only for the shopper who placed the order.

    With consent already given, the order is claimed now (a reload sends nothing). Before the
    shopper decided, the block is rendered unclaimed: it is sent only if they accept on this page,
    and consent.js remembers sent transaction ids so a later page cannot repeat it.
    """
    request, config = _config(context)
    if not config.get("enabled") or order is None or request is None:
        return ""
    try:
        if not selectors.purchase_reportable(order) or not selectors.viewer_placed_order(request, order):
            return ""
        consent = selectors.consent_from_request(request, config)
        if consent.decided and not consent.any_granted:
            return ""
        if consent.any_granted:
            if not services.claim_purchase(order=order):
                return ""
        elif selectors.purchase_already_reported(order):
            return ""
        return _block("purchase", [selectors.purchase_event(order, list(lines or []))])
    except Exception:  # the thank-you page must show whatever analytics does
        log.exception("marketing: purchase event for order %s not rendered", getattr(order, "pk", None))
        return mark_safe("")

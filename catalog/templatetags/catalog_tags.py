"""Storefront template helpers: Polish money format, WebP thumbnails, JSON-LD, query strings."""

from __future__ import annotations

import json

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models.fields.files import FieldFile
from django.templatetags.static import static
from django.utils.html import _json_script_escapes
from django.utils.safestring import mark_safe

from catalog.images import thumbnail_url
from shop.money import format_money

register = template.Library()


@register.filter
def money(value, currency: str = "PLN") -> str:
    """``Decimal("1234.5")|money:"PLN"`` -> ``"1 234,50 zł"`` (:mod:`shop.money`, the one format)."""
    return format_money(value, currency)


@register.simple_tag
def thumbnail(image, size: int) -> str:
    """URL of the WebP thumbnail of ``image`` (a stored name or a file field) at ``size`` px."""
    name = image.name if isinstance(image, FieldFile) else image
    if not name:
        return static("catalog/placeholder.svg")
    return thumbnail_url(str(name), int(size))


@register.filter
def jsonld(data) -> str:
    """Serialise structured data for a ``<script type="application/ld+json">`` element, with
    ``<``, ``>`` and ``&`` escaped so a product name can never close the script."""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_json_script_escapes)
    return mark_safe(text)


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (None or "" removes them).

    Cached fragments pass ``query_params`` (only the parameters that change the page, which are
    part of the cache key); other pages use the request's query string."""
    source = context.get("query_params")
    params = source.copy() if source is not None else context["request"].GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def get_item(mapping, key):
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.simple_tag
def unit_price_label(price, net_quantity, unit, currency: str = "PLN") -> str:
    """``12,99 zł / 1 kg`` for a price of a package of ``net_quantity`` ``unit`` (catalog.units),
    or "" when there is none to show."""
    from catalog.units import unit_price

    found = unit_price(price, net_quantity, unit)
    return found.label(currency) if found else ""

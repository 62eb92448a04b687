"""What the storefront reads of a store's look: one cached ``Brand`` per store.

A page costs one cache read for it (memoised on the request); building it costs one query when
the store never set its look and two when it did (the row with a flag for home blocks, then the
menu). Saving the look, a menu item, a home block, a category or a product group forgets it
(``branding.signals``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import Exists, OuterRef, Subquery
from django.templatetags.static import static

from shop.money import round_to

from . import contrast, icons
from .models import DEFAULT_COLORS, FONT_STACKS, Font, HomeBlock, MenuItem

log = logging.getLogger(__name__)
_HEX = re.compile(r"#[0-9a-f]{6}")


def brand_key(store_id: int) -> str:
    return f"branding:brand:{store_id}"


@dataclass
class MenuEntry:
    title: str
    href: str
    children: list[MenuEntry] = field(default_factory=list)


@dataclass
class Brand:
    store_id: int
    primary: str = DEFAULT_COLORS["primary_color"]
    accent: str = DEFAULT_COLORS["accent_color"]
    text: str = DEFAULT_COLORS["text_color"]
    background: str = DEFAULT_COLORS["background_color"]
    font_stack: str = FONT_STACKS[Font.SYSTEM]
    customised: bool = False
    logo_url: str = ""
    icons: dict[str, str] = field(default_factory=dict)
    menu: list[MenuEntry] | None = None  # None: the categories menu
    has_home_blocks: bool = False
    currency: str = "PLN"
    cheapest_delivery: Decimal | None = None  # the cheapest active method that ships (not pickup)
    free_delivery_from: Decimal | None = None  # the lowest free-shipping threshold of those

    @property
    def on_primary(self) -> str:
        return contrast.on_color(self.primary)

    @property
    def on_accent(self) -> str:
        return contrast.on_color(self.accent)

    @property
    def icon_links(self) -> dict[str, str]:
        """Every icon's URL: the ones made from the logo, else the built-in basket."""
        if self.icons:
            return self.icons
        small, large = static("img/icon-192.png"), static("img/icon-512.png")
        return {
            "favicon_16": small,
            "favicon_32": small,
            "favicon_ico": "",
            "apple_touch": small,
            "icon_192": small,
            "icon_512": large,
            "maskable_512": static("img/icon-maskable-512.png"),
        }

    @property
    def css_variables(self) -> str:
        """The ``:root`` declarations of the store's colours and font (values validated #RRGGBB
        and a fixed font stack, so nothing a merchant typed reaches the CSS unchecked)."""
        primary, accent, text, background = (
            _safe_color(self.primary, "primary_color"),
            _safe_color(self.accent, "accent_color"),
            _safe_color(self.text, "text_color"),
            _safe_color(self.background, "background_color"),
        )
        return (
            f"--brand:{primary};--on-brand:{contrast.on_color(primary)};--accent:{accent};"
            f"--on-accent:{contrast.on_color(accent)};--ink:{text};--bg:{background};"
            f"--font:{self.font_stack};"
        )


def _safe_color(value: str, name: str) -> str:
    """A stored colour only when it is #RRGGBB (a row written around the form cannot put
    anything else into the page's CSS)."""
    return value if _HEX.fullmatch(value or "") else DEFAULT_COLORS[name]


def build_brand(store_id: int) -> Brand:
    """One query for the look, the delivery prices and whether blocks and a menu exist; a
    second one for the menu only when the store has its own."""
    from orders.models import ShippingMethod
    from shop.models import Store

    shipping = ShippingMethod.objects.filter(store_id=OuterRef("pk"), is_active=True).exclude(
        kind=ShippingMethod.Kind.PICKUP
    )
    row = (
        Store.objects.filter(pk=store_id)
        .select_related("branding")
        .annotate(
            cheapest_delivery=Subquery(shipping.order_by("price").values("price")[:1]),
            free_delivery_from=Subquery(
                shipping.filter(free_shipping_threshold__isnull=False)
                .order_by("free_shipping_threshold")
                .values("free_shipping_threshold")[:1]
            ),
            any_blocks=Exists(HomeBlock.objects.filter(branding_id=OuterRef("pk"), is_active=True)),
            any_menu=Exists(MenuItem.objects.filter(branding_id=OuterRef("pk"), is_active=True)),
        )
        .first()
    )
    if row is None:
        return Brand(store_id=store_id)
    brand = Brand(
        store_id=store_id,
        currency=row.currency,
        cheapest_delivery=row.cheapest_delivery,
        free_delivery_from=row.free_delivery_from,
    )
    look = getattr(row, "branding", None)
    if look is None:
        return brand
    brand.primary = look.primary_color.lower()
    brand.accent = look.accent_color.lower()
    brand.text = look.text_color.lower()
    brand.background = look.background_color.lower()
    brand.font_stack = look.font_stack
    brand.customised = True
    brand.logo_url = look.logo.url if look.logo else ""
    brand.icons = icons.icon_urls(store_id, look.icons_key) if look.logo and look.icons_key else {}
    brand.has_home_blocks = row.any_blocks
    if row.any_menu:
        brand.menu = menu_entries(store_id)
    return brand


def menu_entries(store_id: int) -> list[MenuEntry]:
    items = list(
        MenuItem.objects.filter(branding_id=store_id, is_active=True).select_related("category", "group")
    )
    top = {i.pk: MenuEntry(i.title, i.href) for i in items if i.parent_id is None and _shown(i)}
    for item in items:
        if item.parent_id in top and _shown(item):
            top[item.parent_id].children.append(MenuEntry(item.title, item.href))
    return list(top.values())


def _shown(item: MenuItem) -> bool:
    if item.category_id:
        return item.category.is_published
    if item.group_id:
        return item.group.is_published
    return True


def brand_for(store, request=None) -> Brand:
    """The store's look, from the request's memo, the cache or the database."""
    if request is not None and getattr(request, "_brand", None) is not None:
        return request._brand
    key = brand_key(store.pk)
    try:
        brand = cache.get(key)
    except Exception:
        log.exception("Cache unavailable: reading the store look from the database")
        brand = None
    if not isinstance(brand, Brand):
        brand = build_brand(store.pk)
        try:
            cache.set(key, brand, settings.STORE_CACHE_SECONDS)
        except Exception:
            log.exception("Could not cache the store look")
    if request is not None:
        request._brand = brand
    return brand


def forget(store_id: int | None) -> None:
    if store_id is None:
        return
    try:
        cache.delete(brand_key(store_id))
    except Exception:
        log.exception("Could not forget the look of store %s", store_id)


# --- Delivery on the product page and in the cart ------------------------------------------------


def free_shipping_progress(goods_value: Decimal, threshold: Decimal | None) -> Decimal | None:
    """How far the basket is towards free delivery, in percent (0–100, to 0.01), or None when
    no method has a threshold."""
    if threshold is None or threshold <= 0:
        return None
    if goods_value >= threshold:
        return Decimal("100.00")
    # Half-up to 0.01, but never 100 before the threshold is reached (199,99 of 200 is 99.99).
    return min(round_to(max(goods_value, Decimal("0")) * 100 / threshold, "0.01"), Decimal("99.99"))

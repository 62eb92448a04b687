"""The demo store's look: a logo, a palette, and a home page of a hero banner, two product
groups, the categories and a short text. Idempotent: a store that has a look keeps it."""

from __future__ import annotations

import io
import random

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw

from catalog.images import placeholder_font
from catalog.models import ProductGroup
from catalog.pwa import draw_icon
from shop.models import Store

from .models import HomeBlock, StoreBranding
from .services import refresh_icons

PRIMARY = "#123c5a"
ACCENT = "#c2410c"


def seed(*, store: Store, rng: random.Random) -> None:
    if StoreBranding.objects.filter(store=store).exists():
        return
    branding = StoreBranding(
        store=store,
        primary_color=PRIMARY,
        accent_color=ACCENT,
        text_color="#1c2330",
        background_color="#ffffff",
    )
    branding.logo.save("koszyk-demo.png", ContentFile(_logo()), save=False)
    branding.save()
    refresh_icons(branding=branding)
    groups = {g.slug: g for g in ProductGroup.objects.filter(store=store, slug__in=["nowosci", "promocje"])}
    hero = HomeBlock(
        branding=branding,
        kind=HomeBlock.Kind.HERO,
        position=0,
        heading="Jesień w dobrym stylu",
        text="Płaszcze, swetry i buty na chłodne dni. Darmowa dostawa od 200 zł, 30 dni na zwrot.",
        link="/g/nowosci/",
        link_label="Zobacz nowości",
    )
    hero.image.save("jesien.jpg", ContentFile(_banner(rng)), save=False)
    hero.save()
    position = 1
    for slug, heading in (("nowosci", "Nowości"), ("promocje", "Promocje")):
        if slug in groups:
            HomeBlock.objects.create(
                branding=branding,
                kind=HomeBlock.Kind.PRODUCTS,
                group=groups[slug],
                heading=heading,
                position=position,
            )
            position += 1
    HomeBlock.objects.create(
        branding=branding, kind=HomeBlock.Kind.CATEGORIES, heading="Kategorie", position=position
    )
    HomeBlock.objects.create(
        branding=branding,
        kind=HomeBlock.Kind.TEXT,
        heading="Sklep, który odpowiada",
        text="Wysyłamy w 24 godziny z magazynów w Warszawie i Poznaniu. "
        "Płacisz BLIK-iem, kartą, przelewem lub przy odbiorze.",
        position=position + 1,
    )


def _logo() -> bytes:
    """A wordmark in white beside the basket mark, on a transparent background."""
    height, width = 160, 560
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    mark = draw_icon(height).convert("RGBA")
    rounded = Image.new("L", (height, height), 0)
    ImageDraw.Draw(rounded).rounded_rectangle([0, 0, height - 1, height - 1], radius=36, fill=255)
    image.paste(mark, (0, 0), rounded)
    ImageDraw.Draw(image).text(
        (height + 24, height // 2),
        "Koszyk",
        fill=(255, 255, 255, 255),
        font=placeholder_font(96),
        anchor="lm",
    )
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _banner(rng: random.Random) -> bytes:
    """An autumn-coloured banner: a warm gradient with soft circles (no photo ships with the demo)."""
    width, height = 1600, 640
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    top, bottom = (194, 65, 12), (18, 60, 90)
    for x in range(width):
        t = x / width
        draw.line(
            [(x, 0), (x, height)],
            fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    shapes = ImageDraw.Draw(layer)
    for _ in range(14):
        r = rng.randint(40, 220)
        x, y = rng.randint(0, width), rng.randint(0, height)
        shapes.ellipse([x - r, y - r, x + r, y + r], fill=(255, 214, 153, rng.randint(25, 70)))
    image = Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82, optimize=True, progressive=True)
    return out.getvalue()

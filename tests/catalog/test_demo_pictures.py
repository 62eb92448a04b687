"""The demo shop's product pictures: a drawing per kind of product, not the initials placeholder."""

import io

import pytest
from PIL import Image

from catalog import demo
from catalog.demo_pictures import picture_kind, product_picture
from catalog.images import placeholder_image

SPECIAL = [
    ("Premiera: saga „Zimowe królestwo”, tom 1", "Książki", "#5b2c6f"),
    ("E-book „Przepisy babci Heleny”", "E-booki", "#117864"),
    ("Karta podarunkowa Koszyk", "Karty podarunkowe", "#d9480f"),
    ("Zestaw do kawy: 2 kubki i kawa", "Zestawy", "#6e2c00"),
]


def _demo_products() -> list[tuple[str, str, str]]:
    """(name, category, colour) of one product of every noun the demo seeds, in every colour for clothes."""
    products = []
    for category, noun, styles, _prices in demo.CLOTHES:
        for colour, hex_ in demo.COLOURS[::3]:
            products.append((f"{noun} {styles[0]} – {colour.lower()}", category, hex_))
    for noun, style in demo.SHOES:
        for colour, hex_ in demo.COLOURS[:2]:
            products.append((f"{noun} {style} – {colour.lower()}", "Obuwie", hex_))
    palette = [hex_ for _, hex_ in demo.COLOURS]
    for category, (nouns, styles, _prices) in demo.SIMPLE.items():
        for i, noun in enumerate(nouns):
            products.append((f"{noun} {styles[i % len(styles)]}", category, palette[i % len(palette)]))
    return products + SPECIAL


DEMO_PRODUCTS = _demo_products()


def _open(data: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture


def _silhouette_share(picture: Image.Image) -> float:
    """Share of the canvas that differs clearly from the backdrop (its top-left corner)."""
    small = picture.convert("RGB").resize((100, 100))
    corner = small.getpixel((1, 1))
    raw = small.tobytes()
    pixels = [raw[i : i + 3] for i in range(0, len(raw), 3)]
    differing = sum(1 for p in pixels if sum(abs(a - b) for a, b in zip(p, corner, strict=True)) > 40)
    return differing / len(pixels)


def test_every_demo_product_has_a_drawing_of_its_kind():
    unmatched = [name for name, category, _ in DEMO_PRODUCTS if picture_kind(name, category) == "box"]
    assert unmatched == []
    assert picture_kind("Koszula lniana – biały", "Koszule") == "koszula"
    assert picture_kind("Trzewiki skórzane – czarny", "Obuwie") == "trzewiki"
    assert picture_kind("Powieść „Cichy brzeg” twarda oprawa", "Książki") == "book"
    assert picture_kind("Odżywka regenerująca", "Kosmetyki") == "odżywka"
    # Something the drawer does not know gets a boxed product, not an error.
    assert picture_kind("Rower górski", "Sport") == "box"


@pytest.mark.parametrize(("name", "category", "color"), DEMO_PRODUCTS, ids=[n for n, _, _ in DEMO_PRODUCTS])
def test_demo_picture_is_a_shaded_product_on_a_light_backdrop_not_initials(name, category, color):
    data = product_picture(name, color, category=category)
    picture = _open(data)
    assert picture.format == "JPEG" and picture.size == (600, 600) and picture.mode == "RGB"
    # A studio backdrop: light corners whatever the product's colour (the placeholder fills the
    # whole square with it, so a black product gave a black square).
    for xy in ((2, 2), (597, 2)):
        r, g, b = picture.getpixel(xy)
        assert 0.299 * r + 0.587 * g + 0.114 * b > 180, (name, xy)
    # The product covers a sensible part of the canvas: neither a dot nor a filled square.
    assert 0.08 < _silhouette_share(picture) < 0.75, name
    # Shading and a shadow: many tones, not a flat two-colour image.
    tones = picture.quantize(colors=64).getcolors()
    assert len([count for count, _ in tones if count > 200]) >= 12, name


def test_placeholder_fails_the_checks_a_demo_picture_passes():
    """The checks above tell the initials placeholder apart: it is the old look."""
    picture = _open(placeholder_image("Koszula lniana – czarny", "#1d1d1d"))
    r, g, b = picture.getpixel((2, 2))
    assert 0.299 * r + 0.587 * g + 0.114 * b < 60
    picture = _open(placeholder_image("Koszula lniana – biały", "#f5f5f5"))
    assert _silhouette_share(picture) < 0.08


def test_different_kinds_get_different_silhouettes():
    masks = {}
    for name, category, _color in DEMO_PRODUCTS:
        kind = picture_kind(name, category)
        if kind in masks:
            continue
        picture = _open(product_picture(name, "#1d1d1d", category=category)).convert("L").resize((40, 40))
        masks[kind] = bytes(255 if v < 120 else 0 for v in picture.tobytes())
    assert len(masks) >= 45
    # Only a cosmetics line shares its shape (balm/shampoo/conditioner bottles, cream/mask jars,
    # serum/oil droppers): the labels differ.
    assert len(set(masks.values())) >= len(masks) - 4


def test_same_input_gives_the_same_bytes_and_the_colour_and_name_matter():
    first = product_picture("Koszula oxford – granatowy", "#1f3a5f", category="Koszule")
    assert product_picture("Koszula oxford – granatowy", "#1f3a5f", category="Koszule") == first
    assert product_picture("Koszula oxford – czerwony", "#c0392b", category="Koszule") != first
    book = product_picture("Powieść „Cichy brzeg”", "#1f3a5f", category="Książki")
    assert product_picture("Powieść „Lato w Sopocie”", "#1f3a5f", category="Książki") != book


def test_size_and_a_bad_colour_are_handled():
    assert _open(product_picture("Kubek ceramiczny", "#2e7d32", size=300)).size == (300, 300)
    assert _open(product_picture("Kubek ceramiczny", "not a colour")).size == (600, 600)


def test_the_seeder_uses_the_drawing_for_the_products_category():
    ctx = demo._Ctx(store=None, rng=None, now=None)
    name = "Reportaż „Drogi północy” twarda oprawa"
    assert demo._image_bytes(ctx, name, "#1f3a5f", "Książki") == product_picture(
        name, "#1f3a5f", category="Książki"
    )
    assert demo._image_bytes(ctx, name, "#1f3a5f", "Książki") != placeholder_image(name, "#1f3a5f")

"""Demo catalog for ``manage.py seed_demo``: a shop a Polish merchant would recognise.

``seed(store=..., rng=...)`` is idempotent: everything is looked up by slug, SKU or code first,
so a second run adds nothing. The random generator is always consumed in the same order (values
are drawn before the lookups), so two runs with the same seed describe the same catalog.

It shows every product kind: variants by size and colour (colour siblings are related products),
a set, a pre-order with a limit, a digital e-book, a gift card, recommended products, discounted
variants with a price history (Omnibus), stock in two warehouses, and the groups "Nowości",
"Promocje" and "Na prezent".
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from shop.identifiers import gtin_check_digit
from shop.models import Store
from shop.money import round_to

from . import services
from .demo_pictures import product_picture
from .images import placeholder_font
from .models import (
    Attribute,
    AttributeValue,
    Category,
    DigitalAsset,
    PriceHistory,
    Product,
    ProductGroup,
    ProductImage,
    SearchSynonym,
    SetComponent,
    StockItem,
    StockMovement,
    Variant,
    Warehouse,
)
from .text import slugify_pl

# (name, parent name or None, description)
CATEGORIES = [
    ("Odzież", None, "Ubrania na każdą porę roku."),
    ("Damska", "Odzież", "Odzież damska."),
    ("Sukienki", "Damska", "Sukienki na co dzień i na wyjście."),
    ("Bluzki", "Damska", "Bluzki, koszulki i swetry."),
    ("Męska", "Odzież", "Odzież męska."),
    ("Koszule", "Męska", "Koszule i koszulki."),
    ("Kurtki", "Męska", "Kurtki i płaszcze."),
    ("Obuwie", None, "Buty damskie i męskie."),
    ("Dom i kuchnia", None, "Wszystko do domu."),
    ("Dekoracje", "Dom i kuchnia", "Świece, poduszki, ramki."),
    ("Książki", None, "Powieści, poradniki, literatura faktu."),
    ("E-booki", "Książki", "Książki do pobrania w PDF."),
    ("Kosmetyki", None, "Pielęgnacja twarzy i ciała."),
    ("Akcesoria elektroniczne", None, "Ładowarki, kable, etui i słuchawki."),
    ("Karty podarunkowe", None, "Prezent, który zawsze trafia."),
    ("Zestawy", None, "Zestawy w lepszej cenie."),
]

COLOURS = [
    ("Czarny", "#1d1d1d"),
    ("Biały", "#f5f5f5"),
    ("Czerwony", "#c0392b"),
    ("Granatowy", "#1f3a5f"),
    ("Zielony", "#2e7d32"),
    ("Beżowy", "#d8c3a5"),
    ("Żółty", "#f1c40f"),
]
SIZES = ["S", "M", "L", "XL"]
SHOE_SIZES = [str(n) for n in range(38, 46)]

CLOTHES = [
    (
        "Sukienki",
        "Sukienka",
        ["letnia w kwiaty", "kopertowa", "maxi z lnu", "koktajlowa", "dzianinowa"],
        (119, 329),
    ),
    ("Bluzki", "Bluzka", ["z wiskozy", "oversize", "z żabotem"], (59, 149)),
    ("Bluzki", "Sweter", ["z wełny merino", "z golfem"], (149, 299)),
    ("Koszule", "Koszula", ["lniana", "oxford", "flanelowa w kratę"], (99, 219)),
    ("Kurtki", "Kurtka", ["pikowana", "przeciwdeszczowa", "jeansowa"], (199, 599)),
]
SHOES = [
    ("Sneakersy", "miejskie"),
    ("Trzewiki", "skórzane"),
    ("Mokasyny", "zamszowe"),
    ("Trampki", "klasyczne"),
]
SIMPLE = {
    "Dom i kuchnia": (
        [
            "Kubek ceramiczny",
            "Czajnik",
            "Deska do krojenia",
            "Zestaw noży",
            "Patelnia",
            "Garnek",
            "Dzbanek",
            "Młynek do kawy",
            "Kawa ziarnista",
            "Herbata liściasta",
            "Miska",
            "Talerz",
        ],
        [
            "z Bolesławca",
            "stalowy",
            "bambusowa",
            "szefa kuchni",
            "żeliwna",
            "emaliowany",
            "szklany",
            "ręczny",
            "Brazylia 1 kg",
            "earl grey 100 g",
            "sałatkowa",
            "obiadowy",
        ],
        (19, 399),
    ),
    "Dekoracje": (
        ["Świeca sojowa", "Poduszka dekoracyjna", "Ramka na zdjęcia", "Wazon", "Koc", "Lampion"],
        ["o zapachu lawendy", "welurowa", "dębowa", "z recyklingu", "z bawełny", "metalowy"],
        (29, 249),
    ),
    "Książki": (
        [
            "Powieść „Cichy brzeg”",
            "Kryminał „Mgła nad Wisłą”",
            "Poradnik „Zdrowa kuchnia”",
            "Reportaż „Drogi północy”",
            "Biografia „Życie w kadrze”",
            "Fantastyka „Smocza góra”",
            "Poradnik „Ogród w mieście”",
            "Powieść „Lato w Sopocie”",
        ],
        ["wydanie kieszonkowe", "twarda oprawa", "wydanie specjalne", "z autografem", "miękka oprawa"],
        (29, 89),
    ),
    "Kosmetyki": (
        [
            "Krem nawilżający",
            "Serum z witaminą C",
            "Balsam do ciała",
            "Szampon",
            "Odżywka",
            "Mydło naturalne",
            "Olejek arganowy",
            "Maseczka",
        ],
        [
            "z kwasem hialuronowym",
            "do cery suchej",
            "z masłem shea",
            "ziołowy",
            "regenerująca",
            "lawendowe",
            "100 ml",
            "glinkowa",
        ],
        (15, 159),
    ),
    "Akcesoria elektroniczne": (
        [
            "Ładowarka USB-C",
            "Kabel USB-C",
            "Etui na telefon",
            "Słuchawki douszne",
            "Powerbank",
            "Uchwyt samochodowy",
            "Głośnik bezprzewodowy",
            "Mysz bezprzewodowa",
        ],
        [
            "65 W",
            "2 m w oplocie",
            "silikonowe",
            "z redukcją szumów",
            "10000 mAh",
            "magnetyczny",
            "wodoodporny",
            "cicha",
        ],
        (29, 349),
    ),
}
SIMPLE_COUNTS = {
    "Dom i kuchnia": 40,
    "Dekoracje": 20,
    "Książki": 36,
    "Kosmetyki": 30,
    "Akcesoria elektroniczne": 30,
}

DESCRIPTIONS = [
    "Starannie wykonany produkt, który posłuży na lata.",
    "Nasz bestseller – klienci doceniają jakość i wygodę.",
    "Wyprodukowano w Polsce z dbałością o szczegóły.",
    "Idealny na prezent. Pakujemy bezpłatnie.",
    "Materiały z certyfikowanych źródeł, przyjazne środowisku.",
    "Sprawdzi się na co dzień i od święta.",
]

# Words shoppers use for what the demo sells under another name (editable in the admin).
SEARCH_SYNONYMS = [
    "buty, obuwie",
    "adidasy, sneakersy, tenisówki",
    "t-shirt, koszulka",
    "pokrowiec, etui, case",
    "zasilacz, ładowarka",
    "ebook, e-book, książka elektroniczna",
    "bon podarunkowy, karta podarunkowa, voucher",
    "kozaki, trzewiki, botki",
]
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]/Contents 4 0 R"
    b"/Resources<</Font<</F1 5 0 R>>>>>>endobj\n"
    b"4 0 obj<</Length 55>>stream\nBT /F1 18 Tf 40 70 Td (Koszyk demo e-book) Tj ET\nendstream endobj\n"
    b"5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


@dataclass
class _Ctx:
    store: Store
    rng: random.Random
    now: object
    categories: dict[str, Category] = field(default_factory=dict)
    attributes: dict[str, Attribute] = field(default_factory=dict)
    values: dict[tuple[str, str], AttributeValue] = field(default_factory=dict)
    warehouses: list[Warehouse] = field(default_factory=list)
    products: dict[str, Product] = field(default_factory=dict)
    new_variants: list[Variant] = field(default_factory=list)
    font: object = None


@transaction.atomic
def seed(*, store: Store, rng: random.Random) -> None:
    """Create (or complete) the demo catalog of ``store``."""
    ctx = _Ctx(store=store, rng=rng, now=timezone.now())
    ctx.font = _font()
    _warehouses(ctx)
    _categories(ctx)
    _attributes(ctx)
    _clothes(ctx)
    _shoes(ctx)
    _simple_products(ctx)
    _special_products(ctx)
    _stock(ctx)
    _relations(ctx)
    _groups(ctx)
    _search_synonyms(ctx)
    services.refresh_products(product_ids=[p.pk for p in ctx.products.values()])


def _search_synonyms(ctx: _Ctx) -> None:
    for terms in SEARCH_SYNONYMS:
        SearchSynonym.objects.get_or_create(store=ctx.store, terms=terms)


# --- building blocks -----------------------------------------------------------------------------


def _warehouses(ctx: _Ctx) -> None:
    for priority, (code, name) in enumerate([("waw", "Magazyn Warszawa"), ("poz", "Magazyn Poznań")]):
        warehouse, _ = Warehouse.objects.get_or_create(
            store=ctx.store, code=code, defaults={"name": name, "priority": priority}
        )
        ctx.warehouses.append(warehouse)


def _categories(ctx: _Ctx) -> None:
    for position, (name, parent, description) in enumerate(CATEGORIES):
        slug = slugify_pl(name)
        category = Category.objects.filter(store=ctx.store, slug=slug).first()
        if category is None:
            category = services.save_category(
                category=Category(
                    store=ctx.store,
                    name=name,
                    slug=slug,
                    parent=ctx.categories[parent] if parent else None,
                    description=description,
                    position=position,
                )
            )
        ctx.categories[name] = category


def _attributes(ctx: _Ctx) -> None:
    specs = [
        ("rozmiar", "Rozmiar", False, [(s, "") for s in SIZES]),
        ("kolor", "Kolor", True, COLOURS),
        ("rozmiar-buta", "Rozmiar buta", False, [(s, "") for s in SHOE_SIZES]),
        ("nominal", "Nominał", False, [("50 zł", ""), ("100 zł", ""), ("200 zł", "")]),
    ]
    for position, (slug, name, swatch, values) in enumerate(specs):
        attribute, _ = Attribute.objects.get_or_create(
            store=ctx.store, slug=slug, defaults={"name": name, "position": position, "is_swatch": swatch}
        )
        ctx.attributes[slug] = attribute
        for i, (value, color) in enumerate(values):
            av, _ = AttributeValue.objects.get_or_create(
                attribute=attribute,
                slug=slugify_pl(value),
                defaults={"value": value, "position": i, "color": color},
            )
            ctx.values[(slug, value)] = av


def _font():
    return placeholder_font(180)


def _image_bytes(ctx: _Ctx, text: str, color: str, category: str = "") -> bytes:
    # A drawing of the product (a shirt, a boot, a book...) in its colour; same input, same bytes.
    return product_picture(text, color, category=category, size=600)


def _product(
    ctx: _Ctx,
    *,
    name: str,
    category: str,
    kind: str = Product.Kind.STANDARD,
    vat: str = "23",
    brand: str = "",
    color: str = "#1f4e79",
    attributes: tuple[str, ...] = (),
) -> Product:
    description = " ".join(ctx.rng.sample(DESCRIPTIONS, 2))
    age_days = ctx.rng.randint(0, 120)
    popularity = ctx.rng.randint(0, 250)
    hours = ctx.rng.randint(0, 23)
    slug = slugify_pl(name)
    product = Product.objects.filter(store=ctx.store, slug=slug).first()
    if product is None:
        product = Product.objects.create(
            store=ctx.store,
            name=name,
            slug=slug,
            kind=kind,
            vat_rate=vat,
            brand=brand,
            category=ctx.categories[category],
            description=f"{name}. {description}",
            is_published=True,
            published_at=ctx.now - timedelta(days=age_days, hours=hours),
            popularity=popularity,
        )
        if attributes:
            product.variant_attributes.set([ctx.attributes[a] for a in attributes])
        data = _image_bytes(ctx, name, color, category)
        image = ProductImage(product=product, alt=name, position=0, checksum=hashlib.sha256(data).hexdigest())
        image.image.save(f"{slug}.jpg", ContentFile(data), save=False)
        image.width = image.height = 600
        image.save()
    ctx.products[slug] = product
    return product


def _variant(
    ctx: _Ctx,
    product: Product,
    *,
    sku: str,
    price: Decimal,
    values: tuple[tuple[str, str], ...] = (),
    discount: Decimal | None = None,
    **fields,
) -> Variant:
    """A variant; with ``discount`` it sells at ``price - discount`` since 2 days ago, after 20+
    days at the full price (so the Omnibus line shows the full price)."""
    existing = Variant.objects.filter(store=ctx.store, sku=sku).first()
    if existing is not None:
        return existing
    attribute_values = [ctx.values[v] for v in values]
    final = price - discount if discount else price
    variant = Variant.objects.create(
        store=ctx.store,
        product=product,
        sku=sku,
        name=" / ".join(v.value for v in attribute_values),
        price=final,
        compare_at_price=price if discount else None,
        weight_grams=fields.pop("weight_grams", 400),
        **fields,
    )
    if attribute_values:
        variant.attribute_values.set(attribute_values)
    if discount:
        PriceHistory.objects.bulk_create(
            [
                PriceHistory(variant=variant, price=price, valid_from=ctx.now - timedelta(days=45)),
                PriceHistory(
                    variant=variant, price=price + Decimal("10.00"), valid_from=ctx.now - timedelta(days=20)
                ),
                PriceHistory(
                    variant=variant,
                    price=final,
                    compare_at_price=price,
                    valid_from=ctx.now - timedelta(days=2),
                ),
            ]
        )
    else:
        PriceHistory.objects.create(variant=variant, price=final, valid_from=ctx.now - timedelta(days=60))
    ctx.new_variants.append(variant)
    return variant


def _price(ctx: _Ctx, lo: int, hi: int) -> Decimal:
    return Decimal(ctx.rng.randrange(lo, hi)) + Decimal("0.99")


def _clothes(ctx: _Ctx) -> None:
    for category, noun, styles, (lo, hi) in CLOTHES:
        for style in styles:
            price = _price(ctx, lo, hi)
            colours = ctx.rng.sample(COLOURS, ctx.rng.randint(2, 3))
            discounted = ctx.rng.random() < 0.25
            siblings = []
            for colour, hex_ in colours:
                name = f"{noun} {style} – {colour.lower()}"
                product = _product(
                    ctx,
                    name=name,
                    category=category,
                    brand="Koszyk Basic",
                    color=hex_,
                    attributes=("rozmiar", "kolor"),
                )
                siblings.append(product)
                base = slugify_pl(f"{noun}-{style}")[:18].upper()
                for size in SIZES:
                    _variant(
                        ctx,
                        product,
                        sku=f"{base}-{slugify_pl(colour)[:3].upper()}-{size}",
                        price=price,
                        values=(("rozmiar", size), ("kolor", colour)),
                        discount=round_to(price * Decimal("0.2"), "1") if discounted else None,
                    )
            _relate(siblings)


def _shoes(ctx: _Ctx) -> None:
    for noun, style in SHOES:
        price = _price(ctx, 179, 449)
        colours = ctx.rng.sample(COLOURS[:4], 2)
        siblings = []
        for colour, hex_ in colours:
            product = _product(
                ctx,
                name=f"{noun} {style} – {colour.lower()}",
                category="Obuwie",
                brand="Krok",
                color=hex_,
                attributes=("rozmiar-buta", "kolor"),
            )
            siblings.append(product)
            for size in SHOE_SIZES:
                _variant(
                    ctx,
                    product,
                    sku=f"{slugify_pl(noun)[:6].upper()}-{slugify_pl(colour)[:3].upper()}-{size}",
                    price=price,
                    values=(("rozmiar-buta", size), ("kolor", colour)),
                    weight_grams=900,
                )
        _relate(siblings)


def _relate(products: list[Product]) -> None:
    for product in products:
        product.related.add(*[p for p in products if p.pk != product.pk])


def _simple_products(ctx: _Ctx) -> None:
    palette = [c for _, c in COLOURS]
    for category, count in SIMPLE_COUNTS.items():
        nouns, styles, (lo, hi) = SIMPLE[category]
        seen: set[str] = set()
        n = 0
        while n < count:
            noun, style = ctx.rng.choice(nouns), ctx.rng.choice(styles)
            price = _price(ctx, lo, hi)
            discounted = ctx.rng.random() < 0.12
            color = ctx.rng.choice(palette)
            name = f"{noun} {style}"
            if name in seen:
                continue
            seen.add(name)
            n += 1
            vat = "5" if category == "Książki" else "23"
            product = _product(ctx, name=name, category=category, vat=vat, color=color)
            _variant(
                ctx,
                product,
                sku=f"{slugify_pl(category)[:3].upper()}-{n:03d}",
                price=price,
                ean=_ean(ctx),
                discount=round_to(price * Decimal("0.15"), "1") if discounted else None,
            )


def _ean(ctx: _Ctx) -> str:
    body = "590" + "".join(str(ctx.rng.randrange(10)) for _ in range(9))
    return body + gtin_check_digit(body)


def _special_products(ctx: _Ctx) -> None:
    # A pre-order with a release date and a limit.
    release = (ctx.now + timedelta(days=30)).date()
    product = _product(
        ctx, name="Premiera: saga „Zimowe królestwo”, tom 1", category="Książki", vat="5", color="#5b2c6f"
    )
    _variant(
        ctx,
        product,
        sku="PRE-ZK-1",
        price=Decimal("54.90"),
        is_preorder=True,
        release_date=release,
        preorder_limit=50,
    )
    # A digital e-book (a tiny PDF in private storage).
    ebook = _product(
        ctx,
        name="E-book „Przepisy babci Heleny”",
        category="E-booki",
        kind=Product.Kind.DIGITAL,
        vat="5",
        color="#117864",
    )
    variant = _variant(ctx, ebook, sku="EBOOK-PBH", price=Decimal("24.90"), track_stock=False, weight_grams=0)
    if not DigitalAsset.objects.filter(variant=variant).exists():
        asset = DigitalAsset(
            variant=variant, title="Przepisy babci Heleny (PDF)", download_limit=5, link_valid_days=30
        )
        asset.file.save("przepisy-babci-heleny.pdf", ContentFile(PDF), save=False)
        asset.save()
    # A gift card: no stock, VAT exempt until used.
    card = _product(
        ctx,
        name="Karta podarunkowa Koszyk",
        category="Karty podarunkowe",
        kind=Product.Kind.GIFT_CARD,
        vat="zw",
        color="#d9480f",
        attributes=("nominal",),
    )
    for amount in ("50", "100", "200"):
        _variant(
            ctx,
            card,
            sku=f"GIFT-{amount}",
            price=Decimal(amount),
            values=(("nominal", f"{amount} zł"),),
            track_stock=False,
            weight_grams=0,
        )
    # A set made of two home products.
    bundle = _product(
        ctx, name="Zestaw do kawy: 2 kubki i kawa", category="Zestawy", kind=Product.Kind.SET, color="#6e2c00"
    )
    _variant(ctx, bundle, sku="SET-KAWA", price=Decimal("119.00"), track_stock=False, weight_grams=1500)
    if not SetComponent.objects.filter(set_product=bundle).exists():
        mug = _find(ctx, "Kubek ceramiczny") or _fallback_component(
            ctx, "Kubek ceramiczny klasyczny", "DOM-KUB"
        )
        coffee = _find(ctx, "Kawa ziarnista") or _fallback_component(
            ctx, "Kawa ziarnista klasyczna", "DOM-KAW"
        )
        services.set_components(set_product=bundle, components=[(mug, 2), (coffee, 1)])
    bundle.recommended.add(
        *[p for p in ctx.products.values() if p.category_id == ctx.categories["Dom i kuchnia"].pk][:3]
    )


def _find(ctx: _Ctx, prefix: str) -> Variant | None:
    for product in ctx.products.values():
        if product.name.startswith(prefix) and product.kind == Product.Kind.STANDARD:
            return Variant.objects.filter(product=product).order_by("pk").first()
    return None


def _fallback_component(ctx: _Ctx, name: str, sku: str) -> Variant:
    product = _product(ctx, name=name, category="Dom i kuchnia")
    return _variant(ctx, product, sku=sku, price=Decimal("39.00"))


def _stock(ctx: _Ctx) -> None:
    """On-hand units for new variants in both warehouses, each with its delivery movement."""
    tracked = [v for v in ctx.new_variants if v.track_stock and not v.is_preorder]
    # Drawn per SKU (not from ctx.rng): the shared sequence stays the same whatever already exists.
    draws = []
    for v in tracked:
        r = random.Random(f"{ctx.store.pk}:{v.sku}")
        draws.append((r.choice([0, 0, 1, 2, 3, 5, 8, 12, 20, 40]), r.choice([0, 0, 2, 6, 10])))
    existing = set(StockItem.objects.filter(variant__in=tracked).values_list("variant_id", "warehouse_id"))
    items = []
    for variant, quantities in zip(tracked, draws, strict=True):
        for warehouse, quantity in zip(ctx.warehouses, quantities, strict=True):
            if (variant.pk, warehouse.pk) not in existing:
                items.append(StockItem(variant=variant, warehouse=warehouse, quantity=quantity))
    StockItem.objects.bulk_create(items)
    StockMovement.objects.bulk_create(
        [
            StockMovement(
                stock_item=item,
                delta=item.quantity,
                quantity_after=item.quantity,
                reason=StockMovement.Reason.DELIVERY,
                note="Demo",
            )
            for item in items
            if item.quantity
        ]
    )


def _relations(ctx: _Ctx) -> None:
    products = sorted(ctx.products.values(), key=lambda p: p.slug)
    by_category: dict[int, list[Product]] = {}
    for p in products:
        by_category.setdefault(p.category_id, []).append(p)
    accessories = by_category.get(ctx.categories["Akcesoria elektroniczne"].pk, [])
    cosmetics = by_category.get(ctx.categories["Kosmetyki"].pk, [])
    draws = [
        (
            ctx.rng.sample(range(len(accessories) or 1), min(2, len(accessories))),
            ctx.rng.sample(range(len(cosmetics) or 1), min(2, len(cosmetics))),
        )
        for _ in products
    ]
    for product, (acc, cos) in zip(products, draws, strict=True):
        if product.recommended.exists():
            continue
        pool = [accessories[i] for i in acc] + [cosmetics[i] for i in cos]
        same = [p for p in by_category.get(product.category_id, []) if p.pk != product.pk][:2]
        product.recommended.add(*[p for p in pool + same if p.pk != product.pk][:4])


def _groups(ctx: _Ctx) -> None:
    specs = [
        ("nowosci", "Nowości", {"kind": ProductGroup.Kind.RULES, "rule_new_days": 30, "position": 0}),
        ("promocje", "Promocje", {"kind": ProductGroup.Kind.RULES, "rule_on_sale": True, "position": 1}),
        ("na-prezent", "Na prezent", {"kind": ProductGroup.Kind.CURATED, "position": 2}),
    ]
    gifts = [
        p
        for p in sorted(ctx.products.values(), key=lambda p: p.slug)
        if p.category_id
        in {
            ctx.categories[c].pk
            for c in ("Dekoracje", "Kosmetyki", "Karty podarunkowe", "E-booki", "Zestawy")
        }
    ]
    picks = ctx.rng.sample(gifts, min(14, len(gifts)))
    for slug, name, fields in specs:
        group, created = ProductGroup.objects.get_or_create(
            store=ctx.store, slug=slug, defaults={"name": name, "description": f"{name} w sklepie.", **fields}
        )
        if created and group.kind == ProductGroup.Kind.CURATED:
            group.products.set(picks)

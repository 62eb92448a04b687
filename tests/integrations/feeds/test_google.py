"""Google Merchant Center feeds (RSS and TSV) parsed back: namespaces, required fields and their
limits, price format, variants grouped, availability, hostile catalog content."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Product, Variant
from tests.catalog.factories import (
    AttributeFactory,
    AttributeValueFactory,
    CategoryFactory,
    PreorderVariantFactory,
    ProductFactory,
    ProductImageFactory,
    VariantFactory,
    give_stock,
    make_set,
)

from .conftest import google_items, tsv_rows
from .factories import FeedFactory, GoogleTSVFeedFactory

pytestmark = pytest.mark.django_db

REQUIRED = ("id", "title", "description", "link", "image_link", "availability", "price")


def product_with_image(store, **kwargs):
    product = ProductFactory(store=store, **kwargs)
    ProductImageFactory(product=product)
    return product


def test_rss_has_required_fields_prices_and_links(store, generate_feed):
    top = CategoryFactory(store=store, name="Odzież")
    leaf = CategoryFactory(store=store, parent=top, name="Koszule")
    product = product_with_image(
        store, name="Koszula lniana", brand="Łania", category=leaf, description="<p>Lniana <b>koszula</b></p>"
    )
    VariantFactory(product=product, sku="KOS-1", ean="5901234123457", price=Decimal("49.99"), stock=5)
    feed = FeedFactory(store=store, shipping_price=Decimal("9.99"), shipping_service="InPost")

    run, content = generate_feed(feed)

    items = google_items(content)
    assert run.items == 1 and run.skipped == 0
    item = items["KOS-1"]
    for name in REQUIRED:
        assert item[name][0], name
    assert item["price"] == ["49.99 PLN"]
    assert item["availability"] == ["in_stock"]
    assert item["brand"] == ["Łania"]
    assert item["gtin"] == ["5901234123457"]
    assert item["mpn"] == ["KOS-1"]
    assert item["condition"] == ["new"]
    assert item["description"] == ["Lniana koszula"]
    assert item["product_type"] == ["Odzież > Koszule"]
    assert item["link"][0].startswith(store.absolute_url("/p/"))
    assert item["image_link"][0].startswith(store.absolute_url("/media/products/"))
    assert "item_group_id" not in item
    root_shipping = content.decode()
    assert (
        "<g:shipping><g:country>PL</g:country><g:service>InPost</g:service><g:price>9.99 PLN</g:price></g:shipping>"
        in root_shipping
    )


def test_variants_are_grouped_with_colour_and_size(store, generate_feed):
    size = AttributeFactory(store=store, name="Rozmiar", slug="rozmiar")
    colour = AttributeFactory(store=store, name="Kolor", slug="kolor")
    product = product_with_image(store, name="Sukienka")
    red = AttributeValueFactory(attribute=colour, value="czerwony")
    for sku, s in (("SUK-S", "S"), ("SUK-M", "M")):
        VariantFactory(
            product=product,
            sku=sku,
            stock=2,
            attribute_values=[AttributeValueFactory(attribute=size, value=s), red],
        )
    feed = FeedFactory(store=store)

    _run, content = generate_feed(feed)

    items = google_items(content)
    assert items["SUK-S"]["item_group_id"] == items["SUK-M"]["item_group_id"] == [f"P{product.pk}"]
    assert items["SUK-S"]["size"] == ["S"] and items["SUK-M"]["size"] == ["M"]
    assert items["SUK-S"]["color"] == ["czerwony"]
    assert items["SUK-S"]["title"] == ["Sukienka S / czerwony"]
    variant = Variant.objects.get(sku="SUK-M")
    assert items["SUK-M"]["link"][0].endswith(f"?wariant={variant.pk}")


def test_sale_price_preorder_backorder_and_out_of_stock(store, generate_feed):
    sale = product_with_image(store)
    VariantFactory(
        product=sale, sku="SALE", price=Decimal("80.00"), compare_at_price=Decimal("100.00"), stock=3
    )
    pre = product_with_image(store)
    release = timezone.localdate() + timedelta(days=20)
    PreorderVariantFactory(product=pre, sku="PRE", release_date=release)
    back = product_with_image(store)
    VariantFactory(product=back, sku="BACK", backorder=Variant.Backorder.ALLOW, stock=0)
    gone = product_with_image(store)
    VariantFactory(product=gone, sku="GONE", stock=0)
    feed = FeedFactory(store=store, backorder_days=10)

    _run, content = generate_feed(feed)

    items = google_items(content)
    assert items["SALE"]["price"] == ["100.00 PLN"] and items["SALE"]["sale_price"] == ["80.00 PLN"]
    assert "sale_price_effective_date" not in items["SALE"]
    assert items["PRE"]["availability"] == ["preorder"]
    assert items["PRE"]["availability_date"][0].startswith(release.isoformat() + "T00:00+")
    assert items["BACK"]["availability"] == ["backorder"]
    assert items["BACK"]["availability_date"][0].startswith(
        (timezone.localdate() + timedelta(days=10)).isoformat()
    )
    assert items["GONE"]["availability"] == ["out_of_stock"]


def test_hostile_catalog_content_gives_valid_feed_and_warnings(store, generate_feed):
    hostile = product_with_image(
        store,
        name="Zły " + "x" * 196,  # the longest name the catalog stores
        description="Opis ]]> z <script>alert('x')</script> i \x01\x07\x1b\x0b znakami 🎉 &amp; <b>HTML</b>"
        + " słowo" * 2000,
        brand="",
    )
    VariantFactory(product=hostile, sku="HOSTILE", ean="123", stock=1)
    no_image = ProductFactory(store=store, name="Bez zdjęcia")
    VariantFactory(product=no_image, sku="NOIMG", stock=1)
    free = product_with_image(store, name="Za darmo")
    VariantFactory(product=free, sku="FREE", price=Decimal("0.00"), stock=1)
    long_id = product_with_image(store, name="Długi SKU")
    VariantFactory(product=long_id, sku="L" * 60, stock=1)
    feed = FeedFactory(store=store)

    run, content = generate_feed(feed)

    items = google_items(content)  # well-formed, or this raises
    assert set(items) == {"HOSTILE"}
    item = items["HOSTILE"]
    assert len(item["title"][0]) <= 150
    description = item["description"][0]
    assert "]]>" in description and "🎉" in description and "& HTML" in description
    assert (
        "<script>" not in description
        and "alert" not in description
        and "\x07" not in description
        and "\x0b" not in description
    )
    assert "gtin" not in item and item["identifier_exists"] == ["no"]
    assert run.items == 1 and run.skipped == 3
    codes = run.warning_summary
    assert codes["title_shortened"] == 1
    assert codes["description_shortened"] == 1
    assert len(description) <= 5000
    assert codes["gtin_invalid"] == 1
    assert codes["brand_missing"] >= 1
    assert codes["image_missing"] == 1
    assert codes["price_not_positive"] == 1
    assert codes["id_too_long"] == 1
    skipped = {w["item"] for w in run.warnings if w["skipped"]}
    assert skipped == {"NOIMG", "FREE", "L" * 60}


def test_description_falls_back_to_title_and_brand_fallback(store, generate_feed):
    product = product_with_image(store, name="Kubek", description="", brand="")
    VariantFactory(product=product, sku="KUB", stock=1)
    feed = FeedFactory(store=store, brand_fallback="Koszyk")

    run, content = generate_feed(feed)

    item = google_items(content)["KUB"]
    assert item["description"] == ["Kubek"]
    assert item["brand"] == ["Koszyk"]
    assert run.warning_summary.get("description_missing") == 1
    assert "brand_missing" not in run.warning_summary


def test_sets_are_bundles_and_gift_cards_unpublished_inactive_are_left_out(store, generate_feed):
    a = VariantFactory(store=store, sku="A", stock=5)
    ProductImageFactory(product=a.product)
    bundle = make_set(store=store, components=[(a, 2)], price=Decimal("150.00"))
    ProductImageFactory(product=bundle.product)
    hidden = product_with_image(store, is_published=False)
    VariantFactory(product=hidden, sku="HIDDEN", stock=5)
    inactive = product_with_image(store)
    VariantFactory(product=inactive, sku="OFF", stock=5, is_active=False)
    card = product_with_image(store, kind=Product.Kind.GIFT_CARD)
    VariantFactory(product=card, sku="CARD", track_stock=False)
    feed = FeedFactory(store=store)

    _run, content = generate_feed(feed)

    items = google_items(content)
    assert set(items) == {"A", bundle.sku}
    assert items[bundle.sku]["is_bundle"] == ["yes"]
    assert items[bundle.sku]["availability"] == ["in_stock"]


def test_tsv_has_one_row_per_item_and_no_tabs_or_newlines_in_cells(store, generate_feed):
    product = product_with_image(store, name="Tab\there", description="line one\nline\ttwo\r\nthree")
    ProductImageFactory(product=product, position=1)
    VariantFactory(product=product, sku="TSV-1", stock=4, compare_at_price=Decimal("120.00"))
    give_stock(Variant.objects.get(sku="TSV-1"), 4)
    feed = GoogleTSVFeedFactory(store=store, shipping_price=Decimal("12.00"))

    _run, content = generate_feed(feed)

    rows = tsv_rows(content)
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == "TSV-1"
    assert row["title"] == "Tab here"
    assert row["description"] == "line one line two three"
    assert row["price"] == "120.00 PLN" and row["sale_price"] == "99.00 PLN"
    assert row["shipping"] == "PL:::12.00 PLN"
    assert row["additional_image_link"].startswith(store.absolute_url("/media/"))


def test_hostile_sku_store_name_and_template_never_break_the_xml(store, generate_feed):
    store.name = "Sklep \x01<&>"
    store.save()
    product = product_with_image(store, name="Nazwa\x02 z <i>tagiem</i>")
    VariantFactory(product=product, sku="A\x01<&>B", stock=1)
    blank = product_with_image(store, name="Pusty SKU")
    VariantFactory(product=blank, sku="\x01\x02", stock=1)
    feed = FeedFactory(store=store, title_template="{name}\x03 – {sku}")

    run, content = generate_feed(feed)

    items = google_items(content)
    assert set(items) == {"A<&>B"}
    assert items["A<&>B"]["title"] == ["Nazwa z tagiem – A<&>B"]
    assert run.warning_summary["id_empty"] == 1

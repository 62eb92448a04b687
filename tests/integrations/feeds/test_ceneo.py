"""Ceneo XML (and a Domodi feed in Ceneo's format) parsed back: offers, availability codes,
categories, images, attributes, sets, weight, CDATA, one offer per product."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Variant
from tests.catalog.factories import (
    AttributeFactory,
    AttributeValueFactory,
    CategoryFactory,
    PreorderVariantFactory,
    ProductFactory,
    ProductImageFactory,
    VariantFactory,
    make_set,
)

from .conftest import parse
from .factories import CeneoFeedFactory, DomodiFeedFactory

pytestmark = pytest.mark.django_db


def offers(content: bytes) -> dict[str, object]:
    root = parse(content)
    assert root.tag == "offers" and root.get("version") == "1"
    assert root.nsmap.get("xsi") == "http://www.w3.org/2001/XMLSchema-instance"
    group = root.find("group")
    assert group.get("name") == "other"
    return {o.get("id"): o for o in group.iterfind("o")}


def attrs(o) -> dict[str, str]:
    return {a.get("name"): a.text for a in o.find("attrs")}


def test_offer_with_category_images_attributes_and_cdata(store, generate_feed):
    top = CategoryFactory(store=store, name="Dom")
    leaf = CategoryFactory(store=store, parent=top, name="Kuchnia")
    product = ProductFactory(
        store=store,
        category=leaf,
        name="Czajnik <b>stalowy</b>",
        brand="Sowa",
        description="Gotuje ]]> szybko & cicho",
    )
    ProductImageFactory(product=product, position=0)
    ProductImageFactory(product=product, position=1)
    VariantFactory(
        product=product, sku="CZ-1", ean="5901234123457", price=Decimal("129.90"), stock=7, weight_grams=1250
    )
    feed = CeneoFeedFactory(store=store)

    run, content = generate_feed(feed)

    o = offers(content)["CZ-1"]
    assert run.items == 1
    assert o.get("price") == "129.90"
    assert o.get("avail") == "1"
    assert o.get("stock") == "7"
    assert o.get("weight") == "1.25"
    assert o.get("set") == "0"
    assert o.get("url").startswith(store.absolute_url("/p/"))
    assert o.findtext("cat") == "Dom/Kuchnia"
    assert o.findtext("name") == "Czajnik stalowy"
    assert o.findtext("desc") == "Gotuje ]]> szybko & cicho"
    imgs = o.find("imgs")
    assert imgs.find("main").get("url") and len(imgs.findall("i")) == 1
    assert attrs(o) == {"Producent": "Sowa", "EAN": "5901234123457", "Kod_producenta": "CZ-1"}
    assert b"<name><![CDATA[Czajnik stalowy]]></name>" in content
    # "]]>" cannot live in CDATA: that text is escaped instead, and parses back the same.
    assert b"Gotuje ]]&gt; szybko &amp; cicho" in content


def test_availability_codes(store, generate_feed):
    VariantFactory(store=store, sku="NOW", stock=2)
    VariantFactory(store=store, sku="BACK", stock=0, backorder=Variant.Backorder.ALLOW)
    PreorderVariantFactory(store=store, sku="PRE5", release_date=timezone.localdate() + timedelta(days=5))
    PreorderVariantFactory(store=store, sku="PRE60", release_date=timezone.localdate() + timedelta(days=60))
    VariantFactory(store=store, sku="GONE", stock=0)
    VariantFactory(store=store, sku="ENDLESS", track_stock=False)
    feed = CeneoFeedFactory(store=store, backorder_days=3)

    _run, content = generate_feed(feed)

    found = offers(content)
    assert {k: o.get("avail") for k, o in found.items()} == {
        "NOW": "1",
        "BACK": "3",
        "PRE5": "7",
        "PRE60": "99",
        "GONE": "99",
        "ENDLESS": "1",
    }
    assert found["GONE"].get("stock") == "0"
    assert found["ENDLESS"].get("stock") is None  # untracked: no number to promise
    assert found["PRE5"].get("stock") == "10"  # pre-order limit left


def test_sets_and_missing_image_brand_ean_are_warnings_not_skips(store, generate_feed):
    part = VariantFactory(store=store, sku="PART", stock=10)
    bundle = make_set(store=store, components=[(part, 2)], price=Decimal("99.00"))
    feed = CeneoFeedFactory(store=store)

    run, content = generate_feed(feed)

    found = offers(content)
    assert found[bundle.sku].get("set") == "1"
    assert found[bundle.sku].get("stock") == "5"
    assert found["PART"].find("imgs") is None
    assert run.skipped == 0 and run.items == 2
    assert run.warning_summary["image_missing"] == 2
    assert run.warning_summary["gtin_missing"] == 2
    assert run.warning_summary["brand_missing"] == 2


def test_one_offer_per_product_merges_variants(store, generate_feed):
    size = AttributeFactory(store=store, name="Rozmiar", slug="rozmiar")
    product = ProductFactory(store=store, name="Kurtka", brand="Jeż")
    ProductImageFactory(product=product)
    VariantFactory(
        product=product,
        sku="K-S",
        price=Decimal("200.00"),
        stock=2,
        attribute_values=[AttributeValueFactory(attribute=size, value="S")],
    )
    VariantFactory(
        product=product,
        sku="K-M",
        price=Decimal("180.00"),
        stock=3,
        attribute_values=[AttributeValueFactory(attribute=size, value="M")],
    )
    feed = CeneoFeedFactory(store=store, one_offer_per_product=True)

    run, content = generate_feed(feed)

    found = offers(content)
    assert list(found) == [f"P{product.pk}"]
    o = found[f"P{product.pk}"]
    assert o.get("price") == "180.00"
    assert o.get("stock") == "5"
    assert o.findtext("name") == "Kurtka"
    assert "?wariant=" not in o.get("url")
    assert run.items == 1


def test_domodi_feed_reuses_the_ceneo_writer_with_its_own_overrides(store, generate_feed):
    product = ProductFactory(store=store, name="Torba", brand="")
    ProductImageFactory(product=product)
    VariantFactory(product=product, sku="T-1", price=Decimal("100.00"), stock=4)
    feed = DomodiFeedFactory(
        store=store,
        price_markup_percent=Decimal("12.5"),
        brand_fallback="Koszyk",
        title_template="{brand} – {name} ({sku})",
        utm_source="domodi",
        utm_medium="cpc",
    )

    _run, content = generate_feed(feed)

    o = offers(content)["T-1"]
    assert o.get("price") == "112.50"
    assert o.findtext("name") == "Koszyk – Torba (T-1)"
    assert attrs(o)["Producent"] == "Koszyk"
    assert o.get("url").endswith("?utm_source=domodi&utm_medium=cpc")

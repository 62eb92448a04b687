"""Unit prices and product safety (GPSR) in the feeds: Google's unit_pricing_measure and
unit_pricing_base_measure (RSS and TSV), Ceneo's named attributes. Google has no GPSR attribute."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.catalog.factories import (
    ManufacturerFactory,
    ProductImageFactory,
    ResponsiblePersonFactory,
    VariantFactory,
)

from .conftest import google_items, parse, tsv_rows
from .factories import CeneoFeedFactory, FeedFactory, GoogleTSVFeedFactory

pytestmark = pytest.mark.django_db


def _safe_variant(store, **kwargs):
    maker = ManufacturerFactory(
        store=store,
        name="Tea Works Ltd",
        address="1 Leaf Road\nHangzhou",
        country="CN",
        email="",
        url="https://tea.example.cn",
    )
    person = ResponsiblePersonFactory(
        store=store, name="Import Herbat sp. z o.o.", email="gpsr@herbaty.example"
    )
    variant = VariantFactory(
        store=store,
        sku="TEA-250",
        product__manufacturer=maker,
        product__responsible_person=person,
        product__safety_information="<p>Przechowywać w suchym miejscu.</p>\n<p>Nie dla dzieci.</p>",
        net_quantity=Decimal("250"),
        unit="g",
        price=Decimal("32.49"),
        stock=4,
        **kwargs,
    )
    ProductImageFactory(product=variant.product)  # Google skips an item without an image
    return variant


def test_google_unit_pricing(store, generate_feed):
    _safe_variant(store)
    plain = VariantFactory(store=store, sku="PLAIN", stock=1)
    ProductImageFactory(product=plain.product)
    _run, content = generate_feed(FeedFactory(store=store))
    items = google_items(content)
    assert items["TEA-250"]["unit_pricing_measure"] == ["250g"]
    assert items["TEA-250"]["unit_pricing_base_measure"] == ["1kg"]
    assert "unit_pricing_measure" not in items["PLAIN"]
    assert not any(name.startswith(("manufacturer", "responsible")) for name in items["TEA-250"])


def test_google_tsv_unit_pricing(store, generate_feed):
    _safe_variant(store)
    _run, content = generate_feed(GoogleTSVFeedFactory(store=store))
    (row,) = tsv_rows(content)
    assert row["unit_pricing_measure"] == "250g" and row["unit_pricing_base_measure"] == "1kg"


def test_ceneo_carries_gpsr_attributes(store, generate_feed):
    _safe_variant(store)
    _run, content = generate_feed(CeneoFeedFactory(store=store))
    (o,) = parse(content).find("group").iterfind("o")
    attrs = {a.get("name"): a.text for a in o.find("attrs")}
    assert attrs["Producent_nazwa"] == "Tea Works Ltd"
    assert attrs["Producent_adres"] == "1 Leaf Road Hangzhou, CN"
    assert attrs["Producent_kontakt"] == "https://tea.example.cn"
    assert attrs["Osoba_odpowiedzialna_UE"].startswith("Import Herbat sp. z o.o., ")
    assert "gpsr@herbaty.example" in attrs["Osoba_odpowiedzialna_UE"]
    assert attrs["Ostrzezenia_bezpieczenstwo"] == "Przechowywać w suchym miejscu. Nie dla dzieci."
    assert attrs["Producent"] == "Tea Works Ltd"  # no brand: the manufacturer

"""Search engines and link previews: meta title and description, H1, OG tags, canonical and
JSON-LD (Product, BreadcrumbList, Organization), escaped so no text can close the script."""

import json
import re
from decimal import Decimal

import pytest

from catalog.seo import cut_at_word, meta_description
from tests.catalog.factories import CategoryFactory, ProductGroupFactory, VariantFactory

pytestmark = pytest.mark.django_db


def _jsonld(page: str) -> list[dict]:
    return [
        json.loads(b) for b in re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    ]


def _title(page: str) -> str:
    return re.search(r"<title>(.*?)</title>", page, re.S).group(1)


def test_cut_at_word():
    text = "słowo " * 40
    cut = cut_at_word(text.strip(), 155)
    assert len(cut) <= 155 and cut.endswith("słowo…")
    assert cut_at_word("krótki opis") == "krótki opis"


def test_defaults_and_own_fields(client, store):
    category = CategoryFactory(store=store, name="Herbata", slug="herbata")
    long_description = (
        "<p>Zielona herbata z gór Fujian, &amp; zbierana ręcznie. " + "Bardzo aromatyczna. " * 12 + "</p>"
    )
    VariantFactory(
        store=store,
        product__name="Herbata Sencha",
        product__slug="sencha",
        product__category=category,
        product__description=long_description,
        price=Decimal("24.90"),
        stock=2,
    )
    page = client.get("/p/sencha/").content.decode()
    assert _title(page) == "Herbata Sencha — Sklep Testowy"
    description = re.search(r'<meta name="description" content="(.*?)">', page).group(1)
    assert description.startswith("Zielona herbata z gór Fujian, &amp; zbierana") and "<p>" not in description
    assert len(description.replace("&amp;", "&")) <= 155 and description.endswith("…")
    assert '<meta property="og:title" content="Herbata Sencha — Sklep Testowy">' in page
    assert '<meta property="og:type" content="product">' in page
    assert '<meta property="product:price:amount" content="24.90">' in page
    assert '<link rel="canonical" href="http://localhost:8000/p/sencha/">' in page
    assert "<h1>Herbata Sencha</h1>" in page
    types = [d["@type"] for d in _jsonld(page)]
    assert types == ["Product", "BreadcrumbList", "Organization"]
    crumbs = _jsonld(page)[1]["itemListElement"]
    assert [c["item"] for c in crumbs] == [
        "http://localhost:8000/",
        "http://localhost:8000/k/herbata/",
        "http://localhost:8000/p/sencha/",
    ]

    product = category.products.get()
    product.seo_title = "Sencha z Fujianu – kup online"
    product.seo_description = "Własny opis dla Google."
    product.h1 = "Zielona herbata Sencha"
    product.save()
    page = client.get("/p/sencha/").content.decode()
    assert _title(page) == "Sencha z Fujianu – kup online"
    assert '<meta name="description" content="Własny opis dla Google.">' in page
    assert "<h1>Zielona herbata Sencha</h1>" in page


def test_og_image_is_absolute(client, store):
    from tests.catalog.factories import ProductImageFactory

    variant = VariantFactory(store=store, product__slug="z-obrazkiem", stock=1)
    ProductImageFactory(product=variant.product)
    page = client.get("/p/z-obrazkiem/").content.decode()
    image = re.search(r'<meta property="og:image" content="(.*?)">', page).group(1)
    assert image.startswith("http://localhost:8000/")


def test_category_and_group_pages(client, store):
    category = CategoryFactory(store=store, name="Kubki", slug="kubki", description="Kubki ceramiczne.")
    VariantFactory(store=store, product__category=category, stock=1)
    page = client.get("/k/kubki/").content.decode()
    assert _title(page) == "Kubki — Sklep Testowy"
    assert '<meta property="og:title" content="Kubki — Sklep Testowy">' in page
    assert [d["@type"] for d in _jsonld(page)] == ["BreadcrumbList", "Organization"]
    category.h1 = "Kubki do kawy i herbaty"
    category.seo_title = "Kubki ceramiczne"
    category.save()
    page = client.get("/k/kubki/").content.decode()
    assert "<h1>Kubki do kawy i herbaty</h1>" in page and _title(page) == "Kubki ceramiczne"

    group = ProductGroupFactory(store=store, name="Nowości", slug="nowosci", description="Co nowego.")
    page = client.get(f"/g/{group.slug}/").content.decode()
    assert _title(page) == "Nowości — Sklep Testowy"
    assert '<meta name="description" content="Co nowego.">' in page
    assert [d["@type"] for d in _jsonld(page)] == ["BreadcrumbList", "Organization"]


def test_jsonld_cannot_close_the_script(client, store):
    hostile = "</script><script>alert(1)</script>"
    category = CategoryFactory(store=store, name=hostile, slug="zla")
    VariantFactory(
        store=store,
        product__name=hostile,
        product__slug="zly",
        product__category=category,
        product__description=hostile,
        product__brand=hostile,
        sku="</script>",
        stock=1,
    )
    store.company_name = hostile
    store.save()
    for url in ("/p/zly/", "/k/zla/"):
        page = client.get(url).content.decode()
        assert "<script>alert(1)" not in page
        blocks = _jsonld(page)
        assert blocks  # every block still parses as JSON
        assert any(hostile in json.dumps(b, ensure_ascii=False) for b in blocks)


def test_meta_description_of_empty_text_falls_back_to_the_name(store):
    from catalog.models import Product

    assert meta_description(Product(name="Nazwa", description="<p> </p>")) == "Nazwa"

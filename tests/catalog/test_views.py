import json
import re
import zoneinfo
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import PriceHistory
from tests.catalog.factories import (
    AttributeFactory,
    AttributeValueFactory,
    CategoryFactory,
    DigitalVariantFactory,
    GiftCardProductFactory,
    PreorderVariantFactory,
    ProductFactory,
    ProductGroupFactory,
    ProductImageFactory,
    VariantFactory,
    give_stock,
    make_set,
)
from tests.shop.factories import StoreFactory

pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


def cards(response) -> list[str]:
    return re.findall(r'<h3 class="card-title">(.*?)</h3>', html(response))


@pytest.fixture
def catalog(store):
    clothes = CategoryFactory(store=store, name="Odzież")
    dresses = CategoryFactory(parent=clothes, name="Sukienki")
    shoes = CategoryFactory(store=store, name="Buty")
    colour = AttributeFactory(store=store, name="Kolor", slug="kolor")
    red = AttributeValueFactory(attribute=colour, value="Czerwony", slug="czerwony", color="#c00000")
    blue = AttributeValueFactory(attribute=colour, value="Niebieski", slug="niebieski")
    cheap = VariantFactory(
        store=store,
        product__category=dresses,
        product__name="Sukienka tania",
        price=Decimal("49.99"),
        stock=5,
    )
    cheap.attribute_values.set([red])
    dear = VariantFactory(
        store=store, product__category=clothes, product__name="Płaszcz drogi", price=Decimal("899"), stock=0
    )
    dear.attribute_values.set([blue])
    VariantFactory(
        store=store, product__category=shoes, product__name="Trampki", price=Decimal("199"), stock=2
    )
    return {"clothes": clothes, "dresses": dresses, "shoes": shoes, "cheap": cheap, "dear": dear}


def test_home_page(client, catalog):
    ProductGroupFactory(store=catalog["clothes"].store, name="Nowości", slug="nowosci")
    response = client.get("/")
    assert response.status_code == 200
    page = html(response)
    assert "Sukienka tania" in page and "/g/nowosci/" in page
    assert '<a href="/k/odziez/">Odzież</a>' in page  # nav categories from the context processor


def test_category_lists_its_subtree_with_breadcrumbs(client, catalog):
    response = client.get("/k/odziez/")
    assert response.status_code == 200
    assert sorted(cards(response)) == ["Płaszcz drogi", "Sukienka tania"]
    response = client.get("/k/sukienki/")
    assert cards(response) == ["Sukienka tania"]
    assert 'href="/k/odziez/"' in html(response)  # breadcrumb to the parent
    assert '<link rel="canonical" href="http://localhost:8000/k/sukienki/">' in html(response)


def test_category_filters_and_sorting(client, catalog):
    assert cards(client.get("/k/odziez/?sort=price")) == ["Sukienka tania", "Płaszcz drogi"]
    assert cards(client.get("/k/odziez/?sort=price_desc")) == ["Płaszcz drogi", "Sukienka tania"]
    assert cards(client.get("/k/odziez/?price_min=100")) == ["Płaszcz drogi"]
    assert cards(client.get("/k/odziez/?price_min=10&price_max=60")) == ["Sukienka tania"]
    # A reversed range is understood as meant.
    assert sorted(cards(client.get("/k/odziez/?price_min=900&price_max=10"))) == [
        "Płaszcz drogi",
        "Sukienka tania",
    ]
    assert cards(client.get("/k/odziez/?available=1")) == ["Sukienka tania"]
    assert cards(client.get("/k/odziez/?attr=kolor:niebieski")) == ["Płaszcz drogi"]
    assert sorted(cards(client.get("/k/odziez/?attr=kolor:niebieski&attr=kolor:czerwony"))) == [
        "Płaszcz drogi",
        "Sukienka tania",
    ]
    page = html(client.get("/k/odziez/"))
    assert 'value="kolor:czerwony"' in page and "Czerwony" in page  # facet


@pytest.mark.parametrize(
    "query",
    [
        "price_min=abc",
        "price_max=-5",
        "price_min=1e400",
        "price_min=NaN",
        "page=-1",
        "page=0",
        "page=99999",
        "page=abc",
        "page=" + "9" * 50,
        "sort=evil",
        "sort=price;DROP TABLE",
        "attr=<script>alert(1)</script>",
        "attr=kolor",
        "attr=" + "a" * 500,
        "available=maybe",
        "attr=kolor:czerwony&" + "&".join(f"attr=x{i}:y" for i in range(50)),
    ],
)
def test_garbage_listing_parameters_never_500(client, catalog, query):
    response = client.get(f"/k/odziez/?{query}")
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in html(response)


def test_garbage_price_gets_a_message_and_other_filters_still_apply(client, catalog):
    response = client.get("/k/odziez/?price_min=abc&sort=price")
    assert cards(response) == ["Sukienka tania", "Płaszcz drogi"]
    assert "Pominięto filtr" in html(response)


def test_pagination(client, store, settings):
    settings.CATALOG_PAGE_SIZE = 2
    category = CategoryFactory(store=store, name="Książki")
    for i in range(5):
        VariantFactory(store=store, product__category=category, product__name=f"Książka {i}", price=10 + i)
    first = client.get("/k/ksiazki/?sort=price")
    assert cards(first) == ["Książka 0", "Książka 1"]
    assert "page=2" in html(first)
    assert cards(client.get("/k/ksiazki/?sort=price&page=3")) == ["Książka 4"]
    assert cards(client.get("/k/ksiazki/?sort=price&page=99999")) == ["Książka 4"]
    assert cards(client.get("/k/ksiazki/?sort=price&page=-1")) == ["Książka 0", "Książka 1"]
    assert "?page=3" in html(client.get("/k/ksiazki/?page=3"))  # canonical keeps the page


def test_unknown_or_foreign_category_is_404(client, catalog):
    CategoryFactory(store=StoreFactory(), name="Obca")
    assert client.get("/k/obca/").status_code == 404
    assert client.get("/k/nie-ma/").status_code == 404
    hidden = CategoryFactory(store=catalog["clothes"].store, name="Ukryta", is_published=False)
    assert client.get(hidden.get_absolute_url()).status_code == 404


def test_product_page(client, store):
    category = CategoryFactory(store=store, name="Kurtki")
    variant = VariantFactory(
        store=store,
        product__category=category,
        product__name="Kurtka <b>zimowa</b>",
        product__brand="Łania",
        price=Decimal("1234.50"),
        ean="5901234123457",
        stock=10,
    )
    ProductImageFactory(product=variant.product)
    response = client.get(variant.product.get_absolute_url())
    assert response.status_code == 200
    page = html(response)
    assert "1\xa0234,50\xa0zł" in page
    assert "Cena zawiera 23% VAT" in page
    assert "w magazynie" in page
    assert "Kurtka &lt;b&gt;zimowa&lt;/b&gt;" in page
    assert '<meta property="og:type" content="product">' in page
    assert '<meta property="product:price:amount" content="1234.50">' in page
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S).group(1))
    assert data["@type"] == "Product" and data["name"] == "Kurtka <b>zimowa</b>"
    assert data["offers"]["price"] == "1234.50" and data["offers"]["priceCurrency"] == "PLN"
    assert data["offers"]["availability"] == "https://schema.org/InStock"
    assert data["gtin"] == "5901234123457" and data["brand"]["name"] == "Łania"
    assert "\\u003Cb\\u003E" in page or "\\u003cb\\u003e" in page.lower()  # escaped inside the script
    assert f'<link rel="canonical" href="http://localhost:8000{variant.product.get_absolute_url()}">' in page
    assert 'href="/k/kurtki/"' in page


def test_product_of_another_store_or_unpublished_is_404(client, store):
    foreign = VariantFactory(store=StoreFactory())
    assert client.get(foreign.product.get_absolute_url()).status_code == 404
    hidden = VariantFactory(store=store, product__is_published=False)
    assert client.get(hidden.product.get_absolute_url()).status_code == 404
    no_variants = ProductFactory(store=store)
    assert client.get(no_variants.get_absolute_url()).status_code == 404


def test_availability_labels(client, store):
    low = VariantFactory(store=store, stock=2, low_stock_threshold=3)
    assert "ostatnie sztuki" in html(client.get(low.product.get_absolute_url()))
    out = VariantFactory(store=store, stock=0)
    page = html(client.get(out.product.get_absolute_url()))
    assert "niedostępny — powiadom mnie" in page and 'data-testid="back-in-stock"' in page
    assert "Dodaj do koszyka" not in page
    pre = PreorderVariantFactory(store=store)
    assert "Dodaj do koszyka" in html(client.get(pre.product.get_absolute_url()))


WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")


def test_preorder_says_in_polish_when_it_ships_with_the_full_date(client, store, time_machine):
    # New Year's Eve, 23:30 in Warsaw: the year on the page comes from the date, not from "now".
    time_machine.move_to(datetime(2026, 12, 31, 23, 30, tzinfo=WARSAW), tick=False)
    pre = PreorderVariantFactory(store=store, release_date=date(2027, 1, 6), product__name="Saga, tom 1")
    page = html(client.get(pre.product.get_absolute_url()))
    assert "Przedsprzedaż — wysyłka od 6 stycznia 2027" in page
    assert "pre-order" not in page.lower() and "06.01" not in page
    assert "Dodaj do koszyka" in page
    # The listing card and the cart say it in Polish too.
    listing = html(client.get("/"))
    assert '<p class="avail preorder">Przedsprzedaż</p>' in listing
    client.post("/koszyk/dodaj/", {"variant": pre.pk, "quantity": 1})
    cart = html(client.get("/koszyk/"))
    assert "Przedsprzedaż: wysyłka 6 stycznia 2027." in cart and "06.01" not in cart


def test_digital_and_gift_card_products_do_not_claim_to_be_in_a_warehouse(client, store):
    ebook = DigitalVariantFactory(store=store, product__name="E-book o chlebie")
    card = VariantFactory(product=GiftCardProductFactory(store=store), track_stock=False)
    page = html(client.get(ebook.product.get_absolute_url()))
    assert "Od ręki — do pobrania po opłaceniu" in page
    assert "w magazynie" not in page
    page = html(client.get(card.product.get_absolute_url()))
    assert "Od ręki — kod wyślemy e-mailem po opłaceniu" in page and "w magazynie" not in page
    listing = html(client.get("/"))
    assert "Do pobrania od ręki" in listing and "Wysyłka e-mailem" in listing
    assert "w magazynie" not in listing


def test_discounted_price_shows_the_omnibus_lowest_price(client, store):
    variant = VariantFactory(store=store, price=Decimal("199.00"), stock=3)
    PriceHistory.objects.filter(variant=variant).update(valid_from=timezone.now() - timedelta(days=20))
    from catalog import services

    services.change_price(variant=variant, price=Decimal("149.00"), compare_at_price=Decimal("199.00"))
    page = html(client.get(variant.product.get_absolute_url()))
    assert "149,00\xa0zł" in page and "199,00\xa0zł" in page
    assert "Najniższa cena z 30 dni przed obniżką: 199,00\xa0zł" in page
    listing = html(client.get("/"))
    assert "Najniższa cena z 30 dni przed obniżką: 199,00\xa0zł" in listing
    full_price = VariantFactory(store=store, price=Decimal("10"))
    assert "Najniższa cena" not in html(client.get(full_price.product.get_absolute_url()))


def test_variant_selector_offers_only_real_combinations(client, store):
    size = AttributeFactory(store=store, name="Rozmiar", slug="rozmiar", position=1)
    colour = AttributeFactory(store=store, name="Kolor", slug="kolor", position=2)
    s = AttributeValueFactory(attribute=size, value="S", slug="s", position=1)
    m = AttributeValueFactory(attribute=size, value="M", slug="m", position=2)
    red = AttributeValueFactory(attribute=colour, value="Czerwony", slug="czerwony")
    product = ProductFactory(store=store, name="Koszulka", variant_attributes=[size, colour])
    s_red = VariantFactory(product=product, name="S / Czerwony", attribute_values=[s, red], stock=0)
    m_red = VariantFactory(product=product, name="M / Czerwony", attribute_values=[m, red], stock=4)
    VariantFactory(product=product, name="ukryty", is_active=False, attribute_values=[m, red])
    page = html(client.get(product.get_absolute_url()))
    # Default: the first sellable variant; the sold-out one is listed but disabled.
    assert f'<option value="{m_red.pk}" selected>' in page
    assert f'<option value="{s_red.pk}" disabled>' in page
    assert "ukryty" not in page
    assert f'href="?wariant={s_red.pk}"' in page and 'class="unavailable"' in page
    page = html(client.get(f"{product.get_absolute_url()}?wariant={s_red.pk}"))
    assert "powiadom mnie" in page
    # A garbage or foreign variant id falls back to the default.
    for bad in ("abc", "-1", str(VariantFactory().pk)):
        assert client.get(f"{product.get_absolute_url()}?wariant={bad}").status_code == 200


def test_set_page_lists_its_contents(client, store):
    a = VariantFactory(store=store, product__name="Kubek", stock=50)
    b = VariantFactory(store=store, product__name="Herbata", stock=50)
    bundle = make_set(store=store, components=[(a, 2), (b, 1)], name="Zestaw herbaciany")
    page = html(client.get(bundle.product.get_absolute_url()))
    assert "Ten zestaw zawiera" in page and "2 × " in page and "Kubek" in page and "Herbata" in page
    assert "w magazynie" in page


def test_related_and_recommended_products(client, store):
    main = VariantFactory(store=store, product__name="Sweter czerwony").product
    sibling = VariantFactory(store=store, product__name="Sweter zielony").product
    extra = VariantFactory(store=store, product__name="Szalik").product
    main.related.add(sibling)
    main.recommended.add(extra)
    page = html(client.get(main.get_absolute_url()))
    assert "Inne wersje" in page and "Sweter zielony" in page
    assert "Może Ci się spodobać" in page and "Szalik" in page
    assert "Sweter czerwony" in html(client.get(sibling.get_absolute_url()))  # symmetrical


def test_group_page(client, store):
    a = VariantFactory(store=store, product__name="Świeca").product
    VariantFactory(store=store, product__name="Inne")
    ProductGroupFactory(store=store, name="Na prezent", slug="na-prezent", products=[a])
    response = client.get("/g/na-prezent/")
    assert response.status_code == 200 and cards(response) == ["Świeca"]
    assert client.get("/g/nie-ma/").status_code == 404
    ProductGroupFactory(store=StoreFactory(), slug="obca")
    assert client.get("/g/obca/").status_code == 404


def test_search_page(client, store, settings):
    VariantFactory(store=store, product__name="Żółty płaszcz")
    response = client.get("/szukaj/?q=zolty")
    assert response.status_code == 200 and cards(response) == ["Żółty płaszcz"]
    assert response.headers["X-Robots-Tag"] == "noindex"
    assert client.get("/szukaj/").status_code == 200
    assert client.get("/szukaj/?q=").status_code == 200
    long = client.get("/szukaj/?q=" + "zolty " * 2000)
    assert long.status_code == 200 and "skrócone do 100 znaków" in html(long)
    for q in ["%27%20OR%201=1--", "<script>", "\x00", "a" * 5000, "&&||!:*()"]:
        assert client.get("/szukaj/", {"q": q}).status_code == 200
    assert "<script>" not in html(client.get("/szukaj/", {"q": "<script>"})).split("<main")[1]


def test_money_filter():
    from catalog.templatetags.catalog_tags import money

    assert money(Decimal("1234.5")) == "1\xa0234,50\xa0zł"
    assert money(Decimal("1234567.891"), "PLN") == "1\xa0234\xa0567,89\xa0zł"
    assert money(Decimal("0.005")) == "0,01\xa0zł"
    assert money(Decimal("-12"), "EUR") == "-12,00\xa0€"
    assert money(None) == "" and money("garbage") == ""


def test_sitemap_robots_manifest_and_service_worker(client, store):
    category = CategoryFactory(store=store, name="Dom")
    product = VariantFactory(store=store, product__category=category).product
    foreign = VariantFactory(store=StoreFactory()).product
    ProductGroupFactory(store=store, slug="promocje")
    sitemap = client.get("/sitemap.xml")
    assert sitemap.status_code == 200
    body = html(sitemap)
    assert product.get_absolute_url() in body and "/k/dom/" in body and "/g/promocje/" in body
    assert foreign.get_absolute_url() not in body
    robots = client.get("/robots.txt")
    assert "Sitemap: http://localhost:8000/sitemap.xml" in html(robots)
    assert "Disallow: /koszyk/" in html(robots)
    manifest = client.get("/manifest.webmanifest")
    assert manifest["Content-Type"] == "application/manifest+json"
    data = manifest.json()
    assert data["start_url"].startswith("/") and data["display"] == "standalone"
    assert {i["sizes"] for i in data["icons"]} == {"192x192", "512x512"}
    sw = client.get("/sw.js")
    assert sw.status_code == 200 and sw["Service-Worker-Allowed"] == "/"
    assert sw["Content-Type"].startswith("application/javascript")
    text = html(sw)
    assert "/static/css/shop.css" in text and "/koszyk" in text and "/zamowienie" in text
    assert client.get("/offline/").status_code == 200


def test_pwa_icons_exist():
    from pathlib import Path

    from PIL import Image

    root = Path(__file__).resolve().parents[2] / "static" / "img"
    for name, size in [("icon-192.png", 192), ("icon-512.png", 512), ("icon-maskable-512.png", 512)]:
        with Image.open(root / name) as image:
            assert image.size == (size, size)


def test_english_interface(client, store, settings):
    variant = VariantFactory(store=store, stock=1)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = html(client.get(variant.product.get_absolute_url()))
    assert "Last items" in page and "Price includes 23% VAT" in page


def test_stock_change_is_visible_immediately(client, store):
    variant = VariantFactory(store=store, stock=0)
    assert "powiadom mnie" in html(client.get(variant.product.get_absolute_url()))
    give_stock(variant, 10)
    assert "w magazynie" in html(client.get(variant.product.get_absolute_url()))


def test_navigation_cache_is_forgotten_when_a_category_changes(client, store):
    from catalog import services

    first = CategoryFactory(store=store, name="Ogród")
    assert "Ogród" in html(client.get("/"))
    first.name = "Ogród i balkon"
    services.save_category(category=first)
    CategoryFactory(store=store, name="Zabawki")
    page = html(client.get("/"))
    assert "Ogród i balkon" in page and "Zabawki" in page

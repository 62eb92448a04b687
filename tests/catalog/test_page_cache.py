"""Cached catalog pages (catalog/pagecache.py): never stale, never another shopper's.

Every test fetches a page once (filling the cache), changes something through the shop's own
services (or the admin's model saves), and fetches again: the change must show at once.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache, caches
from django.middleware.csrf import _unmask_cipher_token
from django.test import Client

from catalog import pagecache, services, stock
from catalog.models import Product, Variant
from tests.catalog.factories import (
    AttributeFactory,
    AttributeValueFactory,
    CategoryFactory,
    ProductImageFactory,
    VariantFactory,
    main_warehouse,
)
from tests.shop.factories import StoreFactory

pytestmark = pytest.mark.django_db


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def cards(response) -> list[str]:
    return re.findall(r'<h3 class="card-title">(.*?)</h3>', html(response))


def main(response) -> str:
    """The page's main content (the cached part)."""
    return re.search(r'<main id="main">(.*)</main>', html(response), re.S).group(1)


def cards_of(page: str) -> list[str]:
    return re.findall(r'<h3 class="card-title">(.*?)</h3>', page)


def badge(response) -> str:
    return re.search(r'<span class="badge"[^>]*>(\d+)</span>', html(response)).group(1)


def csrf_values(response) -> list[str]:
    return re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html(response))


@pytest.fixture
def shelf(store):
    category = CategoryFactory(store=store, name="Sukienki", slug="sukienki")
    size = AttributeFactory(store=store, name="Rozmiar", slug="rozmiar")
    small = AttributeValueFactory(attribute=size, value="S", slug="s")
    dress = VariantFactory(
        store=store,
        product__category=category,
        product__name="Sukienka lniana",
        product__slug="sukienka-lniana",
        price=Decimal("100.00"),
        stock=3,
        attribute_values=[small],
    )
    coat = VariantFactory(
        store=store,
        product__category=category,
        product__name="Płaszcz wełniany",
        product__slug="plaszcz",
        price=Decimal("300.00"),
        stock=2,
    )
    return {"category": category, "dress": dress, "coat": coat}


def test_a_warm_category_product_search_and_home_page_cost_no_query(
    client, shelf, django_assert_num_queries, django_assert_max_num_queries
):
    urls = ["/k/sukienki/", "/p/sukienka-lniana/", "/szukaj/?q=sukienka", "/"]
    for url in urls:
        # cold: the page's own queries, plus the store's look (branding) and its footer (content),
        # each one query on a cold cache and cached per store afterwards
        with django_assert_max_num_queries(12):
            first = html(client.get(url))
        with django_assert_num_queries(0):  # warm: the store, the tree and the body are cached
            second = html(client.get(url))
        assert cards_of(first) == cards_of(second)


def test_a_price_change_shows_at_once(client, shelf):
    assert "100,00\xa0zł" in html(client.get("/p/sukienka-lniana/"))
    assert "100,00\xa0zł" in html(client.get("/k/sukienki/"))
    services.change_price(variant=shelf["dress"], price=Decimal("79.00"))
    assert "79,00\xa0zł" in html(client.get("/p/sukienka-lniana/"))
    listing = html(client.get("/k/sukienki/"))
    assert "79,00\xa0zł" in listing and "100,00\xa0zł" not in listing


def test_a_price_changed_by_percent_and_in_the_admin_shows_at_once(client, shelf, admin_client):
    services.change_prices_by_percent(products=[shelf["coat"].product], percent=Decimal("-10"))
    assert "270,00\xa0zł" in html(client.get("/p/plaszcz/"))
    coat = Variant.objects.get(pk=shelf["coat"].pk)
    coat.price = Decimal("199.00")
    coat.save()  # e.g. an inline in the admin
    assert "199,00\xa0zł" in html(client.get("/p/plaszcz/"))


def test_stock_going_to_zero_shows_at_once(client, shelf, store):
    assert 'data-testid="availability"' in html(client.get("/p/plaszcz/"))
    assert "back-in-stock" not in html(client.get("/p/plaszcz/"))
    stock.adjust_stock(variant=shelf["coat"], warehouse=main_warehouse(store), set_to=0)
    page = html(client.get("/p/plaszcz/"))
    assert 'data-testid="back-in-stock"' in page
    assert "out_of_stock" in html(client.get("/k/sukienki/"))


def test_a_sale_and_a_reservation_of_the_last_units_show_at_once(client, shelf):
    assert "out_of_stock" not in html(client.get("/k/sukienki/"))
    stock.reserve_stock(lines=[(shelf["coat"], 2)], reference="cart-1", minutes=15)
    assert 'data-testid="back-in-stock"' in html(client.get("/p/plaszcz/"))
    stock.release_reservation(reference="cart-1")
    assert 'data-testid="back-in-stock"' not in html(client.get("/p/plaszcz/"))
    stock.sell_now(lines=[(shelf["coat"], 2)], reference="order-1")
    assert 'data-testid="back-in-stock"' in html(client.get("/p/plaszcz/"))


def test_unpublishing_removes_the_product_at_once(client, shelf):
    assert "Płaszcz wełniany" in cards(client.get("/k/sukienki/"))
    assert client.get("/p/plaszcz/").status_code == 200
    services.set_published(products=[shelf["coat"].product], published=False)
    assert "Płaszcz wełniany" not in cards(client.get("/k/sukienki/"))
    assert client.get("/p/plaszcz/").status_code == 404
    assert "Płaszcz wełniany" not in cards(client.get("/szukaj/?q=plaszcz"))
    assert "Płaszcz wełniany" not in cards(client.get("/"))


def test_a_new_product_in_the_category_shows_at_once(client, shelf, store):
    assert len(cards(client.get("/k/sukienki/"))) == 2
    VariantFactory(store=store, product__category=shelf["category"], product__name="Bluza nowa", stock=1)
    assert "Bluza nowa" in cards(client.get("/k/sukienki/"))
    assert "Bluza nowa" in cards(client.get("/"))


def test_a_renamed_category_a_new_relation_and_a_new_image_show_at_once(client, shelf):
    assert "<h1>Sukienki</h1>" in html(client.get("/k/sukienki/"))
    category = shelf["category"]
    category.name = "Sukienki letnie"
    services.save_category(category=category)
    page = html(client.get("/k/sukienki/"))
    assert "<h1>Sukienki letnie</h1>" in page
    menu = re.search(r'<nav class="categories".*?</nav>', page, re.S).group(0)
    assert "Sukienki letnie" in menu  # the cached category menu too

    assert "Płaszcz wełniany" not in html(client.get("/p/sukienka-lniana/"))
    shelf["dress"].product.recommended.add(shelf["coat"].product)
    assert "Płaszcz wełniany" in html(client.get("/p/sukienka-lniana/"))

    assert "placeholder.svg" in html(client.get("/p/plaszcz/"))
    ProductImageFactory(product=shelf["coat"].product)
    assert "placeholder.svg" not in html(client.get("/p/plaszcz/"))


def test_a_language_switch_shows_the_other_language(client, shelf):
    polish = html(client.get("/k/sukienki/"))
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    english = html(client.get("/k/sukienki/"))
    assert "2 products" in english and "2 produkty" in polish
    assert 'lang="en"' in english
    assert "Available only" in english and "Available only" not in polish
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "pl"
    assert "2 produkty" in html(client.get("/k/sukienki/"))


def test_another_store_never_gets_this_stores_page(client, shelf, settings):
    settings.ALLOWED_HOSTS = ["testserver", "drugi.example.pl"]
    other = StoreFactory(domain="drugi.example.pl", name="Drugi Sklep", currency="EUR")
    category = CategoryFactory(store=other, name="Sukienki", slug="sukienki")
    VariantFactory(store=other, product__category=category, product__name="Kleid", price=Decimal("20.00"))
    ours = cards(client.get("/k/sukienki/"))
    theirs = cards(client.get("/k/sukienki/", HTTP_HOST="drugi.example.pl"))
    assert ours == ["Płaszcz wełniany", "Sukienka lniana"] or sorted(ours) == [
        "Płaszcz wełniany",
        "Sukienka lniana",
    ]
    assert theirs == ["Kleid"]
    assert "20,00\xa0€" in html(client.get("/k/sukienki/", HTTP_HOST="drugi.example.pl"))
    assert client.get("/p/sukienka-lniana/", HTTP_HOST="drugi.example.pl").status_code == 404


def test_a_store_change_shows_at_once(client, shelf, store):
    assert "100,00\xa0zł" in html(client.get("/p/sukienka-lniana/"))
    store.currency = "EUR"
    store.save()
    assert "100,00\xa0€" in html(client.get("/p/sukienka-lniana/"))


def test_the_cart_badge_login_and_csrf_token_are_never_shared(shelf, django_user_model):
    shopper = Client()
    html(shopper.get("/p/sukienka-lniana/"))
    response = shopper.post(
        "/koszyk/dodaj/", {"variant": shelf["dress"].pk, "quantity": 2}, HTTP_REFERER="/p/sukienka-lniana/"
    )
    assert response.status_code in (200, 302)
    mine = shopper.get("/p/sukienka-lniana/")
    assert badge(mine) == "2"

    other = Client()
    theirs = other.get("/p/sukienka-lniana/")  # served from the cache the shopper filled
    assert badge(theirs) == "0"
    secrets = {_unmask_cipher_token(v) for v in csrf_values(theirs)}
    assert secrets == {other.cookies[django_settings.CSRF_COOKIE_NAME].value}  # their own, everywhere
    assert pagecache.CSRF_PLACEHOLDER not in html(theirs)

    user = django_user_model.objects.create_user(email="ania@example.pl", password="x" * 12)
    member = Client()
    member.force_login(user)
    assert "/konto/" in html(member.get("/k/sukienki/"))
    assert 'href="/konto/"' not in html(Client().get("/k/sukienki/"))


def test_the_add_to_cart_form_works_with_a_cached_page(shelf):
    """The CSRF token inside a cached body is the requesting shopper's own: the form posts."""
    shopper = Client(enforce_csrf_checks=True)
    Client().get("/p/sukienka-lniana/")  # another visitor fills the cache
    page = html(shopper.get("/p/sukienka-lniana/"))
    token = re.search(r'action="/koszyk/dodaj/".*?name="csrfmiddlewaretoken" value="([^"]+)"', page, re.S)
    response = shopper.post(
        "/koszyk/dodaj/", {"csrfmiddlewaretoken": token.group(1), "variant": shelf["dress"].pk}
    )
    assert response.status_code in (200, 302)
    assert badge(shopper.get("/k/sukienki/")) == "1"


def test_filter_messages_are_shown_to_each_shopper_and_not_to_others(shelf):
    first = html(Client().get("/k/sukienki/?price_min=abc"))
    second = html(Client().get("/k/sukienki/?price_min=abc"))  # from the cache
    assert 'class="messages"' in first and 'class="messages"' in second
    assert 'class="messages"' not in html(Client().get("/k/sukienki/"))


def test_tracking_parameters_neither_split_the_cache_nor_reach_the_links(client, store, shelf):
    for i in range(60):
        VariantFactory(store=store, product__category=shelf["category"], product__name=f"Bluza {i}")
    first = main(client.get("/k/sukienki/?utm_source=newsletter&fbclid=abc123"))
    assert "utm_source" not in first and "fbclid" not in first
    assert 'href="?page=2"' in first

    def body_keys():  # whole pages are kept per full URL; the bodies must not split
        return {key for key in cache._cache if ":catalog:full:" not in key}

    keys_before = body_keys()
    html(client.get("/k/sukienki/?utm_source=other&gclid=zzz"))
    assert body_keys() == keys_before


@pytest.mark.parametrize(
    "query",
    [
        "page=" + "9" * 5000,
        "attr=" + "&attr=".join(f"x{i}:y" for i in range(500)),
        "sort=%00%ff" + "a" * 3000,
        "price_min=" + "1" * 4000,
        "q=" + "ż" * 2000,
        "wariant=" + "-1" * 500,
    ],
)
def test_hostile_parameters_get_a_page_and_a_bounded_cache_key(client, shelf, query):
    for url in (f"/k/sukienki/?{query}", f"/p/sukienka-lniana/?{query}", f"/szukaj/?{query}"):
        response = client.get(url)
        assert response.status_code == 200
        again = client.get(url)
        assert cards(again) == cards(response)
    assert all(len(key) < 200 for key in cache._cache)


def test_a_cache_outage_still_serves_the_page(client, shelf, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    html(client.get("/k/sukienki/"))
    backend = caches["default"]
    for method in ("get", "get_many", "set", "add", "incr", "delete", "get_or_set"):
        monkeypatch.setattr(backend, method, broken)
    assert "Sukienka lniana" in cards(client.get("/k/sukienki/"))
    services.change_price(variant=shelf["dress"], price=Decimal("55.00"))  # a write still works


def test_a_lost_version_key_never_revives_old_pages(client, shelf):
    html(client.get("/k/sukienki/"))
    cache.delete(pagecache.version_key(shelf["category"].store_id))  # evicted
    Product.objects.filter(pk=shelf["coat"].product_id).update(name="Płaszcz zimowy")  # unannounced
    assert "Płaszcz zimowy" in cards(client.get("/k/sukienki/"))


def test_the_version_is_bumped_again_when_the_transaction_commits(shelf, django_capture_on_commit_callbacks):
    store_id = shelf["category"].store_id
    before = pagecache.current_version(store_id)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.change_price(variant=shelf["dress"], price=Decimal("90.00"))
        during = pagecache.current_version(store_id)
    assert callbacks
    assert before < during < pagecache.current_version(store_id)


def test_page_cache_can_be_turned_off(client, shelf, settings, django_assert_max_num_queries):
    settings.CATALOG_PAGE_CACHE_SECONDS = 0
    html(client.get("/k/sukienki/"))
    with django_assert_max_num_queries(8) as captured:
        html(client.get("/k/sukienki/"))
    assert len(captured.captured_queries) > 0


def test_a_visitor_without_cookies_gets_the_whole_cached_page_with_their_own_token(shelf):
    def full_pages():
        return {key for key in cache._cache if ":catalog:full:" in key}

    first = Client(enforce_csrf_checks=True)
    html(first.get("/p/sukienka-lniana/"))
    assert len(full_pages()) == 1  # kept for the next visitor without cookies

    second = Client(enforce_csrf_checks=True)
    page = second.get("/p/sukienka-lniana/")
    secret = second.cookies[django_settings.CSRF_COOKIE_NAME].value
    assert {_unmask_cipher_token(v) for v in csrf_values(page)} == {secret}
    assert page["Content-Type"].startswith("text/html")
    assert page["Content-Language"] == "pl"
    token = csrf_values(page)[0]
    added = second.post("/koszyk/dodaj/", {"csrfmiddlewaretoken": token, "variant": shelf["dress"].pk})
    assert added.status_code in (200, 302)


def test_a_session_or_consent_cookie_never_gets_a_whole_cached_page(client, shelf):
    html(Client().get("/k/sukienki/"))  # a cookie-less visitor fills the whole-page cache
    before = {key for key in cache._cache if ":catalog:full:" in key}
    for cookie in ("sessionid", "messages", "marketing_consent"):
        visitor = Client()
        visitor.cookies[cookie] = "x"
        assert "Sukienka lniana" in cards(visitor.get("/k/sukienki/"))
    assert {key for key in cache._cache if ":catalog:full:" in key} == before

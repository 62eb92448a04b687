"""Storefront search in Polish: stems, synonyms, typos, left-out words, the page when nothing
matches, and what a search page costs in queries. Recall on the demo: test_search_recall.py."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from catalog import selectors
from catalog.bulk import search_text
from catalog.models import SearchSynonym
from catalog.text import search_stems, stem_pl
from tests.catalog.factories import (
    AttributeFactory,
    AttributeValueFactory,
    CategoryFactory,
    VariantFactory,
)
from tests.shop.factories import StoreFactory, SuperuserFactory

pytestmark = pytest.mark.django_db


def names(store, query: str) -> list[str]:
    return sorted(p.name for p in selectors.search_products(store, query))


def cards(response) -> list[str]:
    return re.findall(r'<h3 class="card-title">(.*?)</h3>', response.content.decode())


@pytest.mark.parametrize(
    "forms",
    [
        ["koszula", "koszuli", "koszule", "koszulka", "koszulki", "koszulek", "koszuleczka"],
        ["sweter", "swetry", "swetra", "sweterek"],
        ["sukienka", "sukienki", "sukienek", "sukience", "sukieneczka"],
        ["kurtka", "kurtki", "kurtek", "kurtce"],
        ["zolty", "zolta", "zolte", "zoltego"],
        ["czerwony", "czerwona", "czerwone", "czerwonych"],
        ["talerz", "talerze", "talerzyk"],
        ["buty", "butow"],
    ],
)
def test_inflected_and_diminutive_forms_share_a_stem_or_a_prefix_of_it(forms):
    stems = [stem_pl(f) for f in forms]
    base = stems[0]
    for form, stem in zip(forms, stems, strict=True):
        assert base.startswith(stem) or stem.startswith(base), (form, stem, base)


@pytest.mark.parametrize("word", ["", "a", "xl", "42", "usb-c", "5901234123457", "ab1", "żółw", "x" * 5000])
def test_stemming_leaves_short_numeric_and_odd_words_alone_or_shorter(word):
    stem = stem_pl(word)
    assert word.startswith(stem) or len(stem) <= len(word)
    if len(word) < 4 or not word.isascii() or not word.isalpha():
        assert stem == word


def test_search_stems_of_hostile_text():
    assert search_stems("") == []
    assert search_stems("%_\\'\" <script> \x00") == ["script"]
    assert search_stems("Żółta koszulka, żółte koszulki!") == ["zolt", "koszul"]


def test_search_text_keeps_the_words_and_adds_their_stems():
    text = search_text(
        name="Koszulka żółta", brand="Krok", category_name="Koszule", codes=["KO-1", "", "M / Żółty"]
    )
    assert text.startswith("koszulka zolta krok koszule ko-1 m / zolty ")
    assert " koszul " in f"{text} " and " zolt " in f"{text} "


def test_inflection_diacritics_and_diminutives_find_products(store):
    VariantFactory(store=store, product__name="Koszula lniana", name="M / Żółty")
    VariantFactory(store=store, product__name="Sweter z golfem", name="L / Czerwony")
    VariantFactory(store=StoreFactory(), product__name="Koszula w innym sklepie")
    for query in ["koszulka", "koszuli", "KOSZULKI", "koszulę", "koszula zolta", "żółta koszula"]:
        assert names(store, query) == ["Koszula lniana"], query
    for query in ["swetry", "sweterek", "czerwone swetry"]:
        assert names(store, query) == ["Sweter z golfem"], query
    assert names(store, "lniany") == ["Koszula lniana"]
    assert names(store, "spodnie") == []
    assert names(store, "   ") == [] and names(store, "%_\\'\"") == []


def test_typos_are_forgiven_on_every_database(store):
    VariantFactory(store=store, product__name="Sukienka letnia w kwiaty")
    VariantFactory(store=store, product__name="Patelnia żeliwna")
    assert names(store, "sukinka") == ["Sukienka letnia w kwiaty"]
    assert names(store, "patelnai") == ["Patelnia żeliwna"]
    assert names(store, "sukinka letnia") == ["Sukienka letnia w kwiaty"]
    assert names(store, "qwxzv") == []
    result = selectors.search(store, "sukinka")
    assert result.corrected and not result.dropped
    # Only the closest word stands for a typo: "koszlka" is "koszulka", not also "koszyk".
    VariantFactory(store=store, product__name="Koszulka lniana")
    VariantFactory(store=store, product__name="Koszyk na pranie")
    assert names(store, "koszlka") == ["Koszulka lniana"]


def test_synonyms_are_per_store_and_work_both_ways(store):
    VariantFactory(
        store=store,
        product__name="Trampki klasyczne",
        product__category=CategoryFactory(store=store, name="Obuwie"),
    )
    other = StoreFactory()
    SearchSynonym.objects.create(store=store, terms="buty, obuwie")
    SearchSynonym.objects.create(store=other, terms="trampki, kalosze")
    SearchSynonym.objects.create(store=store, terms="adidasy, tenisówki, trampki")
    assert names(store, "buty") == ["Trampki klasyczne"]
    assert names(store, "butów") == ["Trampki klasyczne"]
    assert names(store, "tenisowki") == ["Trampki klasyczne"]
    assert names(store, "kalosze") == []  # another store's synonym
    SearchSynonym.objects.create(store=store, terms="   ,  , ")  # nothing usable: ignored
    assert names(store, "buty") == ["Trampki klasyczne"]


def test_attribute_words_are_left_out_when_no_product_has_them_and_the_page_says_so(client, store):
    colour = AttributeFactory(store=store, name="Kolor", slug="kolor")
    red = AttributeValueFactory(attribute=colour, value="Czerwony", slug="czerwony")
    AttributeValueFactory(attribute=colour, value="Zielony", slug="zielony")
    VariantFactory(store=store, product__name="Sukienka kopertowa", name="Zielony")
    VariantFactory(store=store, product__name="Sweter z golfem", name="Czerwony", attribute_values=[red])
    result = selectors.search(store, "czerwona sukienka")
    assert [p.name for p in result.products] == ["Sukienka kopertowa"]
    assert result.dropped == ["czerwona"]
    response = client.get("/szukaj/", {"q": "czerwona sukienka"})
    assert cards(response) == ["Sukienka kopertowa"]
    page = response.content.decode()
    assert 'data-testid="search-dropped"' in page and "bez „czerwona”" in page
    assert names(store, "zielona sukienka") == ["Sukienka kopertowa"]
    assert selectors.search(store, "zielona sukienka").dropped == []


def test_unknown_words_are_left_out_of_a_longer_query(store):
    VariantFactory(store=store, product__name="Sukienka kopertowa")
    result = selectors.search(store, "sukienka na wesele")
    assert [p.name for p in result.products] == ["Sukienka kopertowa"] and result.dropped == ["wesele"]


def test_nothing_found_page_offers_suggestions_categories_and_popular_products(client, store):
    category = CategoryFactory(store=store, name="Koszule")
    VariantFactory(
        store=store, product__name="Koszula lniana", product__category=category, product__popularity=5
    )
    VariantFactory(store=store, product__name="Kubek ceramiczny", product__popularity=50)
    response = client.get("/szukaj/", {"q": "xqzw parasol"})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="search-empty"' in page and "Nic nie znaleźliśmy dla „xqzw parasol”" in page
    assert "filtr" not in page.split("<main")[1].lower()  # no filter is set: none is spoken of
    assert cards(response) == ["Kubek ceramiczny", "Koszula lniana"]  # popular products, most first
    assert 'href="/k/koszule/"' in page
    suggestions = client.get("/szukaj/", {"q": "koslua"}).content.decode()  # too far to correct
    assert re.search(r'data-testid="search-suggestions">.*koszula</a>', suggestions)


def test_an_empty_result_with_a_filter_set_speaks_of_the_filters(client, store):
    VariantFactory(store=store, product__name="Koszula lniana")
    page = client.get("/szukaj/", {"q": "koszula", "price_min": "5000"}).content.decode()
    assert "Żaden produkt nie pasuje do tych filtrów." in page
    assert 'data-testid="search-empty"' not in page


def test_an_empty_category_does_not_speak_of_filters(client, store):
    CategoryFactory(store=store, name="Pusta", slug="pusta")
    page = client.get("/k/pusta/").content.decode()
    assert "Nie ma tu jeszcze produktów." in page and "tych filtrów" not in page


def test_a_synonym_saved_in_the_admin_changes_the_cached_search_page(client, store):
    VariantFactory(store=store, product__name="Trzewiki skórzane")
    assert 'data-testid="search-empty"' in client.get("/szukaj/", {"q": "kozaki"}).content.decode()
    client.force_login(SuperuserFactory())
    response = client.post(
        reverse("admin:catalog_searchsynonym_add"), {"store": store.pk, "terms": "kozaki, trzewiki"}
    )
    assert response.status_code == 302
    assert SearchSynonym.objects.get().term_list() == ["kozaki", "trzewiki"]
    assert client.get(reverse("admin:catalog_searchsynonym_changelist")).status_code == 200
    client.logout()
    response = client.get("/szukaj/", {"q": "kozaki"})
    assert cards(response) == ["Trzewiki skórzane"]
    assert 'data-testid="search-empty"' not in response.content.decode()


# Queries of a search page before its body is cached, once the shop-wide caches (store, category
# tree) are warm: session/store lookups, the synonyms, EXISTS, count, the page's ids, its cards.
SEARCH_PAGE_QUERIES = 8
# Nothing found: a typo correction (vocabulary read, cached afterwards), the attribute values and a
# second EXISTS, then the popular products.
EMPTY_SEARCH_PAGE_QUERIES = 12


def test_search_page_query_counts(client, store, django_assert_max_num_queries):
    colour = AttributeFactory(store=store, name="Kolor", slug="kolor")
    AttributeValueFactory(attribute=colour, value="Czarny", slug="czarny")
    for i in range(30):
        VariantFactory(store=store, product__name=f"Koszula lniana {i}", name="M / Czarny")
    assert client.get("/").status_code == 200  # warm the shop-wide caches
    with django_assert_max_num_queries(SEARCH_PAGE_QUERIES):
        assert len(cards(client.get("/szukaj/", {"q": "koszulki"}))) == 30
    with django_assert_max_num_queries(SEARCH_PAGE_QUERIES + 2):  # a typo: the vocabulary, one EXISTS more
        assert len(cards(client.get("/szukaj/", {"q": "koszlua"}))) == 30
    with django_assert_max_num_queries(EMPTY_SEARCH_PAGE_QUERIES):
        response = client.get("/szukaj/", {"q": "czerwony parasol"})
    assert 'data-testid="search-empty"' in response.content.decode()
    with django_assert_max_num_queries(0):  # the same page again: from the page cache
        client.get("/szukaj/", {"q": "koszulki"})

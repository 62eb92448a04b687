"""Search recall on the demo catalog: realistic Polish queries a shopper types (inflected forms,
plurals, diminutives, no diacritics, typos, two words with a colour or a kind) each find a
relevant product on the first results page, for at least 95% of them.

"Relevant" is defined per query by what a shopper means: each expectation is a list of
alternatives, an alternative a set of words joined by "&" that must all be in the product's
normalised name and category name ("obuwie&czarny": black shoes). Where the demo has no such
product (no red dress), the nearest honest answer is relevant (a dress), and the page says which
word it left out (tests/catalog/test_search.py).

``bench/search_recall.py`` prints the same figure with timings.
"""

from __future__ import annotations

import random

import pytest
from django.conf import settings

from catalog import demo, selectors
from catalog.models import Product
from catalog.text import normalise_search
from shop.models import Store

pytestmark = pytest.mark.django_db

DEMO_RNG_SEED = "20261123:catalog"  # what manage.py seed_demo gives catalog.demo

# (query, relevant product: alternatives of "&"-joined words of its name and category)
QUERIES: list[tuple[str, list[str]]] = [
    # the examples
    ("koszulka", ["koszul"]),
    ("buty", ["obuwie"]),
    ("swetry", ["sweter"]),
    ("koszuli", ["koszul"]),
    ("czerwona sukienka", ["sukienka"]),  # the demo has no red dress: dresses, "czerwona" left out
    ("kurtka zolta", ["kurtka&zolty"]),
    # inflection, plurals
    ("koszule", ["koszul"]),
    ("koszulę", ["koszul"]),
    ("koszulek", ["koszul"]),
    ("koszulki", ["koszul"]),
    ("butów", ["obuwie"]),
    ("sweter", ["sweter"]),
    ("swetra", ["sweter"]),
    ("sukienki", ["sukienka"]),
    ("sukienek", ["sukienka"]),
    ("sukience", ["sukienka"]),
    ("kurtki", ["kurtka"]),
    ("kurtek", ["kurtka"]),
    ("kurtce", ["kurtka"]),
    ("bluzki", ["bluzka"]),
    ("bluzek", ["bluzka"]),
    ("trampek", ["trampki"]),
    ("mokasyn", ["mokasyny"]),
    ("sneakersów", ["sneakersy"]),
    ("trzewik", ["trzewiki"]),
    ("kubki", ["kubek"]),
    ("kubka", ["kubek"]),
    ("garnki", ["garnek"]),
    ("garnka", ["garnek"]),
    ("patelnie", ["patelnia"]),
    ("patelni", ["patelnia"]),
    ("talerze", ["talerz"]),
    ("czajniki", ["czajnik"]),
    ("czajnika", ["czajnik"]),
    ("dzbanki", ["dzbanek"]),
    ("miski", ["miska"]),
    ("wazony", ["wazon"]),
    ("świece", ["swieca"]),
    ("poduszki", ["poduszka"]),
    ("koce", ["koc "]),
    ("lampiony", ["lampion"]),
    ("ramki", ["ramka"]),
    ("kremy", ["krem"]),
    ("szampony", ["szampon"]),
    ("odżywki", ["odzywka"]),
    ("mydła", ["mydlo"]),
    ("olejki", ["olejek"]),
    ("balsamy", ["balsam"]),
    ("słuchawek", ["sluchawki"]),
    ("ładowarki", ["ladowarka"]),
    ("kable", ["kabel"]),
    ("kabla", ["kabel"]),
    ("głośniki", ["glosnik"]),
    ("książki", ["ksiazki"]),
    ("kryminały", ["kryminal"]),
    ("poradniki", ["poradnik"]),
    ("powieści", ["powiesc"]),
    ("kawy", ["kawa"]),
    ("herbaty", ["herbata"]),
    ("młynka", ["mlynek"]),
    ("zestawy", ["zestaw"]),
    # diminutives
    ("koszuleczka", ["koszul"]),
    ("sweterek", ["sweter"]),
    ("sukieneczka", ["sukienka"]),
    ("kurteczka", ["kurtka"]),
    ("bluzeczka", ["bluzka"]),
    ("kubeczek", ["kubek"]),
    ("talerzyk", ["talerz"]),
    ("miseczka", ["miska"]),
    ("świeczka", ["swieca"]),
    ("mydełko", ["mydlo"]),
    ("myszka", ["mysz"]),
    # without diacritics
    ("zolta bluzka", ["bluzka&zolty"]),
    ("ladowarka", ["ladowarka"]),
    ("sluchawki", ["sluchawki"]),
    ("mlynek do kawy", ["mlynek"]),
    ("ksiazka", ["ksiazki"]),
    ("odzywka", ["odzywka"]),
    ("mydlo", ["mydlo"]),
    ("glosnik", ["glosnik"]),
    ("swieca sojowa", ["swieca"]),
    ("kurtka przeciwdeszczowa", ["kurtka przeciwdeszczowa"]),
    ("zestaw nozy", ["zestaw nozy"]),
    ("reportaz", ["reportaz"]),
    # typos
    ("sukinka", ["sukienka"]),
    ("koszla", ["koszul"]),
    ("swetr", ["sweter"]),
    ("kurtak", ["kurtka"]),
    ("patelnai", ["patelnia"]),
    ("czjanik", ["czajnik"]),
    ("sluchawi", ["sluchawki"]),
    ("ladowraka", ["ladowarka"]),
    ("balsm", ["balsam"]),
    ("szampn", ["szampon"]),
    ("trampik", ["trampki"]),
    ("mokasnyy", ["mokasyny"]),
    # two words: colour, kind, material
    ("czarne buty", ["obuwie&czarny"]),
    ("zielona sukienka", ["sukienka&zielony"]),
    ("granatowa koszula", ["koszula&granatowy"]),
    ("beżowy sweter", ["sweter&bezowy"]),
    ("czarna kurtka", ["kurtka&czarny"]),
    ("białe trampki", ["trampki&bialy"]),
    ("czerwone sneakersy", ["sneakersy&czerwony"]),
    ("granatowe trampki", ["trampki&granatowy"]),
    ("zielona koszula", ["koszula&zielony"]),
    ("czarne mokasyny", ["mokasyny&czarny"]),
    ("białe trzewiki", ["trzewiki&bialy"]),
    ("biała koszula", ["koszula"]),  # no white shirt: shirts
    ("sukienka maxi", ["sukienka maxi"]),
    ("letnia sukienka", ["sukienka letnia"]),
    ("koszula lniana", ["koszula lniana"]),
    ("flanelowa koszula", ["koszula flanelowa"]),
    ("kurtka pikowana", ["kurtka pikowana"]),
    ("kurtka jeansowa", ["kurtka jeansowa"]),
    ("sweter merino", ["sweter z welny merino"]),
    ("bluzka oversize", ["bluzka oversize"]),
    ("kubek ceramiczny", ["kubek ceramiczny"]),
    ("deska do krojenia", ["deska do krojenia"]),
    ("etui na telefon", ["etui"]),
    ("kabel usb", ["kabel usb"]),
    ("słuchawki bezprzewodowe", ["sluchawki"]),
    ("szampon do włosów", ["szampon"]),
    ("krem do twarzy", ["krem"]),
    ("kawa ziarnista", ["kawa ziarnista"]),
    ("herbata earl grey", ["herbata", "earl grey"]),
    ("trampki 42", ["trampki"]),
    # the store's synonyms (catalog.demo.SEARCH_SYNONYMS)
    ("obuwie", ["obuwie"]),
    ("adidasy", ["sneakersy"]),
    ("t-shirt", ["koszul"]),
    ("pokrowiec na telefon", ["etui"]),
    ("zasilacz", ["ladowarka"]),
    ("ebook", ["e-book"]),
    ("bon podarunkowy", ["karta podarunkowa"]),
    ("kozaki", ["trzewiki"]),
    ("karta podarunkowa", ["karta podarunkowa"]),
]


def relevant(product: Product, expected: list[str]) -> bool:
    text = normalise_search(f"{product.name} {product.category.name if product.category else ''}") + " "
    return any(all(part in text for part in alternative.split("&")) for alternative in expected)


def first_page(store: Store, query: str) -> list[Product]:
    """The products the search page shows first (relevance, then popularity)."""
    qs = selectors.search_products(store, query).select_related("category")
    return list(qs.order_by("-rank", "-popularity", "pk")[: settings.CATALOG_PAGE_SIZE])


def recall(store: Store) -> tuple[float, list[str]]:
    misses = [q for q, expected in QUERIES if not any(relevant(p, expected) for p in first_page(store, q))]
    return 1 - len(misses) / len(QUERIES), misses


def test_recall_on_the_demo_catalog_is_at_least_95_percent(store):
    assert len(QUERIES) >= 100
    assert len({q for q, _ in QUERIES}) == len(QUERIES)
    demo.seed(store=store, rng=random.Random(DEMO_RNG_SEED))
    found, misses = recall(store)
    print(f"search recall: {found:.1%} of {len(QUERIES)} queries; missed: {misses}")
    assert found >= 0.95, misses
    # The issue's own examples are never among the misses.
    assert not {"koszulka", "buty", "swetry", "koszuli", "czerwona sukienka", "kurtka zolta"} & set(misses)

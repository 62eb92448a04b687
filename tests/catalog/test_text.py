import pytest

from catalog.models import Product
from catalog.services import unique_slug
from catalog.text import normalise_search, slugify_pl, transliterate
from tests.catalog.factories import ProductFactory


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Żółta sukienka", "zolta-sukienka"),
        ("Łódź – Kraków", "lodz-krakow"),
        ("ĄĆĘŁŃÓŚŹŻ ąćęłńóśźż", "acelnoszz-acelnoszz"),
        ("  Buty  męskie!!! 42 ", "buty-meskie-42"),
        ("Crème brûlée", "creme-brulee"),
        ("", ""),
        ("!!!", ""),
    ],
)
def test_slugify_transliterates_polish_letters(text, slug):
    assert slugify_pl(text) == slug


def test_transliterate_and_normalise_search():
    assert transliterate("łosoś") == "losos"
    assert normalise_search("  ŻÓŁTY   Płaszcz, <b>XL</b> ") == "zolty plaszcz b xl /b"


@pytest.mark.django_db
def test_unique_slug_adds_a_number_per_store(store):
    ProductFactory(store=store, slug="sukienka")
    ProductFactory(store=store, slug="sukienka-2")
    assert unique_slug(model=Product, store=store, text="Sukienka") == "sukienka-3"
    other = ProductFactory().store
    assert unique_slug(model=Product, store=other, text="Sukienka") == "sukienka"

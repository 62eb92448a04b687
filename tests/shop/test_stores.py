import pytest

from shop.stores import normalise_host, store_for_host
from tests.shop.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Sklep.Example.PL:8000", "sklep.example.pl"), ("localhost", "localhost"), ("[::1]:8000", "[::1]")],
)
def test_normalise_host(raw, expected):
    assert normalise_host(raw) == expected


def test_store_is_picked_by_host(settings):
    settings.STORE_HOST_FALLBACK = False
    a = StoreFactory(domain="a.example.pl")
    b = StoreFactory(domain="b.example.pl")
    assert store_for_host("a.example.pl:443") == a
    assert store_for_host("B.EXAMPLE.PL") == b
    assert store_for_host("c.example.pl") is None


def test_inactive_store_does_not_answer(settings):
    settings.STORE_HOST_FALLBACK = False
    StoreFactory(domain="old.example.pl", is_active=False)
    assert store_for_host("old.example.pl") is None


def test_fallback_to_default_store_when_enabled(settings):
    settings.STORE_HOST_FALLBACK = True
    default = StoreFactory(domain="main.example.pl", is_default=True)
    StoreFactory(domain="other.example.pl")
    assert store_for_host("unknown.example.pl") == default


def test_saving_a_store_invalidates_the_cached_lookup(settings):
    settings.STORE_HOST_FALLBACK = False
    assert store_for_host("new.example.pl") is None  # cached as "no store"
    store = StoreFactory(domain="new.example.pl")
    assert store_for_host("new.example.pl") == store


def test_unknown_host_gets_a_clear_404_page(client, settings):
    settings.STORE_HOST_FALLBACK = False
    settings.ALLOWED_HOSTS = ["*"]
    StoreFactory(domain="known.example.pl")
    response = client.get("/", HTTP_HOST="nobody.example.pl")
    assert response.status_code == 404
    assert b"No shop at this address" in response.content
    assert b"nobody.example.pl" in response.content


def test_host_outside_allowed_hosts_gets_400_not_500(client, settings):
    settings.ALLOWED_HOSTS = ["known.example.pl"]
    response = client.get("/", HTTP_HOST="evil.example.com")
    assert response.status_code == 400


def test_healthz_works_without_a_store(client, settings):
    settings.STORE_HOST_FALLBACK = False
    settings.ALLOWED_HOSTS = ["*"]
    response = client.get("/healthz", HTTP_HOST="lb.internal")
    assert response.status_code in (200, 503)
    assert "checks" in response.json()


def test_two_default_stores_are_refused_by_the_database():
    from django.db import IntegrityError, transaction

    StoreFactory(domain="one.example.pl", is_default=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        StoreFactory(domain="two.example.pl", is_default=True)


def test_store_language_is_the_default_and_the_cookie_overrides_it(client, settings):
    settings.STORE_HOST_FALLBACK = False
    StoreFactory(domain="testserver", default_language="en")
    assert client.get("/healthz").headers["Content-Language"] == "en"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "pl"
    assert client.get("/healthz").headers["Content-Language"] == "pl"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "xx-garbage"
    assert client.get("/healthz").headers["Content-Language"] == "en"


def test_a_known_host_costs_no_query_once_cached(settings, django_assert_num_queries):
    settings.STORE_HOST_FALLBACK = False
    store = StoreFactory(domain="szybki.example.pl", name="Szybki")
    assert store_for_host("szybki.example.pl") == store
    with django_assert_num_queries(0):
        cached = store_for_host("szybki.example.pl")
    assert cached == store and cached.name == "Szybki"
    store.name = "Szybki 2"
    store.save()  # invalidates: the next lookup sees the change
    assert store_for_host("szybki.example.pl").name == "Szybki 2"

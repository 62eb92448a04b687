"""Unknown addresses show the shop's own 404 page, also under `make run` (DEBUG on)."""

import pytest

from tests.shop.factories import StoreFactory

pytestmark = pytest.mark.django_db

SHOP_PAGE = "The page you are looking for does not exist"
TECHNICAL = "Using the URLconf defined in"


@pytest.fixture
def store(settings):
    settings.LANGUAGE_CODE = "en"
    return StoreFactory(domain="testserver", default_language="en")


def page(client, path):
    return client.get(path, HTTP_ACCEPT_LANGUAGE="en", HTTP_COOKIE="django_language=en")


@pytest.mark.parametrize("debug", [True, False])
def test_an_unknown_address_shows_the_shops_page_not_the_url_list(client, settings, store, debug):
    settings.DEBUG = debug
    response = page(client, "/no-such-page-at-all/")
    assert response.status_code == 404
    body = response.content.decode()
    assert TECHNICAL not in body and "shop.urls" not in body and "admin/" not in body
    assert "Page not found" in body or "Nie znaleziono strony" in body


def test_a_view_raising_404_shows_the_shops_page_with_debug_on(client, settings, store):
    settings.DEBUG = True
    response = page(client, "/p/no-such-product/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Http404" not in body and "Raised by:" not in body and TECHNICAL not in body
    assert "Page not found" in body or "Nie znaleziono strony" in body


def test_a_developer_can_ask_for_djangos_technical_page(client, settings, store):
    settings.DEBUG = True
    settings.DEBUG_TECHNICAL_404 = True
    response = page(client, "/no-such-page-at-all/")
    assert response.status_code == 404
    assert TECHNICAL in response.content.decode()


def test_a_missing_slash_still_redirects_with_debug_on(client, settings, store):
    settings.DEBUG = True
    response = page(client, "/szukaj")
    assert response.status_code == 301 and response["Location"] == "/szukaj/"


def test_api_404s_stay_json_with_debug_on(client, settings, store):
    settings.DEBUG = True
    response = client.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")

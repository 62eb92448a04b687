"""The storefront gift-card balance page: shows what is left and until when, tells a guesser
nothing (one answer for unknown, withdrawn, expired and other stores' cards), refuses malformed
codes with a message, and limits checks per IP and per code prefix."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from tests.catalog.factories import VariantFactory
from tests.orders.factories import GiftCardFactory
from tests.shop.factories import StoreFactory

pytestmark = pytest.mark.django_db
WARSAW = ZoneInfo("Europe/Warsaw")
NOW = datetime(2026, 9, 1, 12, 0, tzinfo=WARSAW)
URL = "/karta-podarunkowa/"
CODE = "ABCDEFGHJKLMNPQR"


def _result(response) -> str:
    html = response.content.decode()
    block = re.search(r'<div aria-live="polite" data-testid="balance-result">(.*?)</div>\s*<p><a', html, re.S)
    return " ".join(block.group(1).split())


@pytest.fixture
def card(store):
    return GiftCardFactory(
        store=store,
        code=CODE,
        initial_balance=Decimal("2000.00"),
        balance=Decimal("1234.50"),
        expires_at=datetime(2027, 3, 31, 23, 0, tzinfo=WARSAW),
    )


@time_machine.travel(NOW, tick=False)
def test_a_known_card_shows_its_balance_and_expiry_not_its_code(client, card):
    assert reverse("orders:gift-card-balance") == URL
    response = client.post(URL, {"code": "abcd-efgh-jklm-npqr"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "1\xa0234,50\xa0zł" in html  # shop.money
    assert "Ważna do 31.03.2027." in html
    assert "••••-NPQR" in html and CODE not in html and "ABCD-EFGH" not in html
    assert response["Cache-Control"].startswith("max-age=0")


@time_machine.travel(NOW, tick=False)
def test_unknown_withdrawn_expired_and_foreign_cards_get_the_same_answer(client, store):
    GiftCardFactory(store=store, code="WITHDRAWN2345678", is_active=False)
    GiftCardFactory(store=store, code="EXPIRED234567892", expires_at=NOW - timedelta(days=1))
    GiftCardFactory(store=StoreFactory(), code="OTHERSTORE234567")
    answers = {
        _result(client.post(URL, {"code": code}))
        for code in ("UNKNOWN234567892", "WITHDRAWN2345678", "EXPIRED234567892", "OTHERSTORE234567")
    }
    assert len(answers) == 1
    (answer,) = answers
    assert "Nie znaleźliśmy aktywnej karty podarunkowej o tym kodzie" in answer


@time_machine.travel(NOW, tick=False)
def test_a_used_up_card_shows_zero(client, store):
    GiftCardFactory(store=store, code=CODE, balance=Decimal("0"), expires_at=None)
    html = client.post(URL, {"code": CODE}).content.decode()
    assert "0,00\xa0zł" in html and "Bez terminu ważności." in html


SIXTEEN = "Kod karty podarunkowej ma 16 liter i cyfr"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "To pole jest wymagane."),
        ("ABC", SIXTEEN),
        ("ABCD-EFGH-JKLM-NPQ", SIXTEEN),
        ("ŻÓŁĆ-EFGH-JKLM-NPQR", SIXTEEN),
        ("ABCD EFGH JKLM NPQR X", SIXTEEN),
        ("'; DROP TABLE--", SIXTEEN),
        ("A" * 200, "co najwyżej 40 znaków"),
    ],
)
def test_malformed_codes_get_a_clear_error(client, store, code, message, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        response = client.post(URL, {"code": code})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'data-testid="balance-unknown"' not in html and 'data-testid="balance-found"' not in html


def test_checks_are_limited_per_ip(client, store, settings):
    settings.GIFT_CARD_BALANCE_CHECKS_LIMIT = 3
    codes = ["AAAA234567892345", "BBBB234567892345", "CCCC234567892345"]
    for code in codes:
        assert client.post(URL, {"code": code}).status_code == 200
    response = client.post(URL, {"code": "DDDD234567892345"})
    assert response.status_code == 429
    assert "Za dużo sprawdzeń salda" in response.content.decode()


def test_checks_are_limited_per_code_prefix_across_addresses(store, settings, card):
    settings.GIFT_CARD_BALANCE_CHECKS_LIMIT = 3
    for n in range(3):
        response = Client(REMOTE_ADDR=f"10.0.0.{n}").post(URL, {"code": f"ABCD23456789234{n + 2}"})
        assert response.status_code == 200
    response = Client(REMOTE_ADDR="10.0.0.99").post(URL, {"code": CODE})
    assert response.status_code == 429 and "1\xa0234,50" not in response.content.decode()
    # another prefix from a fresh address is still answered
    assert Client(REMOTE_ADDR="10.0.0.100").post(URL, {"code": "ZZZZ234567892345"}).status_code == 200


def test_the_form_needs_a_csrf_token(store, card):
    response = Client(enforce_csrf_checks=True).post(URL, {"code": CODE})
    assert response.status_code == 403


def test_the_page_itself_is_cheap_and_polish(client, store, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200 and "Saldo karty podarunkowej" in html and "Check balance" not in html


def test_the_cart_links_to_it(client, store):
    variant = VariantFactory(store=store, stock=3)
    client.post(reverse("orders:cart-add"), {"variant": variant.pk, "quantity": 1})
    html = client.get(reverse("orders:cart")).content.decode()
    assert f'<a href="{URL}" data-testid="gift-balance-link">Sprawdź saldo karty podarunkowej</a>' in html

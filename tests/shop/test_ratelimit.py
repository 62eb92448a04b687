"""The one rate limiter on the storefront: checkout floods, lockouts that say so, sliding windows."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client

from orders.models import Cart, Order
from shop import ratelimit
from tests.catalog.factories import VariantFactory, give_stock
from tests.orders.test_views import add, checkout
from tests.orders.test_views import shop as shop  # the fixture
from tests.shop.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_lock_ends_a_window_after_the_first_counted_attempt_not_on_the_clock():
    with time_machine.travel(1_800_000_037.0, tick=False) as clock:  # 37 s past a 5-minute boundary
        assert [ratelimit.allow("t:lock", limit=2, window=300) for _ in range(3)] == [True, True, False]
        assert ratelimit.check("t:lock", limit=2, window=300).retry_after == 300
        clock.shift(263)  # the next 5-minute boundary: a fixed window unlocked here
        assert ratelimit.is_limited("t:lock", limit=2, window=300)
        clock.shift(37)
        assert ratelimit.allow("t:lock", limit=2, window=300)


def test_no_window_long_stretch_holds_more_than_the_limit_around_a_boundary():
    with time_machine.travel(1_800_000_298.0, tick=False) as clock:  # 2 s before a boundary
        first = sum(ratelimit.allow("t:burst", limit=10, window=300) for _ in range(10))
        clock.shift(4)
        second = sum(ratelimit.allow("t:burst", limit=10, window=300) for _ in range(10))
    assert (first, second) == (10, 0)


def test_the_in_memory_fallback_uses_the_same_sliding_rule():
    with time_machine.travel(1_800_000_000.0, tick=False) as clock:
        local = ratelimit._LocalLimiter()
        now = 1_800_000_000.0
        verdicts = [local.hit("k", limit=2, window=60, now=now, record=True) for _ in range(3)]
        assert [v.allowed for v in verdicts] == [True, True, False]
        assert verdicts[-1].retry_after == 60
        clock.shift(60)
        assert local.hit("k", limit=2, window=60, now=now + 60, record=True).allowed


def test_storefront_checkout_floods_are_refused_in_polish_with_the_cart_intact(client, store, shop, settings):
    settings.CHECKOUT_ATTEMPTS_PER_CART = 100
    settings.CHECKOUT_ATTEMPTS_PER_IP = 3
    variant = VariantFactory(store=store)
    give_stock(variant, 100)
    placed = 0
    for i in range(3):
        shopper = Client(REMOTE_ADDR="10.8.0.1")
        add(shopper, variant)
        data = checkout(shopper, shop, payment="cod", email=f"kupiec{i}@example.com")
        assert shopper.post("/zamowienie/podsumowanie/", data).status_code == 302
        placed += 1
    assert Order.objects.count() == placed == 3

    shopper = Client(REMOTE_ADDR="10.8.0.1")
    add(shopper, variant)
    data = checkout(shopper, shop, payment="cod", email="kupiec9@example.com")
    refused = shopper.post("/zamowienie/podsumowanie/", data, follow=True)
    assert Order.objects.count() == 3
    text = refused.content.decode()
    assert "Zbyt wiele prób złożenia zamówienia w krótkim czasie. Koszyk został zachowany." in text
    assert "Spróbuj ponownie za" in text
    assert refused.redirect_chain[0][0].endswith("/zamowienie/podsumowanie/")
    cart = Cart.objects.get(email="kupiec9@example.com")
    assert cart.status == Cart.Status.OPEN and cart.lines.count() == 1
    # Another address still buys.
    other = Client(REMOTE_ADDR="10.8.0.2")
    add(other, variant)
    data = checkout(other, shop, payment="cod", email="inny@example.com")
    assert other.post("/zamowienie/podsumowanie/", data).status_code == 302
    assert Order.objects.count() == 4


def test_storefront_checkout_is_limited_per_email_across_carts(client, store, shop, settings):
    settings.CHECKOUT_ATTEMPTS_PER_CART = 1
    variant = VariantFactory(store=store)
    give_stock(variant, 100)
    first = Client(REMOTE_ADDR="10.8.1.1")
    add(first, variant)
    assert first.post("/zamowienie/podsumowanie/", checkout(first, shop, payment="cod")).status_code == 302
    second = Client(REMOTE_ADDR="10.8.1.2")  # same e-mail, another address and cart
    add(second, variant)
    refused = second.post("/zamowienie/podsumowanie/", checkout(second, shop, payment="cod"))
    assert refused.status_code == 302 and refused["Location"].endswith("/zamowienie/podsumowanie/")
    assert int(refused["Retry-After"]) >= 1
    assert Order.objects.count() == 1


LOCK_PL = "Zbyt wiele nieudanych prób logowania"


@pytest.mark.parametrize("email", ["ewa@example.com", "nie-ma-takiego@example.com"])
def test_a_locked_storefront_login_says_so_the_same_for_known_and_unknown_emails(store, settings, email):
    settings.LOGIN_RATE_LIMIT = 2
    UserFactory(email="ewa@example.com")
    c = Client(REMOTE_ADDR="10.9.0.1")
    for _ in range(2):
        page = c.post("/konto/logowanie/", {"username": email, "password": "zle-haslo"})
        assert page.status_code == 200 and LOCK_PL not in page.content.decode()
    locked = c.post("/konto/logowanie/", {"username": email, "password": "haslo-testowe-123"})
    assert locked.status_code == 429
    assert 1 <= int(locked["Retry-After"]) <= settings.LOGIN_RATE_WINDOW
    text = locked.content.decode()
    assert LOCK_PL in text and "Spróbuj ponownie za 15 minut." in text
    assert "_auth_user_id" not in c.session
    # From another address, guessing other e-mails: an ordinary "wrong password", no lock.
    other = Client(REMOTE_ADDR="10.9.0.2").post(
        "/konto/logowanie/", {"username": "x@example.com", "password": "y"}
    )
    assert other.status_code == 200 and LOCK_PL not in other.content.decode()


def test_a_locked_admin_login_says_so(store, settings):
    settings.LOGIN_RATE_LIMIT = 2
    staff = StaffFactory(email="obsluga@example.com")
    c = Client(REMOTE_ADDR="10.9.1.1")
    for _ in range(2):
        c.post("/admin/login/", {"username": staff.email, "password": "nope"})
    page = c.post("/admin/login/?next=/admin/", {"username": staff.email, "password": "haslo-testowe-123"})
    assert page.status_code == 200
    assert LOCK_PL in page.content.decode()
    assert "_auth_user_id" not in c.session


def test_stock_alert_sign_ups_honour_the_proxy_setting(client, store, settings):
    from tests.catalog.factories import VariantFactory as VF

    settings.CATALOG_ALERT_RATE_LIMIT = 1
    settings.TRUSTED_PROXIES = 1
    variant = VF(store=store)
    url = f"/p/{variant.product.slug}/powiadom/"
    proxy = Client(REMOTE_ADDR="10.0.0.254")
    proxy.post(url, {"variant": variant.pk, "email": "a@example.com"}, HTTP_X_FORWARDED_FOR="203.0.113.5")
    # A second shopper behind the same proxy is counted apart (the copy read REMOTE_ADDR only).
    assert ratelimit.check("catalog:alert:203.0.113.6", limit=1, window=3600).allowed
    assert not ratelimit.check("catalog:alert:203.0.113.5", limit=1, window=3600).allowed

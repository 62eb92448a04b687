import pytest
from django.contrib.auth import authenticate
from django.test import RequestFactory

from shop import ratelimit
from tests.shop.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    """Fixed windows roll over at window boundaries; keep every test inside one window."""
    monkeypatch.setattr(ratelimit.time, "time", lambda: 1_800_000_000.0)


def request_from(ip):
    return RequestFactory().post("/login", REMOTE_ADDR=ip)


def test_email_login_is_case_insensitive():
    user = UserFactory(email="anna@example.com")
    assert (
        authenticate(request_from("10.0.0.1"), username="Anna@Example.COM", password="haslo-testowe-123")
        == user
    )


def test_account_is_locked_after_too_many_failures_even_with_the_right_password(settings):
    settings.LOGIN_RATE_LIMIT = 3
    UserFactory(email="anna@example.com")
    for i in range(3):
        assert (
            authenticate(request_from(f"10.0.0.{i}"), username="anna@example.com", password="wrong") is None
        )
    # Another IP, right password: still refused, the account is under attack.
    assert (
        authenticate(request_from("10.9.9.9"), username="anna@example.com", password="haslo-testowe-123")
        is None
    )


def test_one_ip_guessing_many_accounts_is_stopped(settings):
    settings.LOGIN_RATE_LIMIT = 3
    victim = UserFactory(email="ewa@example.com")
    for i in range(3):
        authenticate(request_from("10.1.1.1"), username=f"nobody{i}@example.com", password="x")
    assert authenticate(request_from("10.1.1.1"), username=victim.email, password="haslo-testowe-123") is None
    assert (
        authenticate(request_from("10.2.2.2"), username=victim.email, password="haslo-testowe-123") == victim
    )


def test_admin_login_is_rate_limited(client, store, settings):
    settings.LOGIN_RATE_LIMIT = 2
    staff = StaffFactory(email="obsluga@example.com")
    for _ in range(2):
        client.post("/admin/login/", {"username": staff.email, "password": "nope"})
    response = client.post(
        "/admin/login/?next=/admin/", {"username": staff.email, "password": "haslo-testowe-123"}
    )
    assert response.status_code == 200  # form shown again, not logged in
    assert "_auth_user_id" not in client.session


def test_window_counter():
    assert all(ratelimit.allow("k", limit=3, window=60) for _ in range(3))
    assert ratelimit.allow("k", limit=3, window=60) is False
    assert ratelimit.is_limited("k", limit=3, window=60)
    assert 0 < ratelimit.retry_after("k", limit=3, window=60) <= 60


def test_client_ip_trusts_forwarded_for_only_when_configured(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 5.6.7.8")
    settings.TRUSTED_PROXIES = 0
    assert ratelimit.client_ip(request) == "10.0.0.1"
    settings.TRUSTED_PROXIES = 1
    assert ratelimit.client_ip(request) == "5.6.7.8"
    settings.TRUSTED_PROXIES = 2  # a CDN in front of the load balancer
    assert ratelimit.client_ip(request) == "1.2.3.4"


def test_a_huge_username_is_refused_quietly_and_keeps_cache_keys_short(settings, recwarn):
    huge = "a" * 5000 + "@example.com"
    assert authenticate(request_from("10.3.3.3"), username=huge, password="x") is None
    assert not [w for w in recwarn if "Cache key" in str(w.message)]

"""Shared fixtures. Factories live beside the tests of their app (tests/<app>/factories.py).

``KOSZYK_TEST_CLOCK`` (an ISO date-time; without an offset it is Warsaw time) starts the clock of
the whole test session, in every xdist worker, at that moment, ticking on from there: CI runs the
date-sensitive tests at a year end and on DST nights this way (docs/testing.md). Tests that need a
particular moment still use time-machine themselves; that nests inside the session's clock.
"""

import os
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings

from tests.shop.factories import StoreFactory

TEST_CLOCK_ENV = "KOSZYK_TEST_CLOCK"


def session_clock_start(value: str) -> datetime:
    """The moment ``KOSZYK_TEST_CLOCK`` asks for, as an aware datetime (naive means Warsaw time;
    give the offset for a moment in the repeated autumn hour)."""
    moment = datetime.fromisoformat(value.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("Europe/Warsaw"))


def pytest_configure(config):
    # Runs in the controller and in each xdist worker (they import this conftest too), before any
    # test module is imported, so module-level dates already see the moved clock.
    value = os.environ.get(TEST_CLOCK_ENV, "").strip()
    if not value:
        return
    try:
        start = session_clock_start(value)
    except ValueError as exc:
        raise pytest.UsageError(f"{TEST_CLOCK_ENV}={value!r} is not an ISO date-time: {exc}") from exc
    # Only the instant moves (in UTC): the process keeps its own TZ, as in an ordinary run.
    traveller = time_machine.travel(start.astimezone(UTC), tick=True)
    traveller.start()
    config.add_cleanup(traveller.stop)


def pytest_report_header(config):
    value = os.environ.get(TEST_CLOCK_ENV, "").strip()
    if value:
        return f"{TEST_CLOCK_ENV}={value}: the clock started at {session_clock_start(value).isoformat()}, ticking"
    return None


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    # Tests never need collected static files, and write mail/media/private files to a temp dir.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MAIL_DIR = tmp_path / "mail"
    settings.PRIVATE_ROOT = tmp_path / "private"
    settings.SECURE_SSL_REDIRECT = False
    # An HSTS header seen by the shared test browser would upgrade every later http://localhost
    # page of the live servers to https (ERR_SSL_PROTOCOL_ERROR).
    settings.SECURE_HSTS_SECONDS = 0
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = False
    # The built-in test gateway is off by default without DEBUG (shop/checks.py); most payment
    # tests pay through it. Tests of the production default switch it off themselves.
    settings.TEST_GATEWAY_ENABLED = True
    # Parcel lockers are checked against the InPost points API only in the tests that point it at
    # tests/fakes/inpost_points.py; elsewhere a locker code is checked by its pattern.
    settings.INPOST_POINTS_VALIDATE = False
    settings.INPOST_POINTS_API_URL = "http://127.0.0.1:9"
    yield


@pytest.fixture(autouse=True)
def _celery_eager():
    """Tasks run inline by default (after commit, like in production); tests that need a real
    worker start one and switch this off themselves."""
    from shop.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False


def _isolated_cache_settings(caches: dict) -> dict:
    """Each xdist worker gets a cache of its own, so one worker's cache.clear() or rate-limit
    counters never leak into another's tests. On Redis (CI) that is a Redis database number per
    worker (3, 4, ...: real Redis, isolated); without Redis, a per-process memory cache."""
    worker = int(re.sub(r"\D", "", os.environ.get("PYTEST_XDIST_WORKER", "gw0")) or 0)
    default = dict(caches["default"])
    if default["BACKEND"].endswith("RedisCache"):
        default["LOCATION"] = re.sub(r"/\d*$", "", default["LOCATION"].rstrip("/")) + f"/{3 + worker % 12}"
    else:
        default = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": f"tests-{worker}"}
    return {**caches, "default": default}


@pytest.fixture(scope="session", autouse=True)
def _worker_cache():
    from django.conf import settings

    # Also plain HTTP for the whole session: SecurityMiddleware reads these once, when a handler is
    # built, and the session-scoped live server builds its handler before per-test settings apply.
    # (An HSTS header seen by the shared test browser upgrades later http://localhost pages.)
    with override_settings(
        CACHES=_isolated_cache_settings(settings.CACHES),
        SECURE_SSL_REDIRECT=False,
        SECURE_HSTS_SECONDS=0,
        SESSION_COOKIE_SECURE=False,
        CSRF_COOKIE_SECURE=False,
    ):
        yield


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def store(db):
    """The default store, answering on ``testserver`` (Django's test client host), with its terms
    and privacy policy published (the checkout refuses orders without terms: content/pages.py)."""
    from tests.content.factories import publish_legal_pages

    store = StoreFactory(domain="testserver", name="Sklep Testowy", is_default=True)
    publish_legal_pages(store)
    return store

"""Fixtures for the integrations tests: a wholesaler connector config and the sample feeds."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from integrations import services
from integrations.models import ConnectorConfig

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "integrations"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


def make_config(
    store, *, profile="idosell-iof", name="Hurtownia", custom_profile=None, **options
) -> ConnectorConfig:
    raw = {
        "profile": profile,
        "markup_percent": "30",
        "download_images": False,
        "adopt_existing": True,
        **options,
    }
    config = ConnectorConfig(
        store=store,
        connector_type="wholesaler_feed",
        name=name,
        full_sync_time=dt.time(3, 0),
        stock_sync_minutes=15,
    )
    return services.save_config(config=config, raw_settings=raw, profile=custom_profile)


@pytest.fixture
def make_connector(store):
    def factory(**kwargs):
        return make_config(store, **kwargs)

    return factory


def iof_files(directory: Path = FIXTURES) -> dict[str, str]:
    return {
        "full": str(directory / "iof_full.xml"),
        "light": str(directory / "iof_light.xml"),
        "stocks": str(directory / "iof_stocks.xml"),
    }


@pytest.fixture
def wholesaler():
    """A running fake wholesaler serving the IOF sample files behind HTTP Basic auth."""
    from tests.fakes.wholesaler import FakeWholesaler

    fake = FakeWholesaler()
    for name, path in iof_files().items():
        fake.files[name] = Path(path).read_bytes()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def fast_http(settings):
    """Retries and breakers in milliseconds, no rate limiting: tests never wait for real."""
    settings.INTEGRATIONS_HTTP_RETRIES = 2
    settings.INTEGRATIONS_HTTP_BACKOFF_SECONDS = 0.01
    settings.INTEGRATIONS_HTTP_MAX_BACKOFF_SECONDS = 0.05
    settings.INTEGRATIONS_HTTP_TIMEOUT = 0.5
    settings.INTEGRATIONS_HTTP_CONNECT_TIMEOUT = 0.5
    settings.INTEGRATIONS_RATE_PER_SECOND = 0
    settings.INTEGRATIONS_BREAKER_THRESHOLD = 50
    settings.INTEGRATIONS_BREAKER_COOLDOWN_SECONDS = 0.2
    return settings


def url_connector(store, wholesaler, **options):
    urls = {name: wholesaler.feed_url(name) for name in ("full", "light", "stocks")}
    return make_config(
        store,
        source_urls=urls,
        username=wholesaler.username,
        password=wholesaler.password,
        **options,
    )


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """A process-local cache: breaker and rate-limit state must not be wiped by another xdist
    worker clearing the shared file cache in the middle of a test."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "integrations-tests",
        }
    }
    yield


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English (the msgids); Polish is checked in test_i18n."""
    from django.utils import translation

    with translation.override("en"):
        yield

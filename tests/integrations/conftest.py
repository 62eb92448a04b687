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

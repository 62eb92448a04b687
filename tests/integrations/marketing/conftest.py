"""The integrations tests swap in their own process-local cache; start every marketing test with
it empty (cached tag configuration, rate-limit counters)."""

import pytest


@pytest.fixture(autouse=True)
def _empty_cache(_own_cache):
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()

import os

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """A cache private to this test process. The embedded default is a file cache in var/, which
    parallel (xdist) workers would share: one worker's cache.clear() or cached category tree
    (store ids repeat across the workers' databases) would leak into another's tests."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"catalog-tests-{os.getpid()}",
        }
    }
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _messages_in_english():
    """Service-level messages are asserted in English (the msgids). Pages are still Polish: the
    locale middleware activates the store's language (pl) for every request."""
    translation.activate("en")
    yield
    translation.deactivate()

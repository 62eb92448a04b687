import pytest


@pytest.fixture(autouse=True)
def _store_hosts(settings):
    # The tests here serve several stores, each on its own host.
    settings.ALLOWED_HOSTS = ["*"]

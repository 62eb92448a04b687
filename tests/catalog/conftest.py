import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _messages_in_english():
    """Service-level messages are asserted in English (the msgids). Pages are still Polish: the
    locale middleware activates the store's language (pl) for every request."""
    translation.activate("en")
    yield
    translation.deactivate()

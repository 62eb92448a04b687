"""The sales channels speak Polish: admin labels, connector options and the errors a merchant reads."""

from __future__ import annotations

import pytest
from django.utils import translation
from django.utils.translation import gettext

MESSAGES = [
    "Sales channels",
    "channel listings",
    "channel orders",
    "Push again (even if unchanged)",
    "Import again now (failed orders are retried)",
    "Push stock and prices every (seconds)",
    "Send the shop's order emails to buyers",
    "Fulfilment statuses sent back",
    "BaseLinker refused %(method)s: %(message)s (%(code)s)",
    'Write the warehouse as "bl_<number>", e.g. "bl_123".',
    "%(sku)s has no EAN: Zalando offers are identified by EAN.",
    "The service account key is not valid JSON.",
    "Order %(id)s not imported: %(e)s",
    "The partner gave no answer for this item.",
    "Test the connection",
    "orders import",
]


@pytest.mark.parametrize("msgid", MESSAGES)
def test_polish_translation_exists_and_keeps_placeholders(msgid):
    with translation.override("pl"):
        text = gettext(msgid)
    assert text != msgid
    for placeholder in ("%(method)s", "%(message)s", "%(code)s", "%(sku)s", "%(id)s", "%(e)s"):
        assert (placeholder in msgid) == (placeholder in text)


def test_external_order_errors_are_polish(store):
    from orders.services.external import ExternalOrderError, place_external_order

    with translation.override("pl"), pytest.raises(ExternalOrderError) as exc:
        place_external_order(store=store, source="x", external_reference="1", paid=True, lines=[])
    assert exc.value.message == "Zamówienie nie ma pozycji."

"""Feed text in the CSV files integrations write for people (the sync error log, the purchase
order e-mailed to a wholesaler): inert text in a spreadsheet, never a formula (CSV injection)."""

from __future__ import annotations

import csv
import io

import pytest
from django.core import mail

from catalog.models import Variant
from integrations import services
from integrations.models import PurchaseOrder
from integrations.selectors import run_errors_csv
from shop import events
from tests.orders.factories_after_sales import make_order

from .conftest import make_config

pytestmark = pytest.mark.django_db

HOSTILE_SKU = "=cmd|' /C calc'!A0"
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def cells(text: str, delimiter: str) -> list[str]:
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
    return [cell for row in rows for cell in row]


def run_feed(config, tmp_path, body: str):
    path = tmp_path / "feed.csv"
    path.write_text("sku;name;cost_net;price_gross;stock\n" + body, encoding="utf-8")
    return services.run_connector(
        config_id=config.pk, direction="full", trigger="command", files={"products": str(path)}
    )


def test_error_log_csv_neutralises_the_feed_key_and_message(store, tmp_path):
    config = make_config(store, profile="generic-csv")
    run = run_feed(config, tmp_path, f"{HOSTILE_SKU};;40,00;99,00;3\n")  # no name: the row fails
    assert run.failed == 1 and run.errors.get().key == HOSTILE_SKU
    found = cells("".join(run_errors_csv(run)), ",")
    assert [c for c in found if c.startswith(DANGEROUS)] == []
    assert "'" + HOSTILE_SKU in found


def test_purchase_order_csv_neutralises_feed_text(store, tmp_path, django_capture_on_commit_callbacks):
    config = make_config(
        store,
        profile="generic-csv",
        dropship=True,
        order_method="email",
        order_email="zamowienia@hurtownia.example",
    )
    run = run_feed(config, tmp_path, f'{HOSTILE_SKU};=HYPERLINK("http://evil.example");40,00;99,00;3\n')
    assert run.failed == 0
    variant = Variant.objects.get(store=store, sku=HOSTILE_SKU)
    order = make_order(store=store, lines=[(variant, 2)], status="paid", sold=False)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        event = events.publish(
            type="order.paid", payload={"order_id": order.pk, "number": order.number}, store=store
        )
        events.deliver(event.pk)
    assert PurchaseOrder.objects.get(order=order).status == PurchaseOrder.Status.SENT
    _name, content, _mimetype = mail.outbox[-1].attachments[0]
    found = cells(content.decode("utf-8") if isinstance(content, bytes) else content, ";")
    assert [c for c in found if c.startswith(DANGEROUS)] == []
    assert "'" + HOSTILE_SKU in found and '\'=HYPERLINK("http://evil.example")' in found
    assert "2" in found and "40.00" in found  # quantity and cost stay plain numbers


def test_google_tsv_feed_keeps_partner_data_literal():
    """The decision in docs/decisions.md: Merchant Center reads TSV cells literally, so the feed is
    not quoted (a quote would change the offer id and show in titles); tabs and line breaks, which
    would shift or split cells, never reach it."""
    from decimal import Decimal

    from integrations.feeds.offers import Offer
    from integrations.feeds.writers import TSV_COLUMNS, GoogleTSVWriter

    out = io.BytesIO()
    writer = GoogleTSVWriter(out, title="t", link="https://sklep.example", description="d")
    writer.start()
    writer.write(
        Offer(
            id=HOSTILE_SKU,
            title="-20% Sukienka",
            description="\t\r=1+1 opis",
            link="https://sklep.example/p/1",
            price=Decimal("99.00"),
            currency="PLN",
            availability="in_stock",
        )
    )
    writer.finish()
    header, row = out.getvalue().decode("utf-8").splitlines()
    values = dict(zip(TSV_COLUMNS, row.split("\t"), strict=True))
    assert header.split("\t") == TSV_COLUMNS
    assert values["id"] == HOSTILE_SKU and values["title"] == "-20% Sukienka"
    assert values["description"] == "=1+1 opis" and values["price"] == "99.00 PLN"

"""The recovery report takes the recovery app's own numbers (its dashboard selector)."""

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import translation
from openpyxl import load_workbook

from recovery.models import Campaign, Reminder, Step, TrackedCart
from reports import selectors, services


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def at(day, hour=10):
    return datetime(2025, 1, day, hour, tzinfo=UTC)


@pytest.fixture
def recovery(store):
    campaign = Campaign.objects.create(store=store, name="Przypomnienie")
    step = Step.objects.create(campaign=campaign, position=1)

    def cart(day, **kwargs):
        return TrackedCart.objects.create(store=store, abandoned_at=at(day), **kwargs)

    def sent(tracked, **kwargs):
        return Reminder.objects.create(
            tracked=tracked,
            step=step,
            store=store,
            channel="email",
            status=Reminder.Status.SENT,
            due_at=tracked.abandoned_at,
            next_attempt_at=tracked.abandoned_at,
            sent_at=tracked.abandoned_at,
            **kwargs,
        )

    won = cart(
        14,
        campaign=campaign,
        is_reachable=True,
        state=TrackedCart.State.RECOVERED,
        recovered_via=TrackedCart.Attribution.VIA_LINK,
        recovered_revenue=Decimal("120.00"),
        recovered_at=at(14, 12),
    )
    sent(won, opened_at=at(14, 11), clicked_at=at(14, 11))
    sent(cart(15, campaign=campaign, is_reachable=True, state=TrackedCart.State.REMINDED))
    cart(15, campaign=campaign, is_reachable=True, is_holdout=True, state=TrackedCart.State.ORDERED)
    cart(15, state=TrackedCart.State.ABANDONED)  # no campaign, unreachable
    cart(20, campaign=campaign, is_reachable=True)  # outside the range
    return campaign


def test_rows_per_campaign_match_hand_counts(store, recovery):
    rows, total = selectors.recovery_rows(
        store=store, date_from=datetime(2025, 1, 14).date(), date_to=datetime(2025, 1, 16).date()
    )
    by_name = {r["campaign"]: r for r in rows}
    campaign = by_name["Przypomnienie"]
    assert (campaign["abandoned"], campaign["reachable"], campaign["holdout"]) == (3, 3, 1)
    assert (campaign["sent"], campaign["opened"], campaign["clicked"], campaign["recovered"]) == (2, 1, 1, 1)
    assert campaign["recovered_revenue"] == Decimal("120.00")
    assert campaign["recovery_rate"] == Decimal("33.3")
    rest = by_name["(no campaign)"]
    assert rest["abandoned"] == 1 and rest["reachable"] == 0 and rest["recovery_rate"] is None
    assert total["abandoned"] == 4 and total["recovered_revenue"] == Decimal("120.00")


def test_recovery_xlsx_and_pdf(store, recovery):
    params = {"date_from": "2025-01-14", "date_to": "2025-01-16"}
    result = services.export(store=store, kind="recovery", fmt="xlsx", params=params)
    ws = load_workbook(io.BytesIO(result.file.read())).active
    header = [c.value for c in ws[1]]
    last = ws[ws.max_row]
    assert last[0].value == "Total"
    assert last[header.index("Abandoned carts")].value == 4
    assert last[header.index("Recovered revenue")].value == 120
    result = services.export(store=store, kind="recovery", fmt="pdf", params=params)
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(result.file).pages).replace("\xa0", " ")
    assert "Przypomnienie" in text and "120,00 zł" in text and "33,3%" in text

"""Admin -> Gift cards -> Add issues a card through the service (it used to answer 500)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.admin.models import ADDITION, LogEntry
from django.urls import reverse

from orders.models import GiftCard, GiftCardTransaction
from tests.orders.factories import GiftCardFactory
from tests.shop.factories import SuperuserFactory

pytestmark = pytest.mark.django_db
WARSAW = ZoneInfo("Europe/Warsaw")


@pytest.fixture
def staff(client):
    user = SuperuserFactory()
    client.force_login(user)
    client.user = user
    return client


def test_add_page_asks_only_for_what_the_merchant_decides(staff, store):
    response = staff.get(reverse("admin:orders_giftcard_add"))
    assert response.status_code == 200
    fields = set(response.context["adminform"].form.fields)
    assert fields == {"store", "initial_balance", "recipient_email", "expires_at", "is_active"}


@time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=WARSAW), tick=False)
def test_adding_a_card_issues_it_with_its_balance_a_code_and_a_ledger_line(staff, store, settings):
    settings.GIFT_CARD_VALID_DAYS = 365
    response = staff.post(
        reverse("admin:orders_giftcard_add"),
        {
            "store": store.pk,
            "initial_balance": "150.00",
            "recipient_email": "ola@example.com",
            "expires_at_0": "",
            "expires_at_1": "",
            "is_active": "on",
            "transactions-TOTAL_FORMS": "0",
            "transactions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    card = GiftCard.objects.get()
    assert card.initial_balance == card.balance == Decimal("150.00")
    assert card.currency == store.currency and card.recipient_email == "ola@example.com"
    assert len(card.code) == 16 and card.code.isalnum()
    assert card.expires_at == datetime(2027, 3, 10, 12, 0, tzinfo=WARSAW)
    (issue,) = GiftCardTransaction.objects.filter(gift_card=card)
    assert (issue.kind, issue.amount, issue.balance_after) == ("issue", Decimal("150.00"), Decimal("150.00"))
    entry = LogEntry.objects.get(object_id=str(card.pk))
    assert entry.action_flag == ADDITION and entry.user_id == staff.user.pk
    # Its page shows the whole code (the merchant hands it over) and no money field to edit.
    page = staff.get(reverse("admin:orders_giftcard_change", args=[card.pk]))
    assert page.status_code == 200
    assert "-".join(card.code[i : i + 4] for i in range(0, 16, 4)) in page.content.decode()
    assert not {"initial_balance", "balance", "code"} & set(page.context["adminform"].form.fields)


@pytest.mark.parametrize("value", ["0", "-5", ""])
def test_a_card_without_a_positive_value_is_refused_not_a_500(staff, store, value):
    response = staff.post(
        reverse("admin:orders_giftcard_add"),
        {
            "store": store.pk,
            "initial_balance": value,
            "is_active": "on",
            "transactions-TOTAL_FORMS": "0",
            "transactions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["initial_balance"]
    assert not GiftCard.objects.exists()


def test_changing_a_card_keeps_its_money(staff, store):
    card = GiftCardFactory(store=store, initial_balance=Decimal("80.00"), balance=Decimal("30.00"))
    response = staff.post(
        reverse("admin:orders_giftcard_change", args=[card.pk]),
        {
            "recipient_email": "nowy@example.com",
            "expires_at_0": "",
            "expires_at_1": "",
            "transactions-TOTAL_FORMS": "0",
            "transactions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    card.refresh_from_db()
    assert (card.initial_balance, card.balance) == (Decimal("80.00"), Decimal("30.00"))
    assert card.recipient_email == "nowy@example.com" and card.is_active is False

"""The back-in-stock e-mails as a shopper reads them: a greeting, no guessed gender ("Poprosiłeś")
and no adjective agreeing with a product name whose gender nobody knows ("Koszula … dostępny"):
the sentence names "produkt" and quotes the product's name."""

from __future__ import annotations

import re

import pytest

from catalog import alerts, stock
from catalog.models import BackInStockSubscription
from tests.catalog.factories import VariantFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

GENDERED = ("łeś", "łaś", "(-aś)", "Kliencie")
POLISH_LETTERS = re.compile("[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]")


def alert_emails(store, mailoutbox, django_capture_on_commit_callbacks, *, language, name):
    variant = VariantFactory(store=store, stock=0, product__name=name)
    alerts.subscribe(variant=variant, email="ewa@example.com", language=language)
    BackInStockSubscription.objects.update(confirmed_at="2026-01-01T00:00:00Z")
    with django_capture_on_commit_callbacks(execute=True):
        stock.adjust_stock(
            variant=variant, warehouse=WarehouseFactory(store=store), delta=3, reason="delivery"
        )
    assert len(mailoutbox) == 2
    return mailoutbox


def test_polish_alert_emails_are_gender_neutral_and_greet(
    store, mailoutbox, django_capture_on_commit_callbacks
):
    confirm, alert = alert_emails(
        store, mailoutbox, django_capture_on_commit_callbacks, language="pl", name="Koszula lniana"
    )
    assert (
        "Otrzymaliśmy prośbę o powiadomienie, gdy produkt „Koszula lniana” znów będzie dostępny."
        in confirm.body
    )
    assert "Dobra wiadomość: produkt „Koszula lniana” jest znów dostępny." in alert.body
    assert alert.subject == "Produkt znów dostępny: Koszula lniana"
    for message in (confirm, alert):
        html = message.alternatives[0][0]
        assert message.body.startswith("Dzień dobry,") and "Dzień dobry," in html
        for part in (message.subject, message.body, html):
            assert not [word for word in GENDERED if word in part], part
            assert "Koszula lniana znów" not in part and "Koszula lniana jest" not in part


def test_english_alert_emails_have_no_polish(store, mailoutbox, django_capture_on_commit_callbacks):
    confirm, alert = alert_emails(
        store, mailoutbox, django_capture_on_commit_callbacks, language="en", name="Linen shirt"
    )
    assert "You asked us to tell you when Linen shirt is back in stock." in confirm.body
    assert "Good news: Linen shirt is back in stock." in alert.body
    for message in (confirm, alert):
        html = message.alternatives[0][0]
        assert message.body.startswith("Hello,") and "Hello," in html
        for part in (message.subject, message.body, html):
            assert not POLISH_LETTERS.search(part), part

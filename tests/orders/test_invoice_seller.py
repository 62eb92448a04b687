"""No invoice without the seller's company data, and one numbering series per seller (NIP), not
per store."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from orders import invoices
from orders.handlers import INVOICE_HANDLER
from orders.models import Invoice, InvoiceCounter, Order, OrderNote
from shop import events
from shop.models import EventDelivery
from tests.catalog.factories import VariantFactory
from tests.orders.factories_after_sales import make_order, use_isolated_cache
from tests.shop.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _own_cache(settings):
    use_isolated_cache(settings)


def paid_order(store):
    variant = VariantFactory(store=store, price=Decimal("100.00"), stock=10)
    return make_order(store=store, lines=[(variant, 1)], status=Order.Status.PAID)


# --- the seller's data ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "missing"),
    [
        ("company_name", "", "brak nazwy firmy"),
        ("company_name", "   ", "brak nazwy firmy"),
        ("company_address", "", "brak adresu firmy"),
        ("company_tax_id", "", "brak NIP"),
        ("company_tax_id", "1234567890", "NIP 1234567890 jest niepoprawny"),
        ("company_tax_id", "PL52600012", "jest niepoprawny"),
        ("company_tax_id", "<script>", "jest niepoprawny"),
    ],
)
def test_no_invoice_without_complete_seller_data(field, value, missing):
    store = StoreFactory(**{field: value})
    order = paid_order(store)
    with pytest.raises(invoices.SellerDataMissing) as exc:
        invoices.issue_invoice(order=order, render="never")
    assert missing in str(exc.value)
    assert not Invoice.objects.exists()
    assert not InvoiceCounter.objects.exists()  # no number consumed


def test_seller_problems_lists_everything_missing():
    store = StoreFactory(company_name="", company_address="", company_tax_id="")
    assert len(invoices.seller_problems(store)) == 3
    assert invoices.seller_problems(StoreFactory(company_tax_id="PL 526-000-12-46")) == []


@time_machine.travel(NOW, tick=True)
def test_order_paid_without_seller_data_notes_the_order_once_and_is_not_retried(
    django_capture_on_commit_callbacks,
):
    store = StoreFactory(company_tax_id="")
    order = paid_order(store)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            event = events.publish(type="order.paid", payload={"order_id": order.pk}, store=store)
        assert EventDelivery.objects.get(event=event, handler=INVOICE_HANDLER).status == "done"
    assert not Invoice.objects.filter(order=order).exists()
    note = OrderNote.objects.get(order=order)
    assert "NIP" in note.text and "Faktura" in note.text  # in Polish for the merchant
    # Once the data is complete, the invoice is issued.
    store.company_tax_id = "5260001246"
    store.save()
    assert invoices.issue_invoice(order=order, render="never").number == "FV/2026/12/0001"


@time_machine.travel(NOW, tick=True)
def test_admin_order_page_says_what_is_missing(client):
    store = StoreFactory(company_address="", company_tax_id="123")
    order = paid_order(store)
    client.force_login(StaffFactory(is_superuser=True))
    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "adresu firmy" in text and "123" in text
    # Issuing from the admin is refused with the same explanation, and nothing is issued.
    response = client.post(reverse("admin:orders_order_invoice_issue", args=[order.pk]), follow=True)
    assert "adresu firmy" in response.content.decode()
    assert not Invoice.objects.exists()
    # A complete store: no warning.
    ok = paid_order(StoreFactory())
    assert "NIP" not in "".join(
        str(m) for m in client.get(reverse("admin:orders_order_change", args=[ok.pk])).context["messages"]
    )


# --- numbering per seller ----------------------------------------------------------------------------


@time_machine.travel(NOW, tick=True)
def test_two_stores_of_one_company_share_one_series():
    first = StoreFactory(company_tax_id="5260001246")
    second = StoreFactory(company_tax_id="PL 526-000-12-46")  # the same NIP, spelled differently
    other = StoreFactory(company_tax_id="7740001454")
    numbers = [
        invoices.issue_invoice(order=paid_order(store), render="never").number
        for store in (first, second, first, other, second)
    ]
    assert numbers == [
        "FV/2026/12/0001",
        "FV/2026/12/0002",
        "FV/2026/12/0003",
        "FV/2026/12/0001",  # another company
        "FV/2026/12/0004",
    ]
    assert InvoiceCounter.objects.get(seller_tax_id="5260001246").last_number == 4


@time_machine.travel(NOW, tick=True)
def test_a_new_counter_continues_after_numbers_already_printed():
    """Counters from before numbering per seller are dropped by the migration, and a store may
    change its NIP: a counter created then continues after the seller's numbers of the month."""
    first = StoreFactory(company_tax_id="5260001246")
    second = StoreFactory(company_tax_id="7740001454")
    for store in (first, first, second):
        invoices.issue_invoice(order=paid_order(store), render="never")
    InvoiceCounter.objects.all().delete()
    assert invoices.issue_invoice(order=paid_order(first), render="never").number == "FV/2026/12/0003"
    # The second store now belongs to the first company: it continues that company's series.
    second.company_tax_id = "5260001246"
    second.save()
    assert invoices.issue_invoice(order=paid_order(second), render="never").number == "FV/2026/12/0004"

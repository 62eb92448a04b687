"""One sale, one VAT invoice: an accounting connector issues invoices *instead of* the shop unless
the merchant explicitly chose "in addition", and the admin warns about that choice."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.accounting import services
from integrations.accounting.sink import INVOICE_MODE_FIELD, InvoiceMode
from integrations.models import ConnectorConfig
from orders.models import Invoice
from shop import events
from tests.shop.factories import SuperuserFactory

from .factories import goods, ifirma_config, paid_order, save_connector

pytestmark = pytest.mark.django_db


def test_the_default_mode_is_instead():
    assert INVOICE_MODE_FIELD.default == InvoiceMode.INSTEAD


def test_a_connector_without_a_chosen_mode_stops_the_shop_invoice(store, django_capture_on_commit_callbacks):
    save_connector(store, "fakturownia", account="sklep", api_token="tok-123")  # mode not given
    assert ConnectorConfig.objects.get().settings.get("invoice_mode") in (None, "", InvoiceMode.INSTEAD)
    assert services.shop_issues_own_invoice(store.pk) is False
    order = paid_order(store, [(goods(store, ("100.00", "23"))[0], 1)])
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(type="order.paid", payload={"order_id": order.pk}, store=store)
    assert not Invoice.objects.filter(order=order).exists()  # only the connector's invoice


def test_in_addition_is_kept_when_chosen(store):
    ifirma_config(store, invoice_mode="in_addition")
    assert services.shop_issues_own_invoice(store.pk) is True


@pytest.mark.parametrize(("mode", "warned"), [("in_addition", True), ("instead", False), ("none", False)])
def test_the_admin_warns_about_two_invoices_per_sale(client, store, mode, warned):
    config = ifirma_config(store, invoice_mode=mode)
    client.force_login(SuperuserFactory())
    page = client.get(reverse("admin:integrations_accounting_accountingconnector_change", args=[config.pk]))
    assert page.status_code == 200
    texts = [str(m) for m in page.context["messages"]]
    assert any("dwie faktury VAT" in t for t in texts) is warned


def test_a_hostile_object_id_is_harmless(client):
    client.force_login(SuperuserFactory())
    page = client.get("/admin/integrations_accounting/accountingconnector/1%20OR%201=1/change/")
    assert page.status_code in (302, 404)

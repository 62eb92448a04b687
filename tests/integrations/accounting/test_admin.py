"""Admin: accounting connectors configured from their own page (secrets write-only, test the
connection), documents searchable by order number with a retry action, the external number on the
order's page, and permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from integrations.accounting.models import ExternalDocument
from integrations.models import ConnectorConfig
from tests.shop.factories import StaffFactory, SuperuserFactory

from .factories import ExternalDocumentFactory, fakturownia_config, goods, paid_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(SuperuserFactory())
    return client


def connector_form(store, **overrides):
    data = {
        "store": store.pk,
        "connector_type": "fakturownia",
        "name": "Księgowość",
        "is_active": "on",
        "opt_account": "mojafirma",
        "opt_api_token": "tajny-token-1234",
        "opt_api_url": "",
        "opt_department_id": "",
        "opt_invoice_mode": "instead",
        "opt_send_corrections": "on",
    }
    data.update(overrides)
    return data


def test_add_fakturownia_through_the_admin(admin_client, store):
    url = reverse("admin:integrations_accounting_accountingconnector_add")
    page = admin_client.get(url)
    assert (
        page.status_code == 200
        and b"opt_account" in page.content
        and b"opt_markup_percent" not in page.content
    )
    assert b"full_sync_time" not in page.content
    response = admin_client.post(url, connector_form(store))
    assert response.status_code == 302, response.context["adminform"].form.errors
    config = ConnectorConfig.objects.get(name="Księgowość")
    assert config.settings["account"] == "mojafirma" and config.settings["invoice_mode"] == "instead"
    assert config.secrets["api_token"] == "tajny-token-1234"
    change = admin_client.get(
        reverse("admin:integrations_accounting_accountingconnector_change", args=[config.pk])
    )
    assert b"tajny-token-1234" not in change.content and b"1234" in change.content  # masked


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("opt_account", "https://evil.example/"),
        ("opt_account", ""),
        ("opt_department_id", "-5"),
        ("opt_department_id", "9" * 400),
        ("opt_invoice_mode", "sometimes"),
        ("opt_api_url", "javascript:alert(1)"),
    ],
)
def test_bad_options_are_shown_on_the_form(admin_client, store, field, value):
    url = reverse("admin:integrations_accounting_accountingconnector_add")
    response = admin_client.post(url, connector_form(store, **{field: value}))
    assert response.status_code == 200 and field in response.context["adminform"].form.errors
    assert not ConnectorConfig.objects.exists()


def test_oversized_and_unicode_names_are_refused_cleanly(admin_client, store):
    url = reverse("admin:integrations_accounting_accountingconnector_add")
    response = admin_client.post(url, connector_form(store, name="Ż" * 500, opt_account="a" * 10_000))
    assert response.status_code == 200 and not ConnectorConfig.objects.exists()


def test_test_connection_action(admin_client, store, fakturownia):
    good = fakturownia_config(store, fakturownia)
    bad = fakturownia_config(store, fakturownia, name="Zły token", api_token="nope")
    url = reverse("admin:integrations_accounting_accountingconnector_changelist")
    response = admin_client.post(
        url, {"action": "test_accounting_connection", "_selected_action": [good.pk, bad.pk]}, follow=True
    )
    from django.contrib import messages

    shown = {m.message.split(":")[0]: m.level for m in response.context["messages"]}
    assert shown == {"Fakturownia": messages.SUCCESS, "Zły token": messages.ERROR}


def test_documents_list_search_and_query_count(admin_client, store, django_assert_max_num_queries):
    config = fakturownia_config(store)
    (item,) = goods(store, ("10.00", "23"))
    orders = [paid_order(store, [(item, 1)]) for _ in range(3)]
    for order in orders:
        ExternalDocumentFactory(
            config=config, order=order, status="sent", external_number=f"FV {order.pk}/2026"
        )
    url = reverse("admin:integrations_accounting_externaldocument_changelist")
    with django_assert_max_num_queries(12) as few:
        admin_client.get(url)
    for _ in range(20):
        ExternalDocumentFactory(config=config, order=paid_order(store, [(item, 1)]))
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = admin_client.get(url)
    assert page.status_code == 200
    found = admin_client.get(url, {"q": orders[1].number})
    assert list(found.context["cl"].result_list) == [ExternalDocument.objects.get(order=orders[1])]
    hostile = admin_client.get(url, {"q": "'\"<script>" + "ż" * 3000})
    assert hostile.status_code == 200 and not hostile.context["cl"].result_list


def test_retry_action_sends_a_failed_document_again(
    admin_client, store, fakturownia, django_capture_on_commit_callbacks
):
    config = fakturownia_config(store, fakturownia)
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(store, [(item, 1)])
    document = ExternalDocumentFactory(
        config=config, order=order, status="failed", attempts=8, last_error="401"
    )
    url = reverse("admin:integrations_accounting_externaldocument_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, {"action": "retry_now", "_selected_action": [document.pk]}, follow=True)
    document.refresh_from_db()
    assert document.status == "sent" and document.attempts == 1 and len(fakturownia.invoices) == 1


def test_order_page_shows_the_external_number_read_only(admin_client, store):
    config = fakturownia_config(store)
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(store, [(item, 1)])
    ExternalDocumentFactory(config=config, order=order, status="sent", external_number="FV 7/11/2026")
    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200
    assert (
        "FV 7/11/2026" in page.content.decode()
        and "external_documents-0-external_number" not in page.content.decode()
    )


def test_document_pdf_from_the_partner(admin_client, store, fakturownia, pay):
    fakturownia_config(store, fakturownia)
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(store, [(item, 1)])
    pay(order)
    document = ExternalDocument.objects.get(order=order)
    response = admin_client.get(
        reverse("admin:integrations_accounting_externaldocument_pdf", args=[document.pk])
    )
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert response["Content-Disposition"] == 'attachment; filename="FV 1-11-2026.pdf"'


def test_staff_without_permissions_are_refused(client, store):
    config = fakturownia_config(store)
    (item,) = goods(store, ("10.00", "23"))
    document = ExternalDocumentFactory(config=config, order=paid_order(store, [(item, 1)]), status="failed")
    staff = StaffFactory()
    client.force_login(staff)
    documents = reverse("admin:integrations_accounting_externaldocument_changelist")
    connectors = reverse("admin:integrations_accounting_accountingconnector_changelist")
    pdf = reverse("admin:integrations_accounting_externaldocument_pdf", args=[document.pk])
    assert client.get(documents).status_code == 403
    assert client.get(connectors).status_code == 403
    assert client.get(pdf).status_code == 403
    # view only: the list opens, the retry action is not offered and a forged POST changes nothing
    staff.user_permissions.add(Permission.objects.get(codename="view_externaldocument"))
    page = client.get(documents)
    assert page.status_code == 200 and b"retry_now" not in page.content
    client.post(documents, {"action": "retry_now", "_selected_action": [document.pk]})
    document.refresh_from_db()
    assert document.status == "failed"
    assert client.get(connectors).status_code == 403


def test_connector_list_and_document_page_open(admin_client, store, django_assert_max_num_queries):
    config = fakturownia_config(store)
    (item,) = goods(store, ("10.00", "23"))
    document = ExternalDocumentFactory(
        config=config, order=paid_order(store, [(item, 1)]), status="failed", last_error="<b>bad</b> " * 30
    )
    with django_assert_max_num_queries(12):
        listing = admin_client.get(reverse("admin:integrations_accounting_accountingconnector_changelist"))
    assert listing.status_code == 200 and "Fakturownia" in listing.content.decode()
    page = admin_client.get(
        reverse("admin:integrations_accounting_externaldocument_change", args=[document.pk])
    )
    assert page.status_code == 200
    content = page.content.decode()
    assert "&lt;b&gt;bad&lt;/b&gt;" in content and "<b>bad</b>" not in content  # escaped
    assert 'name="_save"' not in content  # read-only

"""The admin report pages: permissions, bad input (clear messages, never a 500), exports."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import translation

from reports.models import ReportJob
from tests.catalog.factories import ProductFactory

from .factories import staff_with

SALES = "admin:reports_reportjob_sales"
ORDERS = "admin:reports_reportjob_orders"
ALL = ("view_sales_report", "view_order_report", "view_stock_report", "view_recovery_report")


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def manager(client, store):
    user = staff_with(*ALL)
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return user


def test_staff_without_report_permission_gets_403(client, shop):
    client.force_login(staff_with())
    for name in (SALES, ORDERS, "admin:reports_reportjob_stock", "admin:reports_reportjob_recovery"):
        assert client.get(reverse(name)).status_code == 403
    assert client.get(reverse("admin:reports_reportjob_products")).status_code == 403


def test_permission_is_per_report_kind(client, shop):
    user = staff_with("view_sales_report")
    client.force_login(user)
    assert client.get(reverse(SALES)).status_code == 200
    assert client.get(reverse(ORDERS)).status_code == 403
    job = ReportJob.objects.create(
        store=shop.store, kind="orders", format="csv", params_hash="x", status="done"
    )
    assert client.get(reverse("admin:reports_reportjob_download", args=[job.pk])).status_code == 403
    changelist = client.get(reverse("admin:reports_reportjob_changelist"))
    assert changelist.status_code == 200
    assert f"/{job.pk}/" not in changelist.content.decode()  # jobs of other kinds are hidden


def test_anonymous_is_sent_to_login(client, shop):
    response = client.get(reverse(SALES))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_sales_page_shows_charts_table_and_numbers(client, manager, shop):
    response = client.get(
        reverse(SALES),
        {
            "date_from": "2025-01-14",
            "date_to": "2025-01-16",
            "granularity": "day",
            "compare": "on",
            "metric": "revenue",
        },
    )
    assert response.status_code == 200
    html = response.content.decode().replace("\xa0", " ")
    assert html.count('class="report-chart"') == 3
    assert "305,00 zł" in html and "135,00 zł" in html and "+205,0%" in html
    assert "2025-01-15" in html  # table under the chart, one row per day
    assert "Koszulka Żółw" in html  # top products
    overview = response.context["overview"]
    assert overview.series.revenue[1] == 90


def test_sales_page_with_products_and_defaults(client, manager, shop):
    response = client.get(reverse(SALES))  # nothing submitted: last 30 days
    assert response.status_code == 200 and response.context["form"].is_valid()
    response = client.get(
        reverse(SALES),
        {"date_from": "2025-01-14", "date_to": "2025-01-16", "products": [shop.shirt.pk], "style": "lines"},
    )
    assert response.status_code == 200
    assert "Koszulka Żółw – M" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date_from": "2025-02-01", "date_to": "2025-01-01"}, "is after the end date"),
        (
            {"date_from": "2005-01-01", "date_to": "2024-12-31", "granularity": "month"},
            "the limit is 3660 days",
        ),
        (
            {"date_from": "2024-01-01", "date_to": "2025-06-30", "granularity": "day"},
            "choose weeks or months",
        ),
        ({"date_from": "1000-01-01", "date_to": "1000-01-02"}, "Dates before 2000-01-01"),
        ({"date_from": "2025-01-01", "date_to": "9999-12-31"}, "more than a year in the future"),
        ({"date_from": "garbage", "date_to": "2025-01-01"}, "Enter a valid date"),
        (
            {"date_from": "2025-01-01", "date_to": "2025-01-02", "granularity": "year"},
            "Select a valid choice",
        ),
        (
            {"date_from": "2025-01-01", "date_to": "2025-01-02", "statuses": ["bogus"]},
            "Select a valid choice",
        ),
        ({"date_from": "2025-01-01", "date_to": "2025-01-02", "products": ["x"]}, "is not a valid value"),
    ],
)
def test_bad_sales_input_gives_form_errors_not_500(client, manager, shop, params, message):
    response = client.get(reverse(SALES), params)
    assert response.status_code == 200
    assert not response.context["form"].is_valid()
    assert message in response.content.decode().replace("&#x27;", "'")
    assert "overview" not in response.context


def test_products_of_another_store_are_refused(client, manager, shop, other_store):
    foreign = ProductFactory(store=other_store, name="Obcy", slug="obcy")
    response = client.get(
        reverse(SALES), {"date_from": "2025-01-14", "date_to": "2025-01-16", "products": [foreign.pk]}
    )
    assert "Not products of Sklep Testowy" in response.content.decode()
    # ...and the autocomplete only offers this store's products
    data = client.get(reverse("admin:reports_reportjob_products"), {"q": "o"}).json()
    names = [r["text"] for r in data["results"]]
    assert "Obcy" not in names and "Koszulka Żółw" in names


def test_unknown_store_param_is_404_not_500(client, manager, shop):
    assert client.get(reverse(SALES), {"store": "abc"}).status_code == 404
    assert client.get(reverse(SALES), {"store": "999999"}).status_code == 404


def test_other_store_can_be_chosen(client, manager, shop, other_store):
    response = client.get(
        reverse(SALES), {"store": other_store.pk, "date_from": "2025-01-14", "date_to": "2025-01-16"}
    )
    assert response.status_code == 200 and response.context["overview"].series.totals["orders"] == 0


def test_small_export_downloads_at_once(client, manager, shop):
    response = client.post(
        reverse(ORDERS), {"date_from": "2025-01-14", "date_to": "2025-01-16", "export": "xlsx"}
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')
    assert b"".join(response.streaming_content)[:2] == b"PK"
    assert not ReportJob.objects.exists()


def test_order_page_preview_and_bad_format(client, manager, shop):
    response = client.get(
        reverse(ORDERS), {"date_from": "2025-01-14", "date_to": "2025-01-16", "channels": ["api"]}
    )
    assert response.status_code == 200 and response.context["row_count"] == 1
    assert shop.o2.number in response.content.decode()
    response = client.post(
        reverse(ORDERS), {"date_from": "2025-01-14", "date_to": "2025-01-16", "export": "docx"}
    )
    assert response.status_code == 200 and "Choose a format" in response.content.decode()


def test_pdf_over_the_cap_is_refused_with_a_message(client, manager, shop, settings):
    settings.REPORTS_PDF_MAX_ROWS = 2
    response = client.post(
        reverse(ORDERS), {"date_from": "2025-01-14", "date_to": "2025-01-16", "export": "pdf"}
    )
    assert response.status_code == 200
    assert "a PDF holds at most 2" in response.content.decode()
    assert not ReportJob.objects.exists()


def test_stock_and_recovery_pages(client, manager, shop):
    assert client.get(reverse("admin:reports_reportjob_stock")).status_code == 200
    response = client.get(
        reverse("admin:reports_reportjob_recovery"), {"date_from": "2025-01-01", "date_to": "2025-01-31"}
    )
    assert response.status_code == 200 and response.context["row_count"] == 0


def test_changelist_links_to_the_reports(client, manager, shop):
    html = client.get(reverse("admin:reports_reportjob_changelist")).content.decode()
    assert reverse(SALES) in html and reverse(ORDERS) in html


def test_default_range_is_thirty_local_days(store):
    from reports.selectors import default_range

    start, end = default_range(store=store)
    assert (end - start).days == 29 and isinstance(start, date)

"""Report exports through the API: the admin's exports, same rules, for an API key."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.utils import timezone

from orders.models import Order
from reports import services
from reports.models import ReportJob
from tests.api.conftest import error_of, merchant
from tests.catalog.factories import VariantFactory
from tests.orders.factories_after_sales import make_order
from tests.shop.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(store):
    return merchant(store, ["reports:read"])


@pytest.fixture
def paid_order(store):
    return make_order(
        store=store, lines=[(VariantFactory(store=store, stock=5), 2)], status=Order.Status.PAID
    )


def today(store) -> str:
    return timezone.now().astimezone(store.zone).date().isoformat()


def test_small_orders_report_is_the_xlsx_file_itself(reader, store, paid_order):
    day = today(store)
    r = reader.get(
        "/api/v1/reports/export/orders/", {"file_format": "xlsx", "date_from": day, "date_to": day}
    )
    assert r.status_code == 200, r.content
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content)))
    cells = [c.value for row in book.active.iter_rows() for c in row]
    assert paid_order.number in cells


@pytest.mark.parametrize(("fmt", "magic"), [("csv", b"\xef\xbb\xbf"), ("pdf", b"%PDF")])
def test_csv_and_pdf(reader, store, paid_order, fmt, magic):
    day = today(store)
    r = reader.get("/api/v1/reports/export/orders/", {"file_format": fmt, "date_from": day, "date_to": day})
    assert r.status_code == 200, r.content
    assert b"".join(r.streaming_content).startswith(magic)


def test_stock_report_needs_no_dates(reader, store, paid_order):
    r = reader.get("/api/v1/reports/export/stock/", {"file_format": "csv"})
    assert r.status_code == 200, r.content


@pytest.mark.parametrize(
    ("kind", "params", "status"),
    [
        ("orders", {"date_from": "2026-02-01", "date_to": "2026-01-01"}, 400),  # inverted
        ("orders", {"date_from": "1990-01-01", "date_to": "2026-01-01"}, 400),  # absurd / too long
        ("orders", {"date_from": "x", "date_to": "y"}, 400),
        ("orders", {"file_format": "exe", "date_from": "2026-01-01", "date_to": "2026-01-02"}, 400),
        ("secrets", {}, 404),
    ],
)
def test_bad_requests_get_clear_errors(reader, kind, params, status):
    r = reader.get(f"/api/v1/reports/export/{kind}/", params)
    assert r.status_code == status
    assert error_of(r)["message"]


def test_large_report_becomes_a_job_polled_and_downloaded(reader, store, paid_order, settings):
    settings.REPORTS_ASYNC_THRESHOLD_ROWS = 0
    day = today(store)
    params = {"file_format": "csv", "date_from": day, "date_to": day}
    r = reader.get("/api/v1/reports/export/orders/", params)
    assert r.status_code == 202, r.content
    job_id = r.json()["id"]
    # Asked again while queued: the same job, never a duplicate.
    assert reader.get("/api/v1/reports/export/orders/", params).json()["id"] == job_id
    assert ReportJob.objects.filter(store=store).count() == 1
    status = reader.get(f"/api/v1/reports/jobs/{job_id}/").json()
    assert status["status"] in ("queued", "running", "done")
    if status["status"] != "done":
        assert reader.get(f"/api/v1/reports/jobs/{job_id}/download/").status_code == 409
        services.run_job(job_id=job_id)
    status = reader.get(f"/api/v1/reports/jobs/{job_id}/").json()
    assert status["status"] == "done" and status["download_url"].endswith("/download/")
    body = b"".join(reader.get(status["download_url"]).streaming_content)
    assert paid_order.number.encode() in body


def test_another_stores_job_and_missing_scope(store, paid_order, settings):
    other = StoreFactory(domain="inny.example.pl")
    job, _ = services.request_job(store=other, kind="stock", fmt="csv", params={})
    reader = merchant(store, ["reports:read"])
    assert reader.get(f"/api/v1/reports/jobs/{job.pk}/").status_code == 404
    assert reader.get(f"/api/v1/reports/jobs/{job.pk}/download/").status_code == 404
    no_scope = merchant(store, ["orders:read"])
    assert no_scope.get("/api/v1/reports/export/stock/").status_code == 403
    assert no_scope.get(f"/api/v1/reports/jobs/{job.pk}/").status_code == 403

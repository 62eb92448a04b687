"""Large reports as Celery jobs: progress, file in private storage, email, no duplicates,
failures that say why, retry, clean-up, and the periodic tasks."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django_celery_beat.models import PeriodicTask
from openpyxl import load_workbook

from reports import services
from reports.models import ReportJob

from .factories import staff_with

PARAMS = {"date_from": "2025-01-14", "date_to": "2025-01-16"}


@pytest.fixture(autouse=True)
def _small_threshold(settings):
    settings.REPORTS_ASYNC_THRESHOLD_ROWS = 2
    settings.REPORTS_CHUNK_SIZE = 1
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def manager(client, store):
    user = staff_with("view_order_report", "view_sales_report", email="szef@example.com", language="en")
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return user


def test_large_export_runs_as_a_job_with_progress_file_and_email(
    client, manager, shop, mailoutbox, django_capture_on_commit_callbacks, monkeypatch
):
    seen = []
    original = services.write_report

    def spy(**kwargs):
        inner = kwargs["progress"]

        def progress(done):
            inner(done)
            seen.append(ReportJob.objects.get().progress)

        return original(**{**kwargs, "progress": progress})

    monkeypatch.setattr(services, "write_report", spy)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:reports_reportjob_orders"), {**PARAMS, "export": "xlsx"})
    job = ReportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:reports_reportjob_status", args=[job.pk])
    assert job.status == "done" and job.progress == 100 and job.row_count == 5
    assert job.requested_by == manager and job.attempts == 1 and job.finished_at
    assert seen == [20, 40, 60, 80, 99, 99]  # one chunk per row here, capped below 100 until done
    path = Path(job.file.path)
    assert path.is_relative_to(Path(str(job.file.storage.location)))  # private storage, no URL
    with pytest.raises(ValueError, match="no public URL"):
        job.file.url  # noqa: B018
    assert load_workbook(path).active.max_row == 7
    # the email
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["szef@example.com"] and "ready" in mail.subject
    assert reverse("admin:reports_reportjob_download", args=[job.pk]) in mail.body
    # status page, JSON progress and the staff-only download
    status = client.get(reverse("admin:reports_reportjob_status", args=[job.pk]))
    assert status.status_code == 200 and b"Download" in status.content
    assert (
        client.get(reverse("admin:reports_reportjob_status", args=[job.pk]), {"format": "json"}).json()[
            "progress"
        ]
        == 100
    )
    download = client.get(reverse("admin:reports_reportjob_download", args=[job.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content)[:2] == b"PK"


def test_running_job_page_refreshes_itself(client, manager, shop):
    job = ReportJob.objects.create(
        store=shop.store,
        kind="orders",
        format="xlsx",
        params=PARAMS,
        params_hash="h",
        status="running",
        progress=40,
    )
    html = client.get(reverse("admin:reports_reportjob_status", args=[job.pk])).content.decode()
    assert 'http-equiv="refresh"' in html and 'value="40"' in html
    assert (
        'http-equiv="refresh"' in client.get(reverse("admin:reports_reportjob_changelist")).content.decode()
    )
    assert client.get(reverse("admin:reports_reportjob_download", args=[job.pk])).status_code == 404


def test_requesting_the_same_report_twice_returns_the_running_job(client, manager, shop):
    first = client.post(reverse("admin:reports_reportjob_orders"), {**PARAMS, "export": "csv"})
    second = client.post(reverse("admin:reports_reportjob_orders"), {**PARAMS, "export": "csv"}, follow=True)
    assert ReportJob.objects.count() == 1
    assert first["Location"] == second.redirect_chain[0][0]
    assert "already being prepared" in second.content.decode()
    # another format is another report
    client.post(reverse("admin:reports_reportjob_orders"), {**PARAMS, "export": "xlsx"})
    assert ReportJob.objects.count() == 2


def test_duplicate_guard_is_a_database_constraint(shop):
    job, created = services.request_job(store=shop.store, kind="orders", fmt="csv", params=PARAMS)
    again, created_again = services.request_job(store=shop.store, kind="orders", fmt="csv", params=PARAMS)
    assert created and not created_again and again.pk == job.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        ReportJob.objects.create(store=shop.store, kind="orders", format="csv", params_hash=job.params_hash)
    # once done, the same request makes a new job
    ReportJob.objects.filter(pk=job.pk).update(status="done")
    third, created_third = services.request_job(store=shop.store, kind="orders", fmt="csv", params=PARAMS)
    assert created_third and third.pk != job.pk


def test_running_a_job_twice_is_harmless(shop, mailoutbox):
    job, _ = services.request_job(store=shop.store, kind="orders", fmt="csv", params=PARAMS)
    assert services.run_job(job_id=job.pk).status == "done"
    assert services.run_job(job_id=job.pk) is None  # already done
    assert services.run_job(job_id=999999) is None
    assert mailoutbox == []  # nobody to tell: no requester


def test_failed_job_says_why_and_can_be_retried(
    client, manager, shop, mailoutbox, django_capture_on_commit_callbacks
):
    job = ReportJob.objects.create(
        store=shop.store,
        kind="orders",
        format="xlsx",
        params={"date_from": "2025-02-01", "date_to": "2025-01-01"},
        params_hash="bad",
        requested_by=manager,
    )
    services.run_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "is after the end date" in job.error
    assert "failed" in mailoutbox[0].subject and job.error in mailoutbox[0].body
    html = client.get(reverse("admin:reports_reportjob_status", args=[job.pk])).content.decode()
    assert "is after the end date" in html
    # fix the parameters (as if the bug were fixed) and retry from the admin action
    ReportJob.objects.filter(pk=job.pk).update(params=PARAMS)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:reports_reportjob_changelist"),
            {"action": "retry_jobs", "_selected_action": [job.pk]},
            follow=True,
        )
    assert "1 job(s) queued again" in response.content.decode()
    job.refresh_from_db()
    assert job.status == "done" and job.attempts == 2 and job.error == ""


def test_unexpected_errors_fail_the_job_with_the_reason(shop, monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "write_report", boom)
    job, _ = services.request_job(store=shop.store, kind="orders", fmt="csv", params=PARAMS)
    services.run_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "RuntimeError: disk full" in job.error


def test_retry_refuses_jobs_that_are_not_failed(shop):
    job, _ = services.request_job(store=shop.store, kind="orders", fmt="csv", params=PARAMS)
    assert services.retry_job(job=job) is False


def test_garbage_params_are_refused_by_the_service(shop):
    for kind, params in [
        ("orders", {"date_from": "yesterday"}),
        ("nonsense", PARAMS),
        ("orders", ["not", "a", "dict"]),
        ("sales", {**PARAMS, "products": [10**9]}),
    ]:
        with pytest.raises(services.ReportError):
            services.export(store=shop.store, kind=kind, fmt="csv", params=params)
    with pytest.raises(services.ReportError, match="Unknown format"):
        services.export(store=shop.store, kind="orders", fmt="exe", params=PARAMS)
    assert not ReportJob.objects.exists()


def test_pdf_cap_is_checked_before_queueing(shop, settings):
    settings.REPORTS_PDF_MAX_ROWS = 3
    with pytest.raises(services.ReportError, match="at most 3"):
        services.export(store=shop.store, kind="orders", fmt="pdf", params=PARAMS)
    assert not ReportJob.objects.exists()


def test_cleanup_deletes_old_files_and_jobs(shop, settings):
    settings.REPORTS_KEEP_DAYS = 30
    old, _ = services.request_job(store=shop.store, kind="orders", fmt="csv", params=PARAMS)
    services.run_job(job_id=old.pk)
    old.refresh_from_db()
    path = Path(old.file.path)
    assert path.exists()
    ReportJob.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=31))
    fresh, _ = services.request_job(store=shop.store, kind="orders", fmt="xlsx", params=PARAMS)
    services.run_job(job_id=fresh.pk)
    from reports.tasks import cleanup_report_files

    assert cleanup_report_files.delay().get() == 1
    assert not path.exists()
    assert list(ReportJob.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_stale_jobs_are_requeued(shop, settings, monkeypatch):
    calls = []
    monkeypatch.setattr(services, "_enqueue", calls.append)
    job, _ = services.request_job(store=shop.store, kind="orders", fmt="csv", params=PARAMS)
    ReportJob.objects.filter(pk=job.pk).update(
        status="running",
        started_at=timezone.now() - timedelta(seconds=settings.REPORTS_JOB_STALE_SECONDS + 5),
    )
    assert services.requeue_stale_jobs() == 1 and calls == [job.pk]
    # a stale running job can be claimed again by a new worker
    assert services.run_job(job_id=job.pk).status == "done"


def test_periodic_tasks_are_registered_on_migrate(db):
    names = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {"reports.tasks.cleanup_report_files", "reports.tasks.requeue_stale_report_jobs"} <= names

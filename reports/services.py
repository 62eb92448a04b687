"""Report writes: building export files, report jobs (request, run, retry, clean up) and the
email that tells the requester a job finished.

Callers (admin views, the API, Celery tasks) go through these functions only::

    result = export(store=s, kind="orders", fmt="xlsx", params={...}, user=u)
    if result.job:           # large: a background job (maybe one already under way)
        ...
    else:                    # small: the file, ready to send
        result.file, result.filename, result.content_type

``params`` are what the report's form accepts (see ``reports.forms``); they are validated here
again, so garbage from any caller ends as :class:`ReportError` with the form's messages.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shop.models import Store

from .builders import BUILDERS
from .exports import CONTENT_TYPES, WRITERS, Report
from .exports.pdf import PdfTooLarge
from .forms import FORMS
from .models import ReportFormat, ReportJob, ReportKind

logger = logging.getLogger(__name__)


class ReportError(Exception):
    """A report that cannot be built as asked; the message is for the merchant."""


@dataclass
class ExportResult:
    job: ReportJob | None = None
    created: bool = False
    file: BinaryIO | None = None
    filename: str = ""
    content_type: str = ""
    row_count: int = 0


def validate_params(*, store: Store, kind: str, params: dict):
    """The bound, valid form for ``params``; :class:`ReportError` listing every problem else."""
    if kind not in FORMS:
        raise ReportError(_("Unknown report: %(kind)s.") % {"kind": kind})
    if not isinstance(params, dict):
        raise ReportError(_("Report parameters must be a mapping."))
    form = FORMS[kind](params, store=store)
    if not form.is_valid():
        messages = []
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else ""
            messages += [f"{label}: {m}" if label else str(m) for m in errors]
        raise ReportError(" ".join(messages))
    return form


def build_report(*, store: Store, kind: str, params: dict) -> Report:
    form = validate_params(store=store, kind=kind, params=params)
    return BUILDERS[kind](form, store)


def params_hash(*, store: Store, kind: str, fmt: str, params: dict) -> str:
    canonical = json.dumps(
        {"store": store.pk, "kind": kind, "format": fmt, "params": params},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_format(fmt: str) -> None:
    if fmt not in ReportFormat.values:
        raise ReportError(_("Unknown format: %(format)s.") % {"format": fmt})


def _check_pdf_size(fmt: str, rows: int) -> None:
    if fmt == ReportFormat.PDF and rows > settings.REPORTS_PDF_MAX_ROWS:
        raise ReportError(
            _(
                "This report has %(rows)s rows; a PDF holds at most %(limit)s. "
                "Choose XLSX or CSV, or a shorter range."
            )
            % {"rows": rows, "limit": settings.REPORTS_PDF_MAX_ROWS}
        )


def write_report(*, report: Report, fmt: str, fh: BinaryIO, params: dict, progress=None) -> None:
    try:
        WRITERS[fmt](report, fh, progress=progress, delimiter=params.get("delimiter") or ";")
    except PdfTooLarge as exc:
        raise ReportError(str(exc)) from exc


def export(*, store: Store, kind: str, fmt: str, params: dict, user=None) -> ExportResult:
    """A small report as a file now, a large one (``REPORTS_ASYNC_THRESHOLD_ROWS``) as a job."""
    _check_format(fmt)
    form = validate_params(store=store, kind=kind, params=params)
    params = form.to_params()
    report = BUILDERS[kind](form, store)
    rows = report.row_count
    _check_pdf_size(fmt, rows)
    if rows > settings.REPORTS_ASYNC_THRESHOLD_ROWS:
        job, created = request_job(store=store, kind=kind, fmt=fmt, params=params, user=user)
        return ExportResult(job=job, created=created, row_count=rows)
    fh = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - returned open
    write_report(report=report, fmt=fmt, fh=fh, params=params)
    fh.seek(0)
    stamp = timezone.localtime(timezone.now(), store.zone).strftime("%Y%m%d-%H%M")
    return ExportResult(
        file=fh,
        filename=f"{report.filename_stem}-{stamp}.{fmt}",
        content_type=CONTENT_TYPES[fmt],
        row_count=rows,
    )


def request_job(*, store: Store, kind: str, fmt: str, params: dict, user=None) -> tuple[ReportJob, bool]:
    """Queue a report job, or return the one already queued or running for the same request.

    The partial unique constraint on ``params_hash`` makes this hold under concurrency too: the
    loser of a race gets an ``IntegrityError`` inside its savepoint and returns the winner's job.
    """
    _check_format(fmt)
    if kind not in ReportKind.values:
        raise ReportError(_("Unknown report: %(kind)s.") % {"kind": kind})
    digest = params_hash(store=store, kind=kind, fmt=fmt, params=params)
    with transaction.atomic():
        existing = ReportJob.objects.filter(params_hash=digest, status__in=ReportJob.ACTIVE).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                job = ReportJob.objects.create(
                    store=store,
                    kind=kind,
                    format=fmt,
                    params=params,
                    params_hash=digest,
                    requested_by=user if user is not None and user.is_authenticated else None,
                )
        except IntegrityError:
            return ReportJob.objects.get(params_hash=digest, status__in=ReportJob.ACTIVE), False
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job, True


def _enqueue(job_id: int) -> None:
    from .tasks import run_report_job

    try:
        run_report_job.delay(job_id)
    except Exception:  # broker down: the periodic sweep re-enqueues queued jobs
        logger.exception("could not enqueue report job %s", job_id)


def _claim(job_id: int) -> ReportJob | None:
    """Move a queued (or stale running) job to running under its row lock; None if not ours."""
    stale = timezone.now() - timedelta(seconds=settings.REPORTS_JOB_STALE_SECONDS)
    with transaction.atomic():
        job = ReportJob.objects.select_for_update().select_related("store").filter(pk=job_id).first()
        if job is None:
            return None
        if job.status == ReportJob.Status.RUNNING and job.started_at and job.started_at > stale:
            return None  # another worker is on it
        if job.status not in ReportJob.ACTIVE:
            return None  # done or failed: running twice changes nothing
        job.status = ReportJob.Status.RUNNING
        job.started_at = timezone.now()
        job.progress = 0
        job.error = ""
        job.attempts += 1
        job.save(update_fields=["status", "started_at", "progress", "error", "attempts"])
    return job


def run_job(*, job_id: int) -> ReportJob | None:
    """Build a job's file into private storage, then email the requester. Safe to call twice."""
    job = _claim(job_id)
    if job is None:
        return None
    with translation.override(_language_for(job)):
        try:
            _build_job_file(job)
        except ReportError as exc:
            _fail(job, str(exc))
        except Exception as exc:
            logger.exception("report job %s failed", job.pk)
            _fail(
                job,
                _("Unexpected error (%(error)s). Retry the job; if it fails again, tell the operator.")
                % {"error": f"{type(exc).__name__}: {exc}"[:500]},
            )
    notify_requester(job=job)
    return job


def _build_job_file(job: ReportJob) -> None:
    _check_format(job.format)
    report = build_report(store=job.store, kind=job.kind, params=job.params)
    total = max(1, report.row_count)
    _check_pdf_size(job.format, report.row_count)

    def progress(done: int) -> None:
        ReportJob.objects.filter(pk=job.pk).update(progress=min(99, done * 100 // total))

    with tempfile.TemporaryFile() as fh:
        write_report(report=report, fmt=job.format, fh=fh, params=job.params, progress=progress)
        fh.seek(0)
        job.file.save(job.filename, File(fh), save=False)
    job.status = ReportJob.Status.DONE
    job.progress = 100
    job.row_count = report.row_count
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "progress", "row_count", "file", "finished_at"])


def _fail(job: ReportJob, message: str) -> None:
    job.status = ReportJob.Status.FAILED
    job.error = message
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])


def retry_job(*, job: ReportJob) -> bool:
    """Queue a failed job again; False when it is not failed or the same report is under way."""
    with transaction.atomic():
        job = ReportJob.objects.select_for_update().get(pk=job.pk)
        if job.status != ReportJob.Status.FAILED:
            return False
        if ReportJob.objects.filter(params_hash=job.params_hash, status__in=ReportJob.ACTIVE).exists():
            return False
        if job.file:
            job.file.delete(save=False)
        job.status = ReportJob.Status.QUEUED
        job.progress = 0
        job.error = ""
        job.started_at = job.finished_at = None
        try:
            with transaction.atomic():
                job.save()
        except IntegrityError:
            return False
        transaction.on_commit(lambda: _enqueue(job.pk))
    return True


def requeue_stale_jobs() -> int:
    """Re-enqueue queued jobs whose enqueue was lost and running jobs whose worker died."""
    stale = timezone.now() - timedelta(seconds=settings.REPORTS_JOB_STALE_SECONDS)
    ids = list(
        ReportJob.objects.filter(
            status=ReportJob.Status.QUEUED, created_at__lt=timezone.now() - timedelta(minutes=5)
        ).values_list("pk", flat=True)
    ) + list(
        ReportJob.objects.filter(status=ReportJob.Status.RUNNING, started_at__lt=stale).values_list(
            "pk", flat=True
        )
    )
    for pk in ids:
        _enqueue(pk)
    return len(ids)


def cleanup_old_reports(*, now=None) -> int:
    """Delete finished jobs older than ``REPORTS_KEEP_DAYS`` together with their files."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.REPORTS_KEEP_DAYS)
    old = ReportJob.objects.filter(
        status__in=[ReportJob.Status.DONE, ReportJob.Status.FAILED], finished_at__lt=cutoff
    )
    deleted = 0
    for job in old.iterator():
        if job.file:
            job.file.delete(save=False)
        job.delete()
        deleted += 1
    return deleted


def _language_for(job: ReportJob) -> str:
    user = job.requested_by
    return getattr(user, "language", "") or job.store.default_language or settings.LANGUAGE_CODE


def notify_requester(*, job: ReportJob) -> bool:
    """Email the requester that the job is done (with the staff-only download link) or failed."""
    user = job.requested_by
    if user is None or not user.email or job.status not in (ReportJob.Status.DONE, ReportJob.Status.FAILED):
        return False
    store = job.store
    with translation.override(_language_for(job)):
        context = {
            "job": job,
            "store": store,
            "user": user,
            "download_url": store.absolute_url(reverse("admin:reports_reportjob_download", args=[job.pk])),
            "job_url": store.absolute_url(reverse("admin:reports_reportjob_status", args=[job.pk])),
        }
        subject = (
            _("Your report is ready: %(report)s")
            if job.status == ReportJob.Status.DONE
            else _("Your report failed: %(report)s")
        ) % {"report": str(job)}
        text = render_to_string("reports/email/job_finished.txt", context)
        html = render_to_string("reports/email/job_finished.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, from_email=store.sender, to=[user.email])
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except Exception:
        logger.exception("could not email report job %s to its requester", job.pk)
        return False
    return True

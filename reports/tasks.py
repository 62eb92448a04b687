"""Thin Celery tasks: they take ids and call ``reports.services`` (safe to run twice)."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def run_report_job(job_id: int) -> str | None:
    job = services.run_job(job_id=job_id)
    return job.status if job else None


@shared_task(acks_late=True)
def cleanup_report_files() -> int:
    return services.cleanup_old_reports()


@shared_task(acks_late=True)
def requeue_stale_report_jobs() -> int:
    return services.requeue_stale_jobs()

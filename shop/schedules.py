"""Periodic jobs as django-celery-beat entries a merchant can see and change in the admin.

Apps declare their defaults with :func:`ensure_periodic_task` from a ``post_migrate`` handler. An
entry is created only when missing: an interval or an on/off switch a merchant changed is never
overwritten by a later migrate.
"""

from __future__ import annotations

from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask


def ensure_periodic_task(
    *,
    name: str,
    task: str,
    every_seconds: int | None = None,
    crontab: dict[str, str] | None = None,
    enabled: bool = True,
    description: str = "",
) -> PeriodicTask:
    existing = PeriodicTask.objects.filter(name=name).first()
    if existing is not None:
        return existing
    schedule: dict = {}
    if every_seconds is not None:
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=every_seconds, period=IntervalSchedule.SECONDS
        )
        schedule["interval"] = interval
    elif crontab is not None:
        cron, _ = CrontabSchedule.objects.get_or_create(
            minute=crontab.get("minute", "0"),
            hour=crontab.get("hour", "*"),
            day_of_week=crontab.get("day_of_week", "*"),
            day_of_month=crontab.get("day_of_month", "*"),
            month_of_year=crontab.get("month_of_year", "*"),
            timezone=crontab.get("timezone", "Europe/Warsaw"),
        )
        schedule["crontab"] = cron
    else:
        raise ValueError("pass every_seconds or crontab")
    return PeriodicTask.objects.create(
        name=name, task=task, enabled=enabled, description=description, **schedule
    )


def install_shop_schedules(**kwargs) -> None:
    ensure_periodic_task(
        name="Deliver missed domain events",
        task="shop.tasks.sweep_events",
        every_seconds=60,
        description="Re-delivers outbox events whose enqueue was lost (broker outage, crash).",
    )
    ensure_periodic_task(
        name="Daily backup",
        task="shop.tasks.daily_backup",
        crontab={"minute": "30", "hour": "3"},
        description="Encrypted database and files snapshot; keeps BACKUP_KEEP_DAILY days and BACKUP_KEEP_WEEKLY weeks.",
    )

"""Every integrations write that matters: saving a connector (validated, secrets encrypted,
schedules kept in step), running it inside a locked, resumable SyncRun, and tidying up.

Admin actions, the ``sync`` command and Celery tasks all call these functions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from shop.crypto import SecretsUnreadable

from .connector_client import IntegrationHTTPError
from .connectors.base import Connector, RunContext, get_connector_class
from .models import ConnectorConfig, Direction, StagedPart, StagedRow, SyncRun, SyncRunError

log = logging.getLogger(__name__)

RUN_TASK = "integrations.tasks.run_connector"


# --- configuration -------------------------------------------------------------------------------


def connector_for(config: ConnectorConfig) -> Connector:
    return get_connector_class(config.connector_type)(config)


@transaction.atomic
def save_config(
    *,
    config: ConnectorConfig,
    raw_settings: dict[str, Any],
    profile: dict[str, Any] | None = None,
    clear_secrets: tuple[str, ...] = (),
) -> ConnectorConfig:
    """Validate and save a connector configuration, then create or update its schedules.

    ``raw_settings`` holds every option of the connector's schema; secret options that are empty
    keep their stored value (the admin never shows them back); names in ``clear_secrets`` are
    removed. A custom ``profile`` is validated before anything is saved.
    """
    cls = get_connector_class(config.connector_type)
    settings_out, new_secrets = cls.clean_settings(raw_settings)
    if profile is not None:
        config.profile = profile
    if config.profile:
        from .wholesalers.profile import Profile

        try:
            Profile.from_dict(config.profile)
        except ValidationError as exc:
            raise ValidationError({"profile": exc.messages}) from exc
    try:
        secrets = config.secrets if config.secrets_encrypted else {}
    except SecretsUnreadable:
        secrets = {}
    secrets = {k: v for k, v in secrets.items() if k not in clear_secrets}
    secrets.update(new_secrets)
    config.settings = settings_out
    config.set_secrets(secrets)
    config.full_clean(exclude=["settings", "profile", "state", "secrets_encrypted"])
    config.save()
    sync_schedules(config=config)
    return config


def schedule_name(config: ConnectorConfig, direction: str) -> str:
    return f"integrations:{config.pk}:{direction}"


def sync_schedules(*, config: ConnectorConfig) -> list[PeriodicTask]:
    """One django-celery-beat entry per (connector, direction): full import daily at
    ``full_sync_time`` in the store's zone, stock import every ``stock_sync_minutes``; disabled
    while the connector is inactive (or the interval is 0)."""
    cls = get_connector_class(config.connector_type)
    tasks = []
    for direction in cls.directions():
        defaults: dict[str, Any] = {
            "task": RUN_TASK,
            "kwargs": json.dumps({"config_id": config.pk, "direction": direction}),
            "description": _("%(name)s: %(direction)s (store %(store)s)")
            % {"name": config.name, "direction": Direction(direction).label, "store": config.store.name},
            "enabled": config.is_active,
            "interval": None,
            "crontab": None,
        }
        seconds = cls.schedule_seconds(config, direction)
        if seconds is not None:
            interval, _c = IntervalSchedule.objects.get_or_create(
                every=max(1, seconds), period=IntervalSchedule.SECONDS
            )
            defaults["interval"] = interval
            defaults["enabled"] = config.is_active and seconds > 0
        elif direction == Direction.STOCK:
            minutes = config.stock_sync_minutes
            interval, _c = IntervalSchedule.objects.get_or_create(
                every=max(1, minutes), period=IntervalSchedule.MINUTES
            )
            defaults["interval"] = interval
            defaults["enabled"] = config.is_active and minutes > 0
        else:
            at = config.full_sync_time
            crontab, _c = CrontabSchedule.objects.get_or_create(
                minute=str(at.minute),
                hour=str(at.hour),
                day_of_week="*",
                day_of_month="*",
                month_of_year="*",
                timezone=config.store.timezone,
            )
            defaults["crontab"] = crontab
        task, _c = PeriodicTask.objects.update_or_create(
            name=schedule_name(config, direction), defaults=defaults
        )
        tasks.append(task)
    PeriodicTask.objects.filter(name__startswith=f"integrations:{config.pk}:").exclude(
        pk__in=[t.pk for t in tasks]
    ).delete()
    return tasks


@transaction.atomic
def delete_config(*, config: ConnectorConfig) -> None:
    PeriodicTask.objects.filter(name__startswith=f"integrations:{config.pk}:").delete()
    config.delete()


# --- runs ----------------------------------------------------------------------------------------


class RunRefused(Exception):
    """Another run of this connector is in progress."""


def _stale_cutoff():
    return timezone.now() - timedelta(seconds=settings.INTEGRATIONS_RUN_STALE_SECONDS)


def start_run(
    *, config: ConnectorConfig, direction: str, trigger: str, dry_run: bool = False
) -> tuple[SyncRun, bool]:
    """Take the connector's lock by creating its one ``running`` SyncRun.

    Returns ``(run, resumed)``. A running run whose heartbeat is older than
    ``INTEGRATIONS_RUN_STALE_SECONDS`` belonged to a worker that died: when it is the same
    direction and mode it is taken over and resumed from its cursor, else it is closed as failed
    and a new run starts. A live run makes this raise :class:`RunRefused`.
    """
    for _attempt in range(2):
        try:
            with transaction.atomic():
                run = SyncRun.objects.create(
                    config=config, direction=direction, trigger=trigger, dry_run=dry_run
                )
            return run, False
        except IntegrityError:
            current = SyncRun.objects.filter(config=config, status=SyncRun.Status.RUNNING).first()
            if current is None:
                continue  # it finished meanwhile: try again
            if current.heartbeat_at > _stale_cutoff():
                raise RunRefused(
                    _("Another run of %(name)s is in progress (started %(at)s).")
                    % {
                        "name": config.name,
                        "at": timezone.localtime(current.started_at).strftime("%Y-%m-%d %H:%M"),
                    }
                ) from None
            now = timezone.now()
            if current.direction == direction and current.dry_run == dry_run:
                taken = SyncRun.objects.filter(
                    pk=current.pk, status=SyncRun.Status.RUNNING, heartbeat_at=current.heartbeat_at
                ).update(heartbeat_at=now, trigger=trigger)
                if taken:
                    current.refresh_from_db()
                    return current, True
                continue
            _discard_staging(current)
            SyncRun.objects.filter(pk=current.pk, status=SyncRun.Status.RUNNING).update(
                status=SyncRun.Status.FAILED,
                finished_at=now,
                error=_("The worker running this stopped without finishing; a later run replaced it."),
            )
    raise RunRefused(_("Could not take the lock of %(name)s.") % {"name": config.name})


def _discard_staging(run: SyncRun) -> None:
    StagedRow.objects.filter(run=run).delete()
    StagedPart.objects.filter(run=run).delete()
    from .wholesalers.connector import remove_run_dir

    remove_run_dir(run.pk)


def run_connector(
    *,
    config_id: int,
    direction: str,
    trigger: str = SyncRun.Trigger.SCHEDULE,
    dry_run: bool = False,
    file_path: str | None = None,
    files: dict[str, str] | None = None,
    progress: Callable[[int, int | None, str], None] | None = None,
) -> SyncRun:
    """Run one connector in one direction and return the finished SyncRun.

    Never raises for a feed or network problem: the run ends ``failed`` with the reason. When the
    lock is held by a live run, a ``skipped`` run records that this one was refused.
    """
    config = ConnectorConfig.objects.select_related("store").get(pk=config_id)
    cls = get_connector_class(config.connector_type)
    if direction not in cls.directions():
        raise ValueError(f"{config.connector_type} has no direction {direction!r}")
    try:
        run, resumed = start_run(config=config, direction=direction, trigger=trigger, dry_run=dry_run)
    except RunRefused as exc:
        now = timezone.now()
        return SyncRun.objects.create(
            config=config,
            direction=direction,
            trigger=trigger,
            dry_run=dry_run,
            status=SyncRun.Status.SKIPPED,
            error=str(exc),
            finished_at=now,
        )
    if resumed:
        run.summary = {**run.summary, "resumed": True}
        log.info("Resuming run %s of %s from %s", run.pk, config, run.cursor)
    context = RunContext(run=run, file_path=file_path, progress=progress, extra={"files": files or {}})
    from .wholesalers.importer import RunAborted
    from .wholesalers.readers import FeedError

    try:
        connector = cls(config)
        connector.run(direction=direction, context=context)
    except (RunAborted, FeedError, IntegrationHTTPError, ValidationError, SecretsUnreadable) as exc:
        message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        _finish(run, status=SyncRun.Status.FAILED, error=message)
    except Exception as exc:
        log.exception("Run %s of %s failed", run.pk, config)
        _finish(
            run,
            status=SyncRun.Status.FAILED,
            error=_("Unexpected error: %(e)s") % {"e": f"{type(exc).__name__}: {exc}"},
        )
    else:
        _finish(run, status=SyncRun.Status.SUCCEEDED)
    return run


def _finish(run: SyncRun, *, status: str, error: str = "") -> None:
    run.status = status
    run.error = error[:5000]
    run.finished_at = timezone.now()
    run.phase = SyncRun.Phase.DONE
    if status == SyncRun.Status.FAILED:
        # Nothing was applied: the counts describe what the run found, not what it changed.
        run.summary = {**run.summary, "applied": False}
    else:
        run.summary = {**run.summary, "applied": not run.dry_run}
    run.cursor = {}
    run.save()
    _discard_staging(run)


def cleanup_runs(*, days: int | None = None) -> int:
    """Delete finished runs (and their error logs) older than the retention period."""
    days = settings.INTEGRATIONS_RUN_RETENTION_DAYS if days is None else days
    cutoff = timezone.now() - timedelta(days=days)
    old = SyncRun.objects.filter(finished_at__lt=cutoff).exclude(status=SyncRun.Status.RUNNING)
    count = old.count()
    SyncRunError.objects.filter(run__in=old).delete()
    old.delete()
    return count

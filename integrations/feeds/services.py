"""Every feed write that matters: saving a feed (with its schedule), rotating its token,
generating its file (locked, streamed, written atomically, logged) and noting catalog changes
that call for an early regeneration.

The admin, the ``generate_feeds`` command, Celery tasks and the outbox handlers call these.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import logging
import os
import secrets
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from .models import Feed, FeedRun, new_token
from .offers import FeedItems
from .text import one_line
from .writers import writer_for

log = logging.getLogger(__name__)

GENERATE_TASK = "integrations.feeds.tasks.generate_feed"


# --- configuration -------------------------------------------------------------------------------


def schedule_name(feed: Feed) -> str:
    return f"feeds:{feed.pk}"


@transaction.atomic
def save_feed(*, feed: Feed) -> Feed:
    """Validate and save a feed, then keep its django-celery-beat entry in step."""
    feed.full_clean(exclude=["token"])
    feed.save()
    sync_schedule(feed=feed)
    return feed


def sync_schedule(*, feed: Feed) -> PeriodicTask:
    """One interval entry per feed (``feeds:<id>``), enabled while the feed is active."""
    interval, _c = IntervalSchedule.objects.get_or_create(
        every=max(1, feed.interval_minutes), period=IntervalSchedule.MINUTES
    )
    task, _c = PeriodicTask.objects.update_or_create(
        name=schedule_name(feed),
        defaults={
            "task": GENERATE_TASK,
            "kwargs": json.dumps({"feed_id": feed.pk, "trigger": FeedRun.Trigger.SCHEDULE}),
            "interval": interval,
            "crontab": None,
            "enabled": feed.is_active,
            "description": _("Product feed %(name)s (%(partner)s, store %(store)s)")
            % {"name": feed.name, "partner": feed.partner_label, "store": feed.store.name},
        },
    )
    return task


@transaction.atomic
def delete_feed(*, feed: Feed) -> None:
    PeriodicTask.objects.filter(name=schedule_name(feed)).delete()
    directory = feed_dir(feed.pk)
    feed.delete()
    transaction.on_commit(lambda: _remove_dir(directory))


def rotate_token(*, feed: Feed) -> Feed:
    """A new secret URL; the old one answers 404 from now on."""
    feed.token = new_token()
    feed.save(update_fields=["token", "updated_at"])
    return feed


# --- files ---------------------------------------------------------------------------------------


def feed_dir(feed_id: int) -> Path:
    return Path(settings.PRIVATE_ROOT) / "feeds" / str(feed_id)


def feed_path(feed: Feed, *, gzipped: bool = False) -> Path | None:
    """The current file (or its gzip twin) of a generated feed, else None."""
    if not feed.file_name:
        return None
    path = feed_dir(feed.pk) / (feed.file_name + (".gz" if gzipped else ""))
    return path


def _remove_dir(directory: Path) -> None:
    if not directory.is_dir():
        return
    for child in directory.iterdir():
        try:
            child.unlink()
        except OSError:
            log.warning("Could not delete %s", child)
    with contextlib.suppress(OSError):
        directory.rmdir()


class _Output:
    """What the writer writes to: the file, a gzip twin (served to clients that accept gzip) and
    a SHA-256 of the content (the ETag), all in one pass."""

    def __init__(self, raw, gz_raw):
        self.raw = raw
        self.gz = gzip.GzipFile(fileobj=gz_raw, mode="wb", compresslevel=settings.FEEDS_GZIP_LEVEL, mtime=0)
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        data = bytes(data)
        self.raw.write(data)
        self.gz.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        self.raw.flush()


def _sync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- runs ----------------------------------------------------------------------------------------


class RunRefused(Exception):
    """Another generation of this feed is in progress."""


def _start_run(*, feed: Feed, trigger: str) -> FeedRun:
    stale = timezone.now() - timedelta(seconds=settings.FEEDS_RUN_STALE_SECONDS)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return FeedRun.objects.create(feed=feed, trigger=trigger)
        except IntegrityError:
            current = FeedRun.objects.filter(feed=feed, status=FeedRun.Status.RUNNING).first()
            if current is None:
                continue
            if current.heartbeat_at > stale:
                raise RunRefused(
                    _("Feed %(name)s is being generated right now (started %(at)s).")
                    % {
                        "name": feed.name,
                        "at": timezone.localtime(current.started_at).strftime("%Y-%m-%d %H:%M"),
                    }
                ) from None
            FeedRun.objects.filter(pk=current.pk, status=FeedRun.Status.RUNNING).update(
                status=FeedRun.Status.FAILED,
                finished_at=timezone.now(),
                error=_(
                    "The worker generating this feed stopped without finishing; a later run replaced it."
                ),
            )
    raise RunRefused(_("Could not take the lock of feed %(name)s.") % {"name": feed.name})


def generate_feed(
    *, feed_id: int, trigger: str = FeedRun.Trigger.SCHEDULE, chunk_size: int | None = None
) -> FeedRun:
    """Write a full snapshot of one feed and return its run.

    The file is streamed to a temporary file beside the final one (with its gzip twin), fsynced and
    moved into place with ``os.replace``, so a partner never fetches half a file; the previous
    generation stays until the next one replaces it. Never raises for a problem of the catalog:
    items a partner would refuse are skipped and counted, and a failure ends the run ``failed``
    with the reason while the last good file keeps being served.
    """
    feed = Feed.objects.select_related("store").get(pk=feed_id)
    try:
        run = _start_run(feed=feed, trigger=trigger)
    except RunRefused as exc:
        now = timezone.now()
        return FeedRun.objects.create(
            feed=feed, trigger=trigger, status=FeedRun.Status.SKIPPED, error=str(exc), finished_at=now
        )
    started = time.monotonic()
    # Changes noted before this point are in this snapshot.
    Feed.objects.filter(pk=feed.pk, last_change_at__lte=run.started_at).update(
        pending_changes=0, first_change_at=None, last_change_at=None
    )
    directory = feed_dir(feed.pk)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{timezone.now():%Y%m%d%H%M%S}-{secrets.token_hex(4)}.{feed.extension}"
    tmp_paths: list[Path] = []
    try:
        with (
            tempfile.NamedTemporaryFile(dir=directory, prefix=".tmp-", delete=False) as raw,
            tempfile.NamedTemporaryFile(dir=directory, prefix=".tmp-", suffix=".gz", delete=False) as gz_raw,
        ):
            tmp_paths = [Path(raw.name), Path(gz_raw.name)]
            out = _Output(raw, gz_raw)
            _write(feed, run, out, chunk_size=chunk_size)
            out.gz.close()
            for f in (raw, gz_raw):
                f.flush()
                os.fsync(f.fileno())
        gz_size = tmp_paths[1].stat().st_size
        os.replace(tmp_paths[1], directory / f"{name}.gz")
        os.replace(tmp_paths[0], directory / name)
        _sync_dir(directory)
    except Exception as exc:
        for path in tmp_paths:
            path.unlink(missing_ok=True)
        log.exception("Feed %s failed", feed.pk)
        message = f"{type(exc).__name__}: {exc}"[:5000]
        run.status = FeedRun.Status.FAILED
        run.error = message
        run.finished_at = timezone.now()
        run.save()
        Feed.objects.filter(pk=feed.pk).update(last_error=message)
        return run

    finished = timezone.now()
    duration_ms = int((time.monotonic() - started) * 1000)
    etag = out.sha.hexdigest()[:40]
    previous = feed.file_name
    with transaction.atomic():
        run.status = FeedRun.Status.SUCCEEDED
        run.size = out.size
        run.gzip_size = gz_size
        run.finished_at = finished
        run.save()
        Feed.objects.filter(pk=feed.pk).update(
            file_name=name,
            etag=etag,
            last_generated_at=finished,
            last_items=run.items,
            last_skipped=run.skipped,
            last_warnings=run.warning_count,
            last_size=out.size,
            last_gzip_size=gz_size,
            last_duration_ms=duration_ms,
            last_error="",
        )
    _prune_files(directory, keep={name, f"{name}.gz", previous, f"{previous}.gz"})
    _prune_runs(feed)
    log.info(
        "Feed %s: %s items, %s skipped, %s bytes in %s ms",
        feed.pk,
        run.items,
        run.skipped,
        out.size,
        duration_ms,
    )
    return run


def _write(feed: Feed, run: FeedRun, out: _Output, *, chunk_size: int | None) -> None:
    store = feed.store
    writer = writer_for(
        feed.format,
        out,
        title=one_line(f"{store.name} – {feed.name}", limit=300),
        link=store.absolute_url("/"),
        description=one_line(
            _("Products of %(store)s for %(partner)s") % {"store": store.name, "partner": feed.partner_label},
            limit=500,
        ),
    )
    source = FeedItems(feed, chunk_size=chunk_size)
    stored: list[dict] = []
    summary: dict[str, int] = {}
    limit = settings.FEEDS_MAX_STORED_WARNINGS
    beat_every = max(1, settings.FEEDS_CHUNK_SIZE)

    def note(key: str, code: str, message: str, skipped: bool) -> None:
        summary[code] = summary.get(code, 0) + 1
        run.warning_count += 1
        if len(stored) < limit:
            stored.append({"item": key, "code": code, "message": message, "skipped": skipped})

    writer.start()
    for seen, item in enumerate(source.items(), start=1):
        problems = writer.problems(item.offer)
        for code, message in item.warnings:
            if not any(code == p for p, _m in problems):
                note(item.key, code, message, False)
        if problems:
            run.skipped += 1
            for code, message in problems:
                note(item.key, code, message, True)
        else:
            writer.write(item.offer)
            run.items += 1
        if seen % beat_every == 0:
            FeedRun.objects.filter(pk=run.pk).update(
                heartbeat_at=timezone.now(), items=run.items, skipped=run.skipped
            )
    writer.finish()
    run.filtered = source.counters.filtered
    run.warnings = stored
    run.warning_summary = summary


def _prune_files(directory: Path, *, keep: set[str]) -> None:
    """Delete older generations (keeping the current and the previous one, which a partner may
    still be downloading) and temporary files of crashed runs."""
    now = time.time()
    for child in directory.iterdir():
        if child.name in keep:
            continue
        if child.name.startswith(".tmp-") and now - child.stat().st_mtime < settings.FEEDS_RUN_STALE_SECONDS:
            continue  # maybe a run of this feed taking over right now
        try:
            child.unlink()
        except OSError:
            log.warning("Could not delete %s", child)


def _prune_runs(feed: Feed) -> None:
    keep = settings.FEEDS_RUNS_KEPT
    old = list(
        FeedRun.objects.filter(feed=feed).order_by("-started_at", "-pk").values_list("pk", flat=True)[keep:]
    )
    if old:
        FeedRun.objects.filter(pk__in=old).exclude(status=FeedRun.Status.RUNNING).delete()


# --- changes -------------------------------------------------------------------------------------


def note_stock_changes(*, store_id: int | None, count: int) -> int:
    """Remember that ``count`` variants changed (outbox ``stock.changed``). Returns feeds touched.

    Only a counter and two timestamps per feed: the periodic :func:`due_for_changes` decides when
    the catalog has been quiet long enough (debounce), so a burst of 500 stock events becomes one
    regeneration, and a lost broker message cannot lose it.
    """
    now = timezone.now()
    feeds = Feed.objects.filter(is_active=True, regenerate_on_changes=True)
    if store_id is not None:
        feeds = feeds.filter(store_id=store_id)
    return feeds.update(
        pending_changes=F("pending_changes") + max(1, count),
        first_change_at=Coalesce("first_change_at", now),
        last_change_at=now,
    )


def handle_stock_changed(event) -> None:
    """Outbox handler for ``stock.changed`` (registered in ``FeedsConfig.ready``)."""
    ids = event.payload.get("variant_ids") or []
    count = len(ids) if isinstance(ids, list) else 1
    note_stock_changes(store_id=event.store_id, count=count)


def due_for_changes(*, now=None) -> list[int]:
    """Ids of feeds to regenerate early: enough variants changed and the catalog has been quiet
    for ``FEEDS_CHANGE_QUIET_SECONDS`` (or changes have waited ``FEEDS_CHANGE_MAX_DELAY_SECONDS``),
    or a wholesaler import that changed the catalog finished after the feed was last generated."""
    from integrations.models import Direction, SyncRun

    now = now or timezone.now()
    quiet = now - timedelta(seconds=settings.FEEDS_CHANGE_QUIET_SECONDS)
    waited = now - timedelta(seconds=settings.FEEDS_CHANGE_MAX_DELAY_SECONDS)
    feeds = Feed.objects.filter(is_active=True, regenerate_on_changes=True)
    by_stock = feeds.filter(pending_changes__gte=F("change_threshold")).filter(
        Q(last_change_at__lte=quiet) | Q(first_change_at__lte=waited)
    )
    ids = set(by_stock.values_list("pk", flat=True))
    imports = SyncRun.objects.filter(
        direction__in=[Direction.FULL, Direction.STOCK],
        status=SyncRun.Status.SUCCEEDED,
        dry_run=False,
        finished_at__lte=quiet,
        finished_at__gte=now - timedelta(days=1),
    ).filter(Q(created__gt=0) | Q(updated__gt=0) | Q(vanished__gt=0))
    for feed_id, store_id, generated in feeds.exclude(pk__in=ids).values_list(
        "pk", "store_id", "last_generated_at"
    ):
        recent = imports.filter(config__store_id=store_id)
        if generated is not None:
            recent = recent.filter(finished_at__gt=generated)
        if recent.exists():
            ids.add(feed_id)
    running = FeedRun.objects.filter(feed_id__in=ids, status=FeedRun.Status.RUNNING).values_list(
        "feed_id", flat=True
    )
    return sorted(ids - set(running))


def cleanup_stale_runs() -> int:
    """Close runs whose worker died (no heartbeat for ``FEEDS_RUN_STALE_SECONDS``)."""
    stale = timezone.now() - timedelta(seconds=settings.FEEDS_RUN_STALE_SECONDS)
    return FeedRun.objects.filter(status=FeedRun.Status.RUNNING, heartbeat_at__lt=stale).update(
        status=FeedRun.Status.FAILED,
        finished_at=timezone.now(),
        error=_("The worker generating this feed stopped without finishing."),
    )

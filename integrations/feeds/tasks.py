"""Thin Celery tasks: they take ids, call a service, and are safe to run twice (the run lock turns
a duplicate delivery into a ``skipped`` run)."""

from __future__ import annotations

from celery import shared_task

from . import services
from .models import Feed, FeedRun


@shared_task(name="integrations.feeds.tasks.generate_feed", acks_late=True)
def generate_feed(feed_id: int, trigger: str = FeedRun.Trigger.SCHEDULE) -> int:
    feed = Feed.objects.filter(pk=feed_id).only("pk", "is_active").first()
    if feed is None:
        # Deleted with its store (a cascade that bypassed services.delete_feed): drop its schedule.
        from django_celery_beat.models import PeriodicTask

        PeriodicTask.objects.filter(name=f"feeds:{feed_id}").delete()
        return 0
    if trigger != FeedRun.Trigger.ADMIN and not feed.is_active:
        return 0
    return services.generate_feed(feed_id=feed_id, trigger=trigger).pk


@shared_task(name="integrations.feeds.tasks.regenerate_changed", acks_late=True)
def regenerate_changed() -> int:
    """Periodic: regenerate feeds whose catalog changed in bulk and has been quiet since."""
    services.cleanup_stale_runs()
    ids = services.due_for_changes()
    for feed_id in ids:
        generate_feed.delay(feed_id, FeedRun.Trigger.CHANGES)
    return len(ids)

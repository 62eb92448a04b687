"""Early regeneration after bulk changes: ``stock.changed`` events are counted per feed and
debounced; a wholesaler import that changed the catalog also triggers; the periodic task runs
what is due."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.stock import adjust_stock
from integrations.feeds import services, tasks
from integrations.feeds.models import Feed, FeedRun
from integrations.models import ConnectorConfig, SyncRun
from shop import events
from shop.models import Event
from tests.catalog.factories import VariantFactory, main_warehouse
from tests.shop.factories import StoreFactory

from .factories import FeedFactory

pytestmark = pytest.mark.django_db


def age(feed: Feed, seconds: int) -> None:
    past = timezone.now() - timedelta(seconds=seconds)
    Feed.objects.filter(pk=feed.pk).update(first_change_at=past, last_change_at=past)


def test_stock_changed_events_are_counted_for_the_stores_feeds(store, django_capture_on_commit_callbacks):
    feed = FeedFactory(store=store)
    off = FeedFactory(store=store, regenerate_on_changes=False)
    other = FeedFactory(store=StoreFactory())
    variant = VariantFactory(store=store, stock=5)

    with django_capture_on_commit_callbacks(execute=True):
        adjust_stock(variant=variant, warehouse=main_warehouse(store), delta=3)

    event = Event.objects.filter(type="stock.changed").latest("pk")
    events.deliver(event.pk)  # idempotent if the eager task already delivered it
    feed.refresh_from_db()
    off.refresh_from_db()
    other.refresh_from_db()
    assert feed.pending_changes == 1 and feed.first_change_at and feed.last_change_at
    assert off.pending_changes == 0
    assert other.pending_changes == 0


def test_debounce_waits_for_quiet_and_threshold(store, settings):
    settings.FEEDS_CHANGE_QUIET_SECONDS = 60
    settings.FEEDS_CHANGE_MAX_DELAY_SECONDS = 600
    feed = FeedFactory(store=store, change_threshold=10)

    services.note_stock_changes(store_id=store.pk, count=4)
    age(feed, 120)
    assert services.due_for_changes() == []  # below the threshold: waits for the schedule

    services.note_stock_changes(store_id=store.pk, count=8)
    assert services.due_for_changes() == []  # still changing

    age(feed, 61)
    assert services.due_for_changes() == [feed.pk]


def test_a_constant_trickle_is_regenerated_after_the_longest_wait(store, settings):
    settings.FEEDS_CHANGE_QUIET_SECONDS = 60
    settings.FEEDS_CHANGE_MAX_DELAY_SECONDS = 600
    feed = FeedFactory(store=store, change_threshold=1)
    services.note_stock_changes(store_id=store.pk, count=1)
    Feed.objects.filter(pk=feed.pk).update(first_change_at=timezone.now() - timedelta(seconds=601))
    assert services.due_for_changes() == [feed.pk]


def test_the_sweep_regenerates_and_clears_pending(store, settings):
    settings.FEEDS_CHANGE_QUIET_SECONDS = 0
    feed = FeedFactory(store=store, change_threshold=1)
    services.note_stock_changes(store_id=store.pk, count=3)
    age(feed, 5)

    assert tasks.regenerate_changed() == 1

    feed.refresh_from_db()
    run = feed.runs.get()
    assert run.trigger == FeedRun.Trigger.CHANGES and run.status == FeedRun.Status.SUCCEEDED
    assert feed.pending_changes == 0 and feed.first_change_at is None
    assert services.due_for_changes() == []


def test_a_finished_wholesaler_import_triggers_once(store, settings):
    settings.FEEDS_CHANGE_QUIET_SECONDS = 0
    feed = FeedFactory(store=store)
    config = ConnectorConfig.objects.create(store=store, connector_type="wholesaler_feed", name="Hurtownia")
    SyncRun.objects.create(
        config=config,
        direction="full",
        trigger="schedule",
        status=SyncRun.Status.SUCCEEDED,
        updated=40,
        finished_at=timezone.now() - timedelta(seconds=1),
    )
    SyncRun.objects.create(
        config=config,
        direction="full",
        trigger="schedule",
        status=SyncRun.Status.SUCCEEDED,
        dry_run=True,
        updated=40,
        finished_at=timezone.now() - timedelta(seconds=1),
    )

    assert services.due_for_changes() == [feed.pk]
    services.generate_feed(feed_id=feed.pk, trigger=FeedRun.Trigger.CHANGES)
    assert services.due_for_changes() == []


def test_an_import_that_changed_nothing_does_not_trigger(store, settings):
    settings.FEEDS_CHANGE_QUIET_SECONDS = 0
    FeedFactory(store=store)
    config = ConnectorConfig.objects.create(store=store, connector_type="wholesaler_feed", name="Hurtownia")
    SyncRun.objects.create(
        config=config,
        direction="stock",
        trigger="schedule",
        status=SyncRun.Status.SUCCEEDED,
        unchanged=500,
        finished_at=timezone.now() - timedelta(seconds=1),
    )
    assert services.due_for_changes() == []


def test_scheduled_task_skips_inactive_feeds_but_admin_runs_them(store):
    feed = FeedFactory(store=store, is_active=False)
    assert tasks.generate_feed(feed.pk, FeedRun.Trigger.SCHEDULE) == 0
    assert tasks.generate_feed(feed.pk, FeedRun.Trigger.ADMIN) > 0
    assert tasks.generate_feed(999_999, FeedRun.Trigger.SCHEDULE) == 0


def test_hostile_event_payloads_do_not_break_the_handler(store):
    feed = FeedFactory(store=store)
    for payload in (
        {},
        {"variant_ids": "everything"},
        {"variant_ids": None},
        {"variant_ids": list(range(5000))},
    ):
        services.handle_stock_changed(Event(type="stock.changed", payload=payload, store=store))
    feed.refresh_from_db()
    assert feed.pending_changes == 1 + 1 + 1 + 5000


def test_the_sweep_schedule_is_installed():
    from django_celery_beat.models import PeriodicTask

    from integrations.feeds.apps import install_feed_schedules

    install_feed_schedules()
    assert PeriodicTask.objects.filter(task="integrations.feeds.tasks.regenerate_changed").exists()


def test_a_schedule_left_by_a_deleted_store_removes_itself(store):
    from django_celery_beat.models import PeriodicTask

    other = StoreFactory()
    feed = FeedFactory(store=other)
    Feed.objects.filter(pk=feed.pk).delete()  # as the store's cascade would

    assert tasks.generate_feed(feed.pk, FeedRun.Trigger.SCHEDULE) == 0
    assert not PeriodicTask.objects.filter(name=f"feeds:{feed.pk}").exists()

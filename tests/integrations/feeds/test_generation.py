"""Generating a feed: private storage, atomic replacement, the run log, the lock, failures that
keep the last good file, pruning, and queries per chunk (not per product)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.feeds import services
from integrations.feeds.models import Feed, FeedRun
from tests.catalog.factories import (
    AttributeFactory,
    AttributeValueFactory,
    ProductFactory,
    ProductImageFactory,
    VariantFactory,
)

from .conftest import google_items
from .factories import CeneoFeedFactory, FeedFactory, FeedRunFactory

pytestmark = pytest.mark.django_db


def catalog(store, n: int, *, variants: int = 2) -> None:
    size = AttributeFactory(store=store, name="Rozmiar", slug="rozmiar")
    values = [AttributeValueFactory(attribute=size, value=s) for s in ("S", "M", "L")][:variants]
    for i in range(n):
        product = ProductFactory(store=store, name=f"Produkt {i}", brand="Sowa")
        ProductImageFactory(product=product)
        for j in range(variants):
            VariantFactory(product=product, sku=f"Q-{i}-{j}", stock=3, attribute_values=[values[j]])


def test_file_lives_in_private_storage_with_run_figures(store, settings, generate_feed):
    catalog(store, 2)
    feed = FeedFactory(store=store)

    run, content = generate_feed(feed)

    path = Path(services.feed_path(feed))
    assert path.is_relative_to(Path(settings.PRIVATE_ROOT))
    assert not path.is_relative_to(Path(settings.MEDIA_ROOT))
    assert run.items == 4 and run.size == len(content) == feed.last_size
    assert run.gzip_size == feed.last_gzip_size == path.with_name(path.name + ".gz").stat().st_size
    assert feed.last_items == 4 and feed.last_generated_at is not None and feed.etag
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp-")]


def test_queries_grow_with_chunks_not_products(store):
    catalog(store, 3)
    feed = FeedFactory(store=store)
    with CaptureQueriesContext(connection) as small:
        services.generate_feed(feed_id=feed.pk, chunk_size=500)
    for i in range(3, 15):
        product = ProductFactory(store=store, name=f"Produkt {i}")
        ProductImageFactory(product=product)
        VariantFactory(product=product, sku=f"Q-{i}-0", stock=3)
        VariantFactory(product=product, sku=f"Q-{i}-1", stock=3)
    with CaptureQueriesContext(connection) as large:
        run = services.generate_feed(feed_id=feed.pk, chunk_size=500)
    assert run.items == 30
    assert len(large.captured_queries) == len(small.captured_queries)


def test_a_failure_keeps_the_last_good_file(store, monkeypatch, generate_feed):
    catalog(store, 1)
    feed = FeedFactory(store=store)
    _run, good = generate_feed(feed)
    etag = feed.etag

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(services, "_write", broken)
    run = services.generate_feed(feed_id=feed.pk)

    feed.refresh_from_db()
    assert run.status == FeedRun.Status.FAILED and "disk on fire" in run.error
    assert feed.etag == etag and "disk on fire" in feed.last_error
    assert Path(services.feed_path(feed)).read_bytes() == good
    assert not [p for p in Path(services.feed_path(feed)).parent.iterdir() if p.name.startswith(".tmp-")]


def test_a_running_generation_refuses_a_second_one(store):
    feed = FeedFactory(store=store)
    FeedRunFactory(feed=feed, status=FeedRun.Status.RUNNING)

    run = services.generate_feed(feed_id=feed.pk)

    assert run.status == FeedRun.Status.SKIPPED
    assert "being generated" in run.error


def test_a_stale_run_is_taken_over(store, settings):
    feed = FeedFactory(store=store)
    old = FeedRunFactory(feed=feed, status=FeedRun.Status.RUNNING)
    FeedRun.objects.filter(pk=old.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.FEEDS_RUN_STALE_SECONDS + 5)
    )

    run = services.generate_feed(feed_id=feed.pk)

    old.refresh_from_db()
    assert run.status == FeedRun.Status.SUCCEEDED
    assert old.status == FeedRun.Status.FAILED


def test_old_generations_and_runs_are_pruned(store, settings, generate_feed):
    settings.FEEDS_RUNS_KEPT = 2
    catalog(store, 1)
    feed = FeedFactory(store=store)
    names = []
    for _ in range(4):
        generate_feed(feed)
        names.append(feed.file_name)

    files = sorted(p.name for p in Path(services.feed_path(feed)).parent.iterdir())
    assert files == sorted([names[-2], names[-2] + ".gz", names[-1], names[-1] + ".gz"])
    assert feed.runs.count() == 2


def test_warnings_stored_are_capped_but_all_counted(store, settings, generate_feed):
    settings.FEEDS_MAX_STORED_WARNINGS = 3
    for i in range(4):
        ProductImageFactory(product=VariantFactory(store=store, sku=f"W-{i}", stock=1).product)
    feed = FeedFactory(store=store)  # no brand, no EAN: two warnings per item

    run, _content = generate_feed(feed)

    assert run.warning_count == 8 and len(run.warnings) == 3
    assert feed.last_warnings == 8


def test_delete_removes_schedule_and_files(store, django_capture_on_commit_callbacks, generate_feed):
    from django_celery_beat.models import PeriodicTask

    catalog(store, 1)
    feed = FeedFactory(store=store)
    generate_feed(feed)
    directory = Path(services.feed_path(feed)).parent

    with django_capture_on_commit_callbacks(execute=True):
        services.delete_feed(feed=feed)

    assert not directory.exists()
    assert not PeriodicTask.objects.filter(name=f"feeds:{feed.pk}").exists()


def test_schedule_follows_the_feed(store):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    feed = CeneoFeedFactory(store=store, interval_minutes=30)
    task = PeriodicTask.objects.get(name=f"feeds:{feed.pk}")
    assert task.task == "integrations.feeds.tasks.generate_feed"
    assert task.interval.every == 30 and task.interval.period == IntervalSchedule.MINUTES
    assert task.enabled

    feed.is_active = False
    feed.interval_minutes = 120
    services.save_feed(feed=feed)

    task.refresh_from_db()
    assert task.interval.every == 120 and not task.enabled


def test_command_generates_and_reports(store, capsys):
    catalog(store, 1)
    feed = FeedFactory(store=store)

    call_command("generate_feeds", "--feed", str(feed.pk))

    assert "2 items" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("generate_feeds", "--feed", "999999")


def test_an_empty_catalog_is_a_valid_empty_feed(store, generate_feed):
    run, content = generate_feed(FeedFactory(store=store))
    assert run.items == 0 and google_items(content) == {}
    assert Feed.objects.get().last_items == 0

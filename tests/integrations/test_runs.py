"""SyncRun semantics: lock, resume, dry run, stock runs, vanished products, 304, schedules."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from catalog.models import PriceHistory, Product, StockItem, StockMovement, Variant
from integrations import services
from integrations.models import SourceRecord, StagedRow, SyncRun
from shop.models import Event

from .conftest import iof_files, make_config, url_connector

pytestmark = pytest.mark.django_db


def run(config, direction="full", **kwargs):
    return services.run_connector(config_id=config.pk, direction=direction, trigger="command", **kwargs)


def test_second_concurrent_run_is_refused(store, monkeypatch):
    config = make_config(store)
    from integrations.wholesalers import importer

    inner = {}
    original = importer.FeedImporter.apply

    def apply_and_race(self, *, dry_run=False):
        # While this run holds the lock, a second worker tries the same connector.
        inner["run"] = run(config, direction="stock")
        return original(self, dry_run=dry_run)

    monkeypatch.setattr(importer.FeedImporter, "apply", apply_and_race)
    outer = run(config, files=iof_files())
    assert outer.status == SyncRun.Status.SUCCEEDED
    assert inner["run"].status == SyncRun.Status.SKIPPED
    assert "in progress" in inner["run"].error
    assert not SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists()


class WorkerLost(BaseException):
    """What a killed worker looks like from inside: nothing of ours catches it."""


def test_interrupted_run_resumes_from_its_cursor(store, monkeypatch, settings):
    config = make_config(store, batch_size=2)
    from integrations.wholesalers import importer

    calls = {"n": 0}
    original = importer.FeedImporter._stage_batch

    def die_on_second_batch(self, pending, joined):
        calls["n"] += 1
        if calls["n"] == 2:
            raise WorkerLost
        return original(self, pending, joined)

    monkeypatch.setattr(importer.FeedImporter, "_stage_batch", die_on_second_batch)
    with pytest.raises(WorkerLost):
        run(config, files=iof_files())
    dead = SyncRun.objects.get(status=SyncRun.Status.RUNNING)
    assert dead.cursor["phase"] == "staging" and dead.cursor["rows_done"] == 2
    assert StagedRow.objects.filter(run=dead).count() == 2
    assert Product.objects.count() == 0  # nothing applied yet

    # A fresh run while the dead one still looks alive is refused...
    assert run(config, files=iof_files()).status == SyncRun.Status.SKIPPED
    # ...once its heartbeat is stale, the next run takes it over and resumes.
    SyncRun.objects.filter(pk=dead.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    resumed = run(config)  # no files given: the cursor remembers them
    assert resumed.pk == dead.pk
    assert resumed.status == SyncRun.Status.SUCCEEDED, resumed.error
    assert resumed.summary["resumed"] is True
    assert resumed.created == 6 and Variant.objects.count() == 6
    assert calls["n"] > 2  # staging went on from the third row, not from the start


def test_stale_run_of_another_direction_is_closed_and_replaced(store):
    config = make_config(store)
    stale = SyncRun.objects.create(
        config=config, direction="stock", trigger="schedule", heartbeat_at=timezone.now() - timedelta(hours=2)
    )
    result = run(config, files=iof_files())
    assert result.status == SyncRun.Status.SUCCEEDED
    stale.refresh_from_db()
    assert stale.status == SyncRun.Status.FAILED and "stopped without finishing" in stale.error


def test_dry_run_shows_changes_and_writes_nothing(store):
    config = make_config(store)
    events = Event.objects.count()
    result = run(config, files=iof_files(), dry_run=True)
    assert result.status == SyncRun.Status.SUCCEEDED and result.dry_run
    assert result.created == 6
    assert {c["sku"] for c in result.summary["changes"]} >= {"1001-1", "1003-uniw"}
    assert result.summary["applied"] is False
    assert Product.objects.count() == 0 and Variant.objects.count() == 0
    assert PriceHistory.objects.count() == 0 and StockMovement.objects.count() == 0
    assert SourceRecord.objects.count() == 0 and Event.objects.count() == events
    from catalog.models import Category

    assert Category.objects.count() == 0


def test_dry_run_of_a_change_on_an_existing_catalog(store):
    config = make_config(store)
    run(config, files=iof_files())
    config.settings["markup_percent"] = "100"
    config.save()
    result = run(config, files=iof_files(), dry_run=True)
    assert result.updated == 6
    change = next(c for c in result.summary["changes"] if c["sku"] == "1001-1")
    assert change["changes"]["price"] == ["111.93", "172.20"]
    assert Variant.objects.get(sku="1001-1").price == Decimal("111.93")


def test_stock_run_updates_prices_and_stock_only(store, tmp_path, fixtures_dir):
    config = make_config(store)
    run(config, files=iof_files())
    light = (fixtures_dir / "iof_light.xml").read_text()
    light = light.replace(
        'code="1001-1" code_producer="5901234123457" weight="350"><price gross="86.10" net="70.00"/>',
        'code="1001-1" weight="350"><price gross="98.40" net="80.00"/>',
    )
    stocks = (
        (fixtures_dir / "iof_stocks.xml")
        .read_text()
        .replace('code="1002-2"><stock id="1" quantity="10"', 'code="1002-2"><stock id="1" quantity="4"')
    )
    stocks = stocks.replace(
        "</products>",
        '<product id="9"><sizes><size code="UNKNOWN-1"><stock quantity="3"/></size></sizes></product></products>',
    )
    (tmp_path / "light.xml").write_text(light)
    (tmp_path / "stocks.xml").write_text(stocks)
    history = PriceHistory.objects.count()
    result = run(
        config,
        direction="stock",
        files={"light": str(tmp_path / "light.xml"), "stocks": str(tmp_path / "stocks.xml")},
    )
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    assert result.updated == 2 and result.unchanged == 4
    assert Variant.objects.get(sku="1001-1").price == Decimal("127.92")  # 80 * 1.3 * 1.23
    assert PriceHistory.objects.count() == history + 1
    assert StockItem.objects.get(variant__sku="1002-2").quantity == 4
    movement = StockMovement.objects.filter(stock_item__variant__sku="1002-2").first()
    assert movement.delta == -6 and movement.reason == "import"


def test_stock_never_goes_below_reserved_units(store):
    from catalog.stock import reserve_stock

    config = make_config(store)
    run(config, files=iof_files())
    variant = Variant.objects.get(sku="1002-2")
    reserve_stock(lines=[(variant, 8)], reference="order:test", minutes=15)
    custom = iof_files()
    result = run(config, direction="stock", files={"light": custom["light"], "stocks": custom["stocks"]})
    assert result.status == SyncRun.Status.SUCCEEDED
    # The files still say 10: nothing to clamp; now say 2 with 8 held.
    import tempfile
    from pathlib import Path

    text = (
        Path(custom["stocks"])
        .read_text()
        .replace('code="1002-2"><stock id="1" quantity="10"', 'code="1002-2"><stock id="1" quantity="2"')
    )
    with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as fh:
        fh.write(text)
    result = run(config, direction="stock", files={"light": custom["light"], "stocks": fh.name})
    assert StockItem.objects.get(variant=variant).quantity == 8
    assert result.errors.filter(key="1002-2", message__contains="reserved").exists()


@pytest.mark.parametrize("policy", ["hide", "zero", "keep"])
def test_vanished_products_policy(store, tmp_path, fixtures_dir, policy):
    config = make_config(store, vanished_policy=policy, max_vanish_percent="60")
    run(config, files=iof_files())
    text = (fixtures_dir / "iof_full.xml").read_text()
    start = text.index('<product id="1003"')
    end = text.index("</product>", start) + len("</product>")
    (tmp_path / "full.xml").write_text(text[:start] + text[end:])
    result = run(config, files={**iof_files(), "full": str(tmp_path / "full.xml")})
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    assert result.vanished == 1 and result.unchanged == 5
    bag = Variant.objects.get(sku="1003-uniw")
    stock = StockItem.objects.get(variant=bag).quantity
    if policy == "hide":
        assert not bag.is_active and not bag.product.is_published
    elif policy == "zero":
        assert bag.is_active and stock == 0
    else:
        assert bag.is_active and stock == 2
    assert SourceRecord.objects.get(sku="1003-uniw").vanished_at is not None
    # It comes back: active again, not counted as unchanged.
    back = run(config, files=iof_files())
    assert back.updated >= 1
    assert Variant.objects.get(sku="1003-uniw").is_active
    assert SourceRecord.objects.get(sku="1003-uniw").vanished_at is None


def test_feed_missing_most_products_is_refused(store, tmp_path, fixtures_dir):
    config = make_config(store, max_vanish_percent="20")
    run(config, files=iof_files())
    text = (fixtures_dir / "iof_full.xml").read_text()
    start = text.index('<product id="1001"')
    end = text.index("</product>", start) + len("</product>")
    (tmp_path / "full.xml").write_text(text[:start] + text[end:])
    result = run(config, files={"full": str(tmp_path / "full.xml")})
    assert result.status == SyncRun.Status.FAILED and "looks incomplete" in result.error
    assert Variant.objects.filter(is_active=True).count() == 6


def test_download_run_uses_etag_and_skips_unchanged_feed(store, wholesaler, fast_http):
    config = url_connector(store, wholesaler)
    first = run(config)
    assert first.status == SyncRun.Status.SUCCEEDED, first.error
    assert first.created == 6
    config.refresh_from_db()
    assert config.state["validators"]
    second = run(config)
    assert second.status == SyncRun.Status.SUCCEEDED and second.summary["not_modified"] is True
    assert second.created == second.updated == 0
    feed_requests = [r for r in wholesaler.requests if r.path.startswith("/feeds/")]
    assert all(r.headers.get("if-none-match") for r in feed_requests[-3:])


def test_download_retries_busy_and_rate_limited_server(store, wholesaler, fast_http):
    wholesaler.modes["full"] = "fail:2"
    wholesaler.modes["light"] = "ratelimit"
    fast_http.INTEGRATIONS_HTTP_MAX_BACKOFF_SECONDS = 0.05
    result = run(url_connector(store, wholesaler))
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    assert result.created == 6


def test_slow_server_fails_the_run_with_a_timeout(store, wholesaler, fast_http):
    wholesaler.modes["full"] = "slow"
    wholesaler.slow_seconds = 1.5
    fast_http.INTEGRATIONS_HTTP_RETRIES = 0
    result = run(url_connector(store, wholesaler))
    assert result.status == SyncRun.Status.FAILED and "timed out" in result.error


def test_failed_run_does_not_remember_etags(store, wholesaler, fast_http):
    config = url_connector(store, wholesaler)
    wholesaler.modes["stocks"] = "truncate"
    wholesaler.gzip = False
    assert run(config).status == SyncRun.Status.FAILED
    config.refresh_from_db()
    assert not config.state.get("validators")


def test_schedules_follow_the_config(store):
    config = make_config(store)
    tasks = {t.name: t for t in PeriodicTask.objects.filter(name__startswith=f"integrations:{config.pk}:")}
    full, stock = tasks[f"integrations:{config.pk}:full"], tasks[f"integrations:{config.pk}:stock"]
    assert full.task == "integrations.tasks.run_connector"
    assert json.loads(full.kwargs) == {"config_id": config.pk, "direction": "full"}
    assert (full.crontab.hour, full.crontab.minute, str(full.crontab.timezone)) == ("3", "0", "Europe/Warsaw")
    assert stock.interval.every == 15 and stock.interval.period == "minutes" and stock.enabled
    config.stock_sync_minutes = 0
    config.is_active = False
    services.save_config(config=config, raw_settings=config.settings)
    full.refresh_from_db()
    stock.refresh_from_db()
    assert not full.enabled and not stock.enabled
    services.delete_config(config=config)
    assert not PeriodicTask.objects.filter(name__startswith=f"integrations:{config.pk}:").exists()


def test_scheduled_task_runs_the_connector(store, wholesaler, fast_http):
    from integrations.tasks import run_connector

    config = url_connector(store, wholesaler)
    run_id = run_connector.delay(config.pk, "full").get()
    assert SyncRun.objects.get(pk=run_id).trigger == "schedule"
    assert Variant.objects.count() == 6


def test_cleanup_deletes_old_runs(store):
    config = make_config(store)
    old = SyncRun.objects.create(
        config=config,
        direction="full",
        trigger="schedule",
        status="succeeded",
        finished_at=timezone.now() - timedelta(days=200),
    )
    assert services.cleanup_runs(days=90) == 1
    assert not SyncRun.objects.filter(pk=old.pk).exists()

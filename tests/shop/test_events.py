import pytest
from django.db import transaction

from shop import events
from shop.models import Event, EventDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls():
    seen: list[int] = []
    events.register("test.happened", "tests.record", lambda event: seen.append(event.pk))
    yield seen
    events.unregister("test.happened", "tests.record")


def test_event_is_written_with_the_change_and_delivered_after_commit(
    store, calls, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = events.publish(type="test.happened", payload={"x": 1}, store=store)
        assert calls == []  # nothing runs before the transaction commits
    assert calls == [event.pk]
    event.refresh_from_db()
    assert event.processed_at is not None
    assert EventDelivery.objects.get(event=event, handler="tests.record").status == "done"


def test_rolled_back_change_leaves_no_event(store, calls):
    with pytest.raises(RuntimeError), transaction.atomic():
        events.publish(type="test.happened", payload={}, store=store)
        raise RuntimeError("checkout failed")
    assert not Event.objects.filter(type="test.happened").exists()
    assert calls == []


def test_a_handler_runs_once_even_when_delivered_twice(store, calls):
    event = events.publish(type="test.happened", payload={}, store=store)
    assert events.deliver(event.pk) is True
    assert events.deliver(event.pk) is True
    assert calls == [event.pk]


def test_failing_handler_is_retried_and_other_handlers_are_not_repeated(store, calls, settings):
    settings.EVENT_MAX_ATTEMPTS = 3
    attempts = {"n": 0}

    def flaky(event):
        attempts["n"] += 1
        if attempts["n"] < 2:
            raise ConnectionError("partner down")

    events.register("test.happened", "tests.flaky", flaky)
    try:
        event = events.publish(type="test.happened", payload={}, store=store)
        assert events.deliver(event.pk) is False
        delivery = EventDelivery.objects.get(event=event, handler="tests.flaky")
        assert delivery.status == "pending" and "partner down" in delivery.last_error
        assert events.deliver(event.pk) is True
        assert calls == [event.pk]  # the healthy handler ran exactly once
        assert attempts["n"] == 2
    finally:
        events.unregister("test.happened", "tests.flaky")


def test_handler_gives_up_after_max_attempts(store, settings):
    settings.EVENT_MAX_ATTEMPTS = 2

    def broken(event):
        raise ValueError("bad payload")

    events.register("test.broken", "tests.broken", broken)
    try:
        event = events.publish(type="test.broken", payload={}, store=store)
        events.deliver(event.pk)
        assert events.deliver(event.pk) is True
        assert EventDelivery.objects.get(event=event).status == "failed"
    finally:
        events.unregister("test.broken", "tests.broken")


def test_sweep_delivers_events_whose_enqueue_was_lost(store, calls, monkeypatch):
    # The broker is down at commit time: publishing must not raise, and the sweep catches up.
    from shop import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.deliver_event, "apply_async", broker_down)
    with transaction.atomic():
        event = events.publish(type="test.happened", payload={}, store=store)
    assert events.open_events(older_than_seconds=0) == [event.pk]
    assert tasks.sweep_events() >= 0  # default grace period: too young to sweep yet
    monkeypatch.undo()
    assert calls == []
    Event.objects.filter(pk=event.pk).update(created_at=event.created_at.replace(year=2020))
    assert tasks.sweep_events() == 1
    assert calls == [event.pk]


def test_safe_delay_reports_failure_instead_of_raising(monkeypatch):
    from shop.tasks import sweep_events

    monkeypatch.setattr(sweep_events, "apply_async", lambda *a, **k: (_ for _ in ()).throw(OSError("down")))
    assert events.safe_delay(sweep_events) is False

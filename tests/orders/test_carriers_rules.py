"""Rules around carriers that hold under concurrency and bad configuration: two clerks creating a
shipment for one order at once, two workers sending one shipment, shipping methods with services
the carrier does not know, and the cost of the tracking job per parcel."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from orders.carriers import services
from orders.models import Shipment
from tests.fakes.inpost_shipx import FakeShipX
from tests.orders.factories_shipping import (
    CarrierAccountFactory,
    courier_method,
    locker_method,
    ship_ready_order,
)

S = Shipment.Status


@pytest.fixture
def shipx(settings):
    settings.CARRIER_HTTP_BACKOFF_SECONDS = 0
    settings.CARRIER_RATE_PER_SECOND = 0
    settings.CARRIER_CONFIRM_POLL_SECONDS = 0
    settings.CARRIER_TRACKING_MIN_AGE_SECONDS = 0
    with FakeShipX() as fake:
        settings.INPOST_SHIPX_SANDBOX_URL = fake.url
        yield fake


def _in_threads(target, n: int = 2) -> list:
    results: list = [None] * n
    errors: list = []

    def run(i):
        try:
            results[i] = target()
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    return results


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="two writers at once: the SQLite test database is in memory with a shared cache, where the "
    "second writer gets 'database table is locked' at once instead of waiting its turn as on the "
    "file database of `make run` (WAL, BEGIN IMMEDIATE, a busy timeout)",
)
@pytest.mark.django_db(transaction=True)
def test_two_clerks_at_once_get_one_shipment(store, shipx, monkeypatch):
    CarrierAccountFactory(store=store, carrier="inpost")
    order = ship_ready_order(store, locker_method(store))
    queued: list[int] = []
    monkeypatch.setattr(services, "_after_commit", lambda name, pk: queued.append(pk))
    barrier = threading.Barrier(2, timeout=60)
    checks = services.validate_choice

    def both_pass_the_checks_first(choice, *, carrier):
        barrier.wait()  # both requests have seen "no active shipment" before either inserts
        return checks(choice, carrier=carrier)

    monkeypatch.setattr(services, "validate_choice", both_pass_the_checks_first)
    results = _in_threads(lambda: services.create_shipments(orders=[type(order).objects.get(pk=order.pk)]))
    created = [s for created, _refused in results for s in created]
    refused = [r for _created, refused in results for r in refused]
    # The invariant, whichever check stopped the second clerk (the unique constraint, or the
    # "already has an active shipment" look-up when the first had committed by then).
    assert len(created) == 1 and len(refused) == 1
    assert refused[0][0].pk == order.pk and refused[0][1]
    assert list(Shipment.objects.filter(order=order)) == [created[0]]
    assert queued == [created[0].pk]


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_one_shipment_once(store, shipx, monkeypatch):
    CarrierAccountFactory(store=store, carrier="inpost")
    monkeypatch.setattr(services, "_after_commit", lambda name, pk: None)
    (shipment,), _ = services.create_shipments(orders=[ship_ready_order(store, locker_method(store))])
    outcomes = _in_threads(lambda: services.submit_shipment(shipment.pk), n=3)
    assert sorted(outcomes) == ["poll", "skipped", "skipped"]
    assert len(shipx.calls("POST", "/shipments")) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("carrier", "service", "ok"),
    [
        ("inpost", "", True),
        ("inpost", "inpost_courier_standard", True),
        ("inpost", "dpd_classic", False),
        ("apaczka", "41", True),
        ("apaczka", "", False),
        ("apaczka", "41; drop", False),
    ],
)
def test_shipping_method_carrier_service_is_validated(store, carrier, service, ok):
    method = courier_method(store, carrier=carrier, carrier_service=service)
    if ok:
        method.full_clean()
    else:
        with pytest.raises(ValidationError) as exc:
            method.full_clean()
        assert "carrier_service" in exc.value.message_dict


@pytest.mark.django_db
def test_tracking_costs_the_same_queries_per_parcel(
    store, shipx, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    """Following a parcel that did not move: a handful of queries, whatever else is stored."""
    CarrierAccountFactory(store=store, carrier="inpost")
    method = locker_method(store)
    with django_capture_on_commit_callbacks(execute=True):
        created, _ = services.create_shipments(orders=[ship_ready_order(store, method) for _ in range(4)])
    for shipment in created:
        shipment.refresh_from_db()
        shipx.advance(shipment.tracking_number, "taken_by_courier")
    # The first pass moves the orders (status changes, emails, events); later passes are reads.
    with django_capture_on_commit_callbacks(execute=False):
        for shipment in created:
            services.track_shipment(shipment.pk)
    for shipment in created:
        with django_assert_max_num_queries(TRACK_QUERIES):
            assert services.track_shipment(shipment.pk) == S.IN_TRANSIT
    with django_assert_max_num_queries(3):
        due = services.due_for_tracking()
    assert sorted(due["track"]) == sorted(s.pk for s in created)


TRACK_QUERIES = 3  # load the shipment, store the events (ignored duplicates), update the row


@pytest.mark.django_db
def test_the_tracking_job_is_a_beat_entry_with_the_configured_interval(settings):
    from django_celery_beat.models import PeriodicTask

    from orders.apps import install_order_schedules

    PeriodicTask.objects.filter(name="Follow parcel tracking").delete()
    settings.CARRIER_TRACKING_INTERVAL_SECONDS = 900
    install_order_schedules()
    task = PeriodicTask.objects.get(name="Follow parcel tracking")
    assert task.task == "orders.carriers.tasks.follow_shipments" and task.enabled
    assert task.interval.every == 900
    # A merchant's change is never overwritten by a later migrate.
    task.enabled = False
    task.save()
    install_order_schedules()
    assert PeriodicTask.objects.get(name="Follow parcel tracking").enabled is False


@pytest.mark.django_db
def test_a_refusal_is_logged(store, shipx, caplog, django_capture_on_commit_callbacks):
    CarrierAccountFactory(store=store, carrier="inpost")
    order = ship_ready_order(store, locker_method(store), pickup_point="BAD01")
    with (
        caplog.at_level("WARNING", logger="orders.carriers"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        (shipment,), _ = services.create_shipments(orders=[order])
    assert any(
        shipment.reference in r.getMessage() and "target_point" in r.getMessage() for r in caplog.records
    )

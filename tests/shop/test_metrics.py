"""/metrics: protected, per-view latency/errors with bounded labels, task outcomes, queue depth,
business counters from the outbox."""

import re

import pytest
from celery import Celery
from django.db import transaction
from prometheus_client import REGISTRY

from shop import events, metrics

pytestmark = pytest.mark.django_db
TOKEN = "s3cret-metrics-token-for-tests"


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN

    def get():
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200, response.content
        return response.content.decode()

    return get


def value(text: str, name: str, **labels) -> float:
    """The sample ``name{labels}`` in the exposition text (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, number = line.rpartition(" ")
        if head.split("{")[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', head))
        if found == labels:
            return float(number)
    return 0.0


def test_metrics_are_refused_without_a_configured_token(client, store, settings):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything")
    assert response.status_code == 403
    assert b"koszyk_" not in response.content


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer wrong",
        f"Basic {TOKEN}",
        "Bearer",
        f"Bearer {TOKEN}x",
        "Bearer \x00\xff",
        f"bearer  {TOKEN[:-1]}",
    ],
)
def test_metrics_are_401_without_the_right_token(client, store, settings, header):
    settings.METRICS_TOKEN = TOKEN
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert b"koszyk_" not in response.content


def test_the_ip_allow_list_applies_on_top_of_the_token(client, store, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 401
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_requests_are_counted_per_resolved_view(client, store, scrape):
    before = scrape()
    assert client.get("/healthz").status_code == 200
    after = scrape()
    assert value(after, "koszyk_http_requests_total", view="healthz", method="GET", status="2xx") == (
        value(before, "koszyk_http_requests_total", view="healthz", method="GET", status="2xx") + 1
    )
    assert value(after, "koszyk_http_request_duration_seconds_count", view="healthz", method="GET") >= 1
    assert "text/plain" in client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")["Content-Type"]


def test_unknown_paths_share_one_label(client, store, scrape):
    def views(text):
        return set(re.findall(r'koszyk_http_requests_total\{[^}]*view="([^"]*)"', text))

    scrape()  # the scrape counts itself: its own label is in ``before``
    before = views(scrape())  # the registry lives as long as the process: other tests count too
    for path in ("/no-such-thing-1/", "/wp-admin/setup.php", "/%ff%fe/../../etc/passwd", "/x" * 300):
        client.get(path)
    text = scrape()
    assert "wp-admin" not in text and "no-such-thing" not in text and "passwd" not in text
    added = views(text) - before
    assert len(added) <= 1  # four unknown paths, at most one new label
    assert "<unresolved>" in views(text) or any("not_found" in v or "product" in v for v in views(text))


def test_errors_are_counted_per_view(rf, store):
    request = rf.get("/healthz")

    def boom(request):
        raise RuntimeError("boom")

    before = REGISTRY.get_sample_value("koszyk_http_request_errors_total", {"view": "healthz"}) or 0
    with pytest.raises(RuntimeError):
        metrics.MetricsMiddleware(boom)(request)
    assert REGISTRY.get_sample_value("koszyk_http_request_errors_total", {"view": "healthz"}) == before + 1


def test_odd_methods_do_not_become_labels(rf, store):
    from django.http import HttpResponse

    request = rf.generic("BREW", "/healthz")
    metrics.MetricsMiddleware(lambda r: HttpResponse(status=405))(request)
    assert REGISTRY.get_sample_value(
        "koszyk_http_requests_total", {"view": "healthz", "method": "<other>", "status": "4xx"}
    )


def test_task_outcomes_are_counted_per_task(store, scrape, settings):
    app = Celery("metrics-test", set_as_current=False)
    app.conf.task_always_eager = True

    @app.task(name="shop.tasks.deliver_event", shared=False)  # one of the shop's task names
    def ok(x):
        return x

    @app.task(name="tests.not.the.shops.own", shared=False)  # any other name: one label
    def fails():
        raise ValueError("nope")

    before = scrape()
    ok.delay(1)
    fails.apply()
    after = scrape()
    assert value(after, "koszyk_celery_tasks_total", task="shop.tasks.deliver_event", outcome="success") == (
        value(before, "koszyk_celery_tasks_total", task="shop.tasks.deliver_event", outcome="success") + 1
    )
    assert value(after, "koszyk_celery_tasks_total", task="<other>", outcome="failure") == (
        value(before, "koszyk_celery_tasks_total", task="<other>", outcome="failure") + 1
    )


@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_queue_depth_is_read_from_the_broker_at_scrape_time(store, scrape):
    from shop.celery import app

    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for name in metrics.queue_names():
            channel._purge(name) if channel._has_queue(name) else None
    text = scrape()
    assert value(text, "koszyk_celery_broker_up") == 1
    assert value(text, "koszyk_celery_queue_depth", queue="bulk") == 0
    with app.connection_for_write() as conn:
        for _ in range(3):
            app.send_task("recovery.tasks.send_reminder_task", args=[0], queue="bulk", connection=conn)
    try:
        assert value(scrape(), "koszyk_celery_queue_depth", queue="bulk") == 3
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel._purge("bulk")


def test_a_dead_broker_shows_as_down_without_failing_the_scrape(store, scrape, monkeypatch):
    from shop.celery import app

    original = app.conf.broker_url
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        text = scrape()
    finally:
        app.conf.broker_url = original
    assert "koszyk_celery_broker_up 0.0" in text


def test_business_counters_follow_committed_outbox_events(store, scrape, django_capture_on_commit_callbacks):
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events.Event.objects.create(type="order.created", payload={"source": "api"}, store=store)
        events.Event.objects.create(type="order.paid", payload={}, store=store)
        events.Event.objects.create(
            type="cart.recovered",
            payload={"revenue": "149.90", "currency": "PLN", "email": "jan@example.pl"},
            store=store,
        )
    after = scrape()
    assert (
        value(after, "koszyk_orders_placed_total", source="api")
        == value(before, "koszyk_orders_placed_total", source="api") + 1
    )
    assert value(after, "koszyk_orders_paid_total") == value(before, "koszyk_orders_paid_total") + 1
    assert value(after, "koszyk_recovered_revenue_total", currency="PLN") == pytest.approx(
        value(before, "koszyk_recovered_revenue_total", currency="PLN") + 149.90
    )
    assert "jan@example.pl" not in after


def test_a_rolled_back_order_is_not_counted(store, scrape, django_capture_on_commit_callbacks):
    before = value(scrape(), "koszyk_orders_paid_total")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                events.Event.objects.create(type="order.paid", payload={}, store=store)
                raise RuntimeError("payment rolled back")
        except RuntimeError:
            pass
    assert value(scrape(), "koszyk_orders_paid_total") == before
    assert callbacks == []


def test_hostile_payloads_do_not_create_labels(store):
    metrics.count_event("order.created", {"source": "x" * 500 + "{}\n"})
    metrics.count_event("cart.recovered", {"currency": "<script>", "revenue": "NaNx"})
    metrics.count_event("cart.recovered", None)
    assert REGISTRY.get_sample_value("koszyk_orders_placed_total", {"source": "<other>"}) >= 1
    assert REGISTRY.get_sample_value("koszyk_recovered_carts_total", {"currency": "<other>"}) >= 2


def test_failed_outbox_handlers_are_counted_by_handler(store):
    def broken(event):
        raise RuntimeError("accounting API down")

    events.register("test.metrics", "tests.metrics.broken", broken)
    try:
        event = events.Event.objects.create(type="test.metrics", payload={}, store=store)
        before = (
            REGISTRY.get_sample_value(
                "koszyk_event_handler_failures_total", {"handler": "tests.metrics.broken"}
            )
            or 0
        )
        events.deliver(event.pk)
    finally:
        events.unregister("test.metrics", "tests.metrics.broken")
    assert (
        REGISTRY.get_sample_value("koszyk_event_handler_failures_total", {"handler": "tests.metrics.broken"})
        == before + 1
    )


def test_sent_reminders_are_counted_per_channel(store, monkeypatch):
    channels = {5: "sms", 6: "sms", 7: "carrier-pigeon"}
    monkeypatch.setattr(metrics, "reminder_channel", channels.get)
    before = REGISTRY.get_sample_value("koszyk_reminders_sent_total", {"channel": "sms"}) or 0
    metrics._business_from_task("recovery.tasks.send_reminder_task", "sent", (5,), {})
    metrics._business_from_task("recovery.tasks.send_reminder_task", "failed", (6,), {})
    metrics._business_from_task("recovery.tasks.send_reminder_task", "sent", (), {"reminder_id": 7})
    assert REGISTRY.get_sample_value("koszyk_reminders_sent_total", {"channel": "sms"}) == before + 1
    assert REGISTRY.get_sample_value("koszyk_reminders_sent_total", {"channel": "<other>"}) >= 1


def test_the_reminder_channel_comes_from_the_database(store):
    assert metrics.reminder_channel(987654321) is None


CHILD = """
import os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
django.setup()
from shop import metrics
if sys.argv[1] == "count":
    metrics.ORDERS_PAID.inc()
    metrics.REQUESTS.labels("healthz", "GET", "2xx").inc(2)
else:
    from prometheus_client import generate_latest
    sys.stdout.write(generate_latest(metrics.registry()).decode())
"""


@pytest.mark.slow
def test_multiprocess_mode_adds_up_every_workers_values(tmp_path):
    """Under gunicorn each worker is a process: a scrape of any one reports the sum of all."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(root)}

    def run(mode):
        done = subprocess.run(
            [sys.executable, "-c", CHILD, mode],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("count")
    run("count")
    text = run("scrape")
    assert value(text, "koszyk_orders_paid_total") == 2
    assert value(text, "koszyk_http_requests_total", view="healthz", method="GET", status="2xx") == 4
    assert "koszyk_celery_broker_up" in text

"""Prometheus metrics behind ``/metrics`` (docs/operations.md, "Observability").

Web metrics come from :class:`MetricsMiddleware`, labelled by the *resolved view name* (never the
raw path: an unknown path is ``<unresolved>``, so a scanner cannot blow up the series). Celery task
outcomes come from Celery's signals, business counters from the outbox (``Event`` rows, counted
when their transaction commits) and from the outcome of the delivery tasks -- services are not
edited for metrics. Queue depth is read from the broker when Prometheus scrapes.

With gunicorn's several workers set ``PROMETHEUS_MULTIPROC_DIR`` to an empty, writable folder
(emptied before each start): each process writes its values there and a scrape of any worker
adds them up (prometheus-client's multiprocess mode; gunicorn.conf.py marks dead workers).
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import time
from decimal import Decimal, InvalidOperation

from celery.signals import task_postrun, task_prerun, task_retry
from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

UNRESOLVED = "<unresolved>"
OTHER = "<other>"

REQUEST_LATENCY = Histogram(
    "koszyk_http_request_duration_seconds",
    "Time to answer a request, by resolved view.",
    ["view", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
REQUESTS = Counter(
    "koszyk_http_requests_total", "Requests answered, by view and status class.", ["view", "method", "status"]
)
REQUEST_ERRORS = Counter(
    "koszyk_http_request_errors_total", "Requests answered with a 5xx or an exception, by view.", ["view"]
)
TASKS = Counter(
    "koszyk_celery_tasks_total", "Celery tasks finished, by task and outcome.", ["task", "outcome"]
)
TASK_DURATION = Histogram(
    "koszyk_celery_task_duration_seconds",
    "Celery task run time, by task.",
    ["task"],
    buckets=(0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800),
)
ORDERS_PLACED = Counter("koszyk_orders_placed_total", "Orders placed.", ["source"])
ORDERS_PAID = Counter("koszyk_orders_paid_total", "Orders paid.")
REMINDERS_SENT = Counter("koszyk_reminders_sent_total", "Cart reminders sent, by channel.", ["channel"])
RECOVERED_CARTS = Counter(
    "koszyk_recovered_carts_total", "Abandoned carts recovered into orders.", ["currency"]
)
RECOVERED_REVENUE = Counter(
    "koszyk_recovered_revenue_total",
    "Revenue of recovered carts (gross, in the order's currency).",
    ["currency"],
)
WEBHOOK_FAILURES = Counter(
    "koszyk_webhook_delivery_failures_total",
    "Webhook deliveries that failed an attempt or gave up.",
    ["outcome"],
)
INTEGRATION_FAILURES = Counter(
    "koszyk_event_handler_failures_total",
    "Outbox handler runs that raised (integrations, invoices, ...), by handler.",
    ["handler"],
)

_ALLOWED_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_CURRENCIES = {"PLN", "EUR", "USD", "GBP", "CZK", "CHF", "SEK", "NOK", "DKK", "HUF", "RON"}
_CHANNELS = {"email", "sms", "push"}
_SOURCE = re.compile(r"^[a-z][a-z0-9_]{0,19}$")
_task_started: dict[str, float] = {}


def view_label(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return UNRESOLVED
        except Exception:
            return UNRESOLVED
    name = match.view_name or match._func_path
    return (name or UNRESOLVED)[:120]


class MetricsMiddleware:
    """Latency, count and errors per resolved view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        except Exception:
            self._record(request, 500, time.perf_counter() - started)
            raise
        self._record(request, response.status_code, time.perf_counter() - started)
        return response

    @staticmethod
    def _record(request, status: int, elapsed: float) -> None:
        try:
            view = view_label(request)
            method = request.method if request.method in _ALLOWED_METHODS else OTHER
            REQUEST_LATENCY.labels(view, method).observe(elapsed)
            REQUESTS.labels(view, method, f"{status // 100}xx").inc()
            if status >= 500:
                REQUEST_ERRORS.labels(view).inc()
        except Exception:  # metrics never break a request
            log.debug("could not record request metrics", exc_info=True)


# --- Celery ----------------------------------------------------------------------------------------


# Task labels: the shop's own tasks (a set fixed by the code) and Celery's; anything else is one label.
_TASK_PREFIXES = ("shop.", "orders.", "catalog.", "recovery.", "integrations.", "reports.", "celery.")


def _task_name(sender) -> str:
    name = str(getattr(sender, "name", None) or "")
    return name[:120] if name.startswith(_TASK_PREFIXES) else OTHER


@task_prerun.connect(dispatch_uid="shop.metrics.task_prerun")
def _task_prerun(task_id=None, **kwargs):
    if task_id:
        _task_started[task_id] = time.perf_counter()


@task_postrun.connect(dispatch_uid="shop.metrics.task_postrun")
def _task_postrun(sender=None, task_id=None, state=None, retval=None, args=None, kwargs=None, **extra):
    try:
        name = _task_name(sender)
        started = _task_started.pop(task_id, None) if task_id else None
        if started is not None:
            TASK_DURATION.labels(name).observe(time.perf_counter() - started)
        if state == "SUCCESS":
            TASKS.labels(name, "success").inc()
            _business_from_task(name, retval, args or (), kwargs or {})
        elif state == "FAILURE":
            TASKS.labels(name, "failure").inc()
        elif state == "RETRY":
            pass  # counted by task_retry
        elif state:
            TASKS.labels(name, state.lower()[:20]).inc()
    except Exception:
        log.debug("could not record task metrics", exc_info=True)


@task_retry.connect(dispatch_uid="shop.metrics.task_retry")
def _task_retry(sender=None, **kwargs):
    TASKS.labels(_task_name(sender), "retry").inc()


def reminder_channel(reminder_id) -> str | None:
    from recovery.models import Reminder

    return Reminder.objects.filter(pk=reminder_id).values_list("channel", flat=True).first()


def _business_from_task(name: str, retval, args, kwargs) -> None:
    if name == "recovery.tasks.send_reminder_task" and retval == "sent":
        channel = reminder_channel(kwargs.get("reminder_id", args[0] if args else None))
        REMINDERS_SENT.labels(channel if channel in _CHANNELS else OTHER).inc()
    elif name == "shop.api.webhooks.tasks.deliver_webhook" and retval in ("failed", "pending"):
        WEBHOOK_FAILURES.labels("gave_up" if retval == "failed" else "retrying").inc()


# --- Business events from the outbox ---------------------------------------------------------------


def _money(value) -> float:
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError, TypeError):
        return 0.0


def count_event(event_type: str, payload: dict) -> None:
    payload = payload if isinstance(payload, dict) else {}
    if event_type == "order.created":
        # "" is the shop's own checkout; others are connector names set by code (baselinker, ...).
        source = str(payload.get("source") or "shop")
        ORDERS_PLACED.labels(source if _SOURCE.match(source) else OTHER).inc()
    elif event_type == "order.paid":
        ORDERS_PAID.inc()
    elif event_type == "cart.recovered":
        currency = str(payload.get("currency") or "")
        currency = currency if currency in _CURRENCIES else OTHER
        RECOVERED_CARTS.labels(currency).inc()
        RECOVERED_REVENUE.labels(currency).inc(max(_money(payload.get("revenue")), 0.0))


def _on_event_saved(sender, instance, created, **kwargs):
    if not created or kwargs.get("raw"):
        return
    event_type, payload = instance.type, instance.payload
    transaction.on_commit(lambda: count_event(event_type, payload), robust=True)


def _on_event_delivery_saved(sender, instance, created, update_fields=None, **kwargs):
    # deliver() saves a delivery with last_error set after each failed handler run.
    if kwargs.get("raw") or not instance.last_error or instance.status == "done":
        return
    if update_fields is not None and "last_error" not in update_fields:
        return
    from shop import events

    known = {name for handlers in events._handlers.values() for name in handlers}
    handler = instance.handler if instance.handler in known else OTHER
    INTEGRATION_FAILURES.labels(handler).inc()


def connect_signals() -> None:
    from django.db.models.signals import post_save

    from shop.models import Event, EventDelivery

    post_save.connect(_on_event_saved, sender=Event, dispatch_uid="shop.metrics.event")
    post_save.connect(_on_event_delivery_saved, sender=EventDelivery, dispatch_uid="shop.metrics.delivery")


# --- Queue depth, read at scrape time -------------------------------------------------------------


class QueueDepthCollector:
    def collect(self):
        family = GaugeMetricFamily(
            "koszyk_celery_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"]
        )
        up = GaugeMetricFamily("koszyk_celery_broker_up", "Whether the broker answered the scrape.")
        try:
            depths = queue_depths()
        except Exception:
            log.warning("could not read queue depths from the broker", exc_info=True)
            up.add_metric([], 0)
        else:
            up.add_metric([], 1)
            for queue, depth in depths.items():
                family.add_metric([queue], depth)
        yield family
        yield up


def queue_names() -> list[str]:
    from shop.celery import app

    queues = app.conf.task_queues or []
    names = [q.name for q in queues] or [app.conf.task_default_queue or "celery"]
    return sorted(set(names))


def queue_depths() -> dict[str, int]:
    from kombu import Connection

    from shop.celery import app

    timeout = settings.HEALTHZ_TIMEOUT_SECONDS
    depths: dict[str, int] = {}
    with Connection(
        app.conf.broker_url,
        transport_options=app.conf.broker_transport_options or {},
        connect_timeout=timeout,
    ) as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)
        channel = conn.default_channel
        for name in queue_names():
            try:
                depths[name] = int(channel._size(name))
            except Exception:
                depths[name] = 0
    return depths


# --- The endpoint -----------------------------------------------------------------------------------


def registry():
    """What a scrape reads: every process's values in multiprocess mode, else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
        reg.register(QueueDepthCollector())
        return reg
    from prometheus_client import REGISTRY

    return _WithQueues(REGISTRY)


class _WithQueues:
    """The default registry plus the scrape-time queue depths (not registered globally)."""

    def __init__(self, base):
        self.base = base

    def collect(self):
        yield from self.base.collect()
        yield from QueueDepthCollector().collect()


def _authorised(request) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return False
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return False
    allowed = settings.METRICS_ALLOWED_IPS
    if allowed:
        import ipaddress

        from shop.ratelimit import client_ip

        try:
            address = ipaddress.ip_address(client_ip(request))
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(net, strict=False) for net in allowed)
    return True


@never_cache
@require_GET
def metrics_view(request):
    if not settings.METRICS_TOKEN:
        return JsonResponse({"error": "metrics are off (METRICS_TOKEN is not set)"}, status=403)
    if not _authorised(request):
        response = JsonResponse({"error": "unauthorised"}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)

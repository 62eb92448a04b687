"""Request ids (in, out, in logs and in the tasks a request enqueues), JSON logs and Sentry."""

import json
import logging
import threading

import pytest
from celery import Celery
from celery import _state as celery_state
from celery.contrib.testing.worker import start_worker
from django.http import HttpResponse

from shop import observability

pytestmark = pytest.mark.django_db


def json_log_line(record_name: str, message: str) -> dict:
    formatter = observability.JsonFormatter()
    record = logging.LogRecord(record_name, logging.INFO, __file__, 1, message, (), None)
    observability.RequestIdFilter().filter(record)
    return json.loads(formatter.format(record))


def test_a_request_gets_an_id_echoed_in_the_response(client, store):
    response = client.get("/healthz")
    rid = response["X-Request-ID"]
    assert len(rid) == 32 and int(rid, 16) >= 0
    assert client.get("/healthz")["X-Request-ID"] != rid


def test_a_clients_request_id_is_ignored_without_a_trusted_proxy(client, store, settings):
    settings.TRUSTED_PROXIES = 0
    response = client.get("/healthz", HTTP_X_REQUEST_ID="made-up-by-client")
    assert response["X-Request-ID"] != "made-up-by-client"


@pytest.mark.parametrize(
    "given, kept",
    [
        ("proxy-abc-123", True),
        ("9f2c1a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b", True),
        ("x" * 65, False),
        ("evil\r\nSet-Cookie: a=b", False),
        ("<script>", False),
        ("", False),
        ("a b", False),
    ],
)
def test_a_trusted_proxys_request_id_is_kept_when_it_looks_like_an_id(client, store, settings, given, kept):
    settings.TRUSTED_PROXIES = 1
    response = client.get("/healthz", HTTP_X_REQUEST_ID=given)
    assert (response["X-Request-ID"] == given) is kept
    assert "\n" not in response["X-Request-ID"]


def test_log_lines_of_a_request_carry_its_id_as_json(rf):
    seen = {}

    def view(request):
        logging.getLogger("shop.test").warning("paid order %s", 17)
        seen["line"] = json_log_line("shop.test", "inside")
        return HttpResponse("ok")

    response = observability.RequestIdMiddleware(view)(rf.get("/"))
    assert seen["line"]["request_id"] == response["X-Request-ID"]
    assert seen["line"]["level"] == "INFO" and seen["line"]["logger"] == "shop.test"
    assert observability.get_request_id() == ""  # nothing leaks into the next request
    assert json_log_line("shop.test", "outside")["request_id"] is None


def test_the_json_formatter_writes_one_line_with_the_exception():
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed: %s", ("ąę",), sys.exc_info())
    line = observability.JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["message"] == "failed: ąę" and "ValueError: bad" in data["exc_info"]


def test_log_format_selects_the_formatter():
    assert (
        observability.logging_config(log_format="json", level="INFO")["handlers"]["console"]["formatter"]
        == "json"
    )
    assert (
        observability.logging_config(log_format="text", level="INFO")["handlers"]["console"]["formatter"]
        == "plain"
    )
    assert (
        observability.logging_config(log_format="nonsense", level="INFO")["handlers"]["console"]["formatter"]
        == "plain"
    )


def test_an_eager_task_enqueued_in_a_request_logs_the_requests_id(rf):
    app = Celery("rid-eager", set_as_current=False)
    app.conf.task_always_eager = True
    lines = []

    @app.task(shared=False)
    def remember():
        lines.append(json_log_line("shop.task", "in task"))

    def view(request):
        remember.delay()
        return HttpResponse("ok")

    response = observability.RequestIdMiddleware(view)(rf.get("/"))
    assert lines[0]["request_id"] == response["X-Request-ID"]


@pytest.mark.slow
def test_a_real_worker_runs_the_task_with_the_requests_id_in_its_header_and_logs(rf):
    """Published through a real (in-memory) broker and run by a worker thread: the id travels in the
    message's headers, not through the web process's memory."""
    app = Celery("rid-worker", set_as_current=False, broker="memory://", backend="cache+memory://")
    app.conf.task_always_eager = False
    seen = {}
    done = threading.Event()

    @app.task(shared=False, name="tests.rid.remember")
    def remember():
        seen["header"] = getattr(remember.request, "request_id", None) or (
            remember.request.headers or {}
        ).get("request_id")
        seen["line"] = json_log_line("shop.task", "in worker")
        seen["thread"] = threading.get_ident()
        done.set()

    # start_worker makes its app the current and default one (celery's setup_app_for_worker):
    # put the shop's app back, or every later shared task in this process would publish to the
    # memory broker and wait for ever.
    shop_app = celery_state.get_current_app()
    try:
        with start_worker(app, perform_ping_check=False, loglevel="WARNING"):

            def view(request):
                remember.delay()
                return HttpResponse("ok")

            response = observability.RequestIdMiddleware(view)(rf.get("/"))
            assert done.wait(20), "the worker never ran the task"
    finally:
        shop_app.set_current()
        shop_app.set_default()
    assert celery_state.get_current_app() is shop_app
    rid = response["X-Request-ID"]
    assert seen["thread"] != threading.get_ident()
    assert seen["header"] == rid
    assert seen["line"]["request_id"] == rid


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_a_workers_own_log_handlers_get_the_request_id(settings, log_format):
    import io

    settings.LOG_FORMAT = log_format
    stream = io.StringIO()
    logger = logging.getLogger("tests.worker.setup")
    logger.handlers = [logging.StreamHandler(stream)]
    logger.propagate = False
    observability._worker_log_format(logger=logger, format="[%(levelname)s/%(processName)s] %(message)s")
    token = observability.request_id_var.set("req-42")
    try:
        logger.warning("sending reminder")
    finally:
        observability.request_id_var.reset(token)
    line = stream.getvalue().strip()
    if log_format == "json":
        assert json.loads(line)["request_id"] == "req-42"
    else:
        assert line.endswith("sending reminder [request req-42]")


def test_a_task_published_outside_a_request_has_no_id_header():
    headers = {}
    observability._add_request_id_header(headers=headers)
    assert "request_id" not in headers


# --- Sentry ---------------------------------------------------------------------------------------


def realistic_event() -> dict:
    return {
        "level": "error",
        "message": "Checkout failed for jan.kowalski@example.pl (+48 601 234 567)",
        "exception": {
            "values": [
                {
                    "type": "PaymentError",
                    "value": "gateway refused card for anna@example.com",
                    "stacktrace": {
                        "frames": [
                            {
                                "function": "place_order",
                                "lineno": 120,
                                "vars": {
                                    "email": "jan.kowalski@example.pl",
                                    "shipping_address": "ul. Długa 5, 00-001 Warszawa",
                                    "first_name": "Jan",
                                    "order_id": 4711,
                                    "note": "call me on 601-234-567",
                                    "api_key": "koszyk_live_abcdef123456",
                                },
                            }
                        ]
                    },
                }
            ]
        },
        "request": {
            "url": "https://sklep.example.pl/checkout/",
            "method": "POST",
            "query_string": "email=jan%40example.pl",
            "data": {"email": "jan.kowalski@example.pl", "phone": "+48601234567", "street": "Długa 5"},
            "cookies": {"sessionid": "abc", "csrftoken": "def"},
            "headers": {
                "Authorization": "Bearer sk_live_1234567890abcdef",
                "Cookie": "sessionid=abc",
                "X-Forwarded-For": "83.1.2.3",
                "User-Agent": "Mozilla/5.0",
            },
            "env": {"REMOTE_ADDR": "83.1.2.3", "SERVER_NAME": "sklep"},
        },
        "user": {"id": 5, "email": "jan.kowalski@example.pl", "ip_address": "83.1.2.3"},
        "extra": {"customer_name": "Jan Kowalski", "token": "t0ps3cr3t", "items": 3},
        "breadcrumbs": {
            "values": [{"message": "SELECT ... WHERE email = 'jan.kowalski@example.pl'", "category": "query"}]
        },
        "tags": {"store": "sklep", "view": "orders:checkout"},
    }


def test_before_send_scrubs_personal_data_from_a_realistic_event():
    event = observability.scrub_event(realistic_event(), {})
    text = json.dumps(event, ensure_ascii=False)
    for secret in (
        "jan.kowalski@example.pl",
        "anna@example.com",
        "601 234 567",
        "601-234-567",
        "+48601234567",
        "Długa",
        "Jan Kowalski",
        "sk_live_1234567890abcdef",
        "koszyk_live_abcdef123456",
        "t0ps3cr3t",
        "sessionid=abc",
        "83.1.2.3",
        "jan%40example.pl",
    ):
        assert secret not in text, secret
    assert "user" not in event
    assert event["request"]["data"] == observability.FILTERED
    assert "cookies" not in event["request"]
    # What is needed to debug stays.
    assert event["exception"]["values"][0]["type"] == "PaymentError"
    assert event["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"]["order_id"] == 4711
    assert event["exception"]["values"][0]["stacktrace"]["frames"][0]["lineno"] == 120
    assert event["request"]["headers"]["User-Agent"] == "Mozilla/5.0"
    assert event["tags"]["view"] == "orders:checkout"
    assert event["extra"]["items"] == 3


def test_before_send_survives_odd_events():
    assert observability.scrub_event({}, None) == {}
    deep: dict = {}
    node = deep
    for _ in range(50):
        node["x"] = {}
        node = node["x"]
    assert observability.scrub_event({"extra": deep, "request": {"data": None}}, None)
    assert observability.scrub_event({"request": "not a dict", "user": None}, None) == {
        "request": "not a dict"
    }


def test_sentry_is_not_started_without_a_dsn(monkeypatch):
    import sentry_sdk

    called = []
    monkeypatch.setattr(sentry_sdk, "init", lambda *a, **k: called.append(k))
    assert observability.init_sentry(dsn="", environment="production", release="1.0") is False
    assert called == []
    assert sentry_sdk.get_client().is_active() is False  # the test settings have no DSN


def test_sentry_starts_with_the_dsn_and_the_scrubber(monkeypatch):
    import sentry_sdk

    called = []
    monkeypatch.setattr(sentry_sdk, "init", lambda *a, **k: called.append(k))
    assert observability.init_sentry(
        dsn="https://key@o1.ingest.example.io/1", environment="staging", release="abc123"
    )
    options = called[0]
    assert options["send_default_pii"] is False
    assert options["before_send"] is observability.scrub_event
    assert options["environment"] == "staging" and options["release"] == "abc123"
    names = {type(i).__name__ for i in options["integrations"]}
    assert names == {"DjangoIntegration", "CeleryIntegration"}


def test_sentry_really_initialises_and_sends_scrubbed_events(monkeypatch):
    """A real sentry-sdk client with a transport that keeps envelopes in memory."""
    import sentry_sdk
    from sentry_sdk.transport import Transport

    sent = []

    class Keep(Transport):
        def capture_envelope(self, envelope):
            sent.append(envelope)

    real_init = sentry_sdk.init
    monkeypatch.setattr(sentry_sdk, "init", lambda **options: real_init(transport=Keep, **options))
    observability.init_sentry(dsn="https://key@o1.ingest.example.io/1", environment="test", release="r1")
    try:
        assert sentry_sdk.get_client().is_active()
        try:
            customer_email = "ola@example.pl"  # noqa: F841  (a local the stack frame carries)
            raise RuntimeError("order for ola@example.pl failed")
        except RuntimeError:
            sentry_sdk.capture_exception()
        sentry_sdk.flush()
    finally:
        real_init(dsn=None)
    body = b"".join(item.get_bytes() for env in sent for item in env.items).decode()
    assert "RuntimeError" in body
    assert "ola@example.pl" not in body
    assert '"environment":"test"' in body.replace(" ", "")
    assert '"release":"r1"' in body.replace(" ", "")

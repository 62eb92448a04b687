"""Observability: request ids, structured logs, error reporting (docs/operations.md, "Observability").

* **Request id.** :class:`RequestIdMiddleware` takes ``X-Request-ID`` from the request only when
  ``TRUSTED_PROXIES`` says a proxy sits in front (a client could otherwise write anything there),
  keeps it if it looks like an id (letters, digits, ``-_.:``, at most 64), else makes one, and
  echoes it in the response. It lives in a context variable: every log line of the request carries
  it (:class:`RequestIdFilter`), and every Celery task enqueued during the request gets it as a
  message header (``before_task_publish``), restored in the worker (``task_prerun``) so the task's
  log lines carry it too.
* **Logs.** ``LOG_FORMAT=json`` writes one JSON object per line (:class:`JsonFormatter`); the
  default is ``text`` with DEBUG and ``json`` without.
* **Sentry.** :func:`init_sentry` does nothing without ``SENTRY_DSN``; with it, sentry-sdk with the
  Django and Celery integrations, no default PII, and :func:`scrub_event` removing personal data.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
import warnings
from datetime import UTC, datetime

from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    before_task_publish,
    task_postrun,
    task_prerun,
)

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def new_request_id() -> str:
    return uuid.uuid4().hex


def get_request_id() -> str:
    return request_id_var.get()


def incoming_request_id(request) -> str:
    """The proxy's id when a trusted proxy is configured and the value is sane, else a new one."""
    from django.conf import settings

    if int(getattr(settings, "TRUSTED_PROXIES", 0) or 0) > 0:
        given = request.META.get("HTTP_X_REQUEST_ID", "").strip()
        if _VALID_ID.match(given):
            return given
    return new_request_id()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = incoming_request_id(request)
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` ("-" outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


def _id_or_none(value):
    return None if not value or value == "-" else value


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": _id_or_none(getattr(record, "request_id", None) or request_id_var.get()),
            "process": record.process,
        }
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def logging_config(*, log_format: str, level: str) -> dict:
    formatter = "json" if log_format == "json" else "plain"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "shop.observability.RequestIdFilter"}},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
            "json": {"()": "shop.observability.JsonFormatter"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": formatter, "filters": ["request_id"]}
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.db.backends": {"level": "WARNING"}},
    }


# --- Celery: the request id travels with the tasks a request enqueues -----------------------------

_task_tokens: dict[str, contextvars.Token] = {}


@before_task_publish.connect(dispatch_uid="shop.observability.request_id_publish")
def _add_request_id_header(sender=None, headers=None, **kwargs):
    request_id = request_id_var.get()
    if request_id and headers is not None and not headers.get("request_id"):
        headers["request_id"] = request_id


@task_prerun.connect(dispatch_uid="shop.observability.request_id_prerun")
def _restore_request_id(sender=None, task_id=None, task=None, **kwargs):
    request_id = getattr(getattr(task, "request", None), "request_id", None)
    if request_id is None:
        headers = getattr(getattr(task, "request", None), "headers", None) or {}
        request_id = headers.get("request_id")
    if request_id and task_id and _VALID_ID.match(str(request_id)):
        _task_tokens[task_id] = request_id_var.set(str(request_id))


@task_postrun.connect(dispatch_uid="shop.observability.request_id_postrun")
def _forget_request_id(sender=None, task_id=None, **kwargs):
    token = _task_tokens.pop(task_id, None) if task_id else None
    if token is not None:
        try:
            request_id_var.reset(token)
        except ValueError:  # set in another context (eager task run elsewhere): just clear it
            request_id_var.set("")


@after_setup_logger.connect(dispatch_uid="shop.observability.worker_logger")
@after_setup_task_logger.connect(dispatch_uid="shop.observability.worker_task_logger")
def _worker_log_format(logger=None, format=None, **kwargs):
    """A Celery worker sets up its own log handlers (it replaces the root logger's): give them the
    request id and, with ``LOG_FORMAT=json``, the JSON formatter, so worker lines match web lines."""
    from django.conf import settings

    if logger is None:
        return
    for handler in logger.handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
        if getattr(settings, "LOG_FORMAT", "text") == "json":
            handler.setFormatter(JsonFormatter())
        elif format and "%(request_id)s" not in format:
            handler.setFormatter(logging.Formatter(f"{format} [request %(request_id)s]"))


# --- Sentry ----------------------------------------------------------------------------------------

FILTERED = "[Filtered]"
SENSITIVE_KEYS = re.compile(
    r"(e-?mail|phone|tel|address|street|city|postcode|postal|zip|"
    r"(first|last|full|customer|buyer|contact|company|billing|shipping|recipient|user)_?name|^name$|recipient|nip|vat_?id|password|passwd|secret|token|api_?key|authorization|cookie|"
    r"session|csrf|signature|iban|account_?number|card|ip_?address|remote_addr|x-forwarded-for)",
    re.IGNORECASE,
)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE = re.compile(r"(?<![\w/.-])\+?\d[\d \-]{7,}\d(?![\w/.-])")
BEARER = re.compile(r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
# Request bodies of these paths are personal data by nature: dropped whole.
SENSITIVE_PATHS = re.compile(r"/(checkout|kasa|account|konto|api|cart|koszyk|login|accounts|password)", re.I)


def _scrub_text(value: str) -> str:
    value = EMAIL.sub(FILTERED, value)
    value = BEARER.sub(FILTERED, value)
    return PHONE.sub(FILTERED, value)


def scrub(value, depth: int = 0):
    """Personal data out of a structure: sensitive keys blanked, e-mails/phones/tokens in text."""
    if depth > 12:
        return FILTERED
    if isinstance(value, dict):
        return {
            k: (FILTERED if isinstance(k, str) and SENSITIVE_KEYS.search(k) else scrub(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        # Header lists come as [name, value] pairs.
        if len(value) == 2 and isinstance(value[0], str) and SENSITIVE_KEYS.search(value[0]):
            return [value[0], FILTERED]
        return [scrub(v, depth + 1) for v in value]
    if isinstance(value, str):
        return _scrub_text(value)
    return value


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """Sentry's ``before_send``: the event without personal data."""
    request = event.get("request")
    if isinstance(request, dict):
        url = str(request.get("url") or "")
        if "data" in request and (SENSITIVE_PATHS.search(url) or request.get("method") not in (None, "GET")):
            request["data"] = FILTERED
        request.pop("cookies", None)
        if "query_string" in request:
            request["query_string"] = FILTERED if request["query_string"] else request["query_string"]
        if "env" in request:
            request["env"] = {
                k: v for k, v in (request["env"] or {}).items() if k in ("SERVER_NAME", "SERVER_PORT")
            }
    event.pop("user", None)
    for key in ("request", "extra", "contexts", "tags", "breadcrumbs", "exception", "logentry", "message"):
        if key in event:
            event[key] = scrub(event[key])
    return event


def scrub_breadcrumb(crumb: dict, hint: dict | None = None) -> dict:
    return scrub(crumb)


def init_sentry(*, dsn: str, environment: str, release: str, traces_sample_rate: float = 0.0) -> bool:
    """Start sentry-sdk when a DSN is configured; returns whether it did."""
    if not dsn:
        return False
    import sentry_sdk

    with warnings.catch_warnings():
        # sentry-sdk 2.x deprecates send_default_pii for data_collection; it still honours it.
        warnings.simplefilter("ignore", DeprecationWarning)
        _init(sentry_sdk, dsn, environment, release, traces_sample_rate)
    return True


def _init(sentry_sdk, dsn, environment, release, traces_sample_rate) -> None:
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        send_default_pii=False,
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        before_send=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
        integrations=[DjangoIntegration(), CeleryIntegration()],
    )

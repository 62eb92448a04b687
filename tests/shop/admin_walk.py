"""Helpers for the admin walk (tests/shop/test_admin_walk.py): a shop with a row of every model the
admin lists, and the HTML checks (nested forms, English words and raw codes in visible text).

Rows come from the project's factories and services where they exist (an order placed through
checkout, a return, an invoice, a shipment, an abandoned cart with a reminder); a model no factory
covers gets one row from ``minimal_row``, which fills only the required fields.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.utils import timezone

# --- HTML checks ----------------------------------------------------------------------------------


class _Page(HTMLParser):
    """Finds <form> start tags a browser would drop (one inside another: the HTML parser ignores a
    <form> start tag while a form is open) and collects the page's visible text, each piece marked
    as a label (inside a title, heading, column header, label, legend, button, the breadcrumbs, the
    menu or the object tools) or a value (anything else)."""

    LABEL_TAGS = {"title", "h1", "h2", "h3", "h4", "th", "label", "legend", "caption", "button"}
    LABEL_CLASSES = {"breadcrumbs", "object-tools", "submit-row", "paginator"}
    SKIP = {"script", "style", "pre", "code", "textarea", "select", "option", "svg"}
    VOID = {"br", "img", "input", "meta", "link", "hr", "source", "col", "wbr", "use", "path"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open_form: str | None = None
        self.nested: list[tuple[str, str]] = []
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, is label context, is skipped)
        self.labels: list[str] = []
        self.values: list[str] = []

    def _context(self) -> tuple[bool, bool]:
        return (self.stack[-1][1], self.stack[-1][2]) if self.stack else (False, False)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            ident = attrs.get("id") or attrs.get("action") or "?"
            if self.open_form is not None:
                self.nested.append((self.open_form, ident))
            else:
                self.open_form = ident
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.labels.append(attrs["value"])
        if attrs.get("placeholder"):
            self.labels.append(attrs["placeholder"])
        if tag in self.VOID:
            return
        label, skip = self._context()
        classes = set((attrs.get("class") or "").split())
        skip = skip or "help" in classes  # help texts: formats to type verbatim ("01:00:00", service codes)
        label = (
            label
            or tag in self.LABEL_TAGS
            or bool(classes & self.LABEL_CLASSES)
            or attrs.get("id") == "nav-sidebar"
        )
        self.stack.append((tag, label, skip or tag in self.SKIP))

    def handle_endtag(self, tag):
        if tag == "form":
            self.open_form = None
        if tag not in {t for t, _l, _s in self.stack}:
            return
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        label, skip = self._context()
        if skip or not data.strip():
            return
        text = " ".join(data.split())
        if text[:1] in "{[" and text[-1:] in "}]":
            return  # a JSON value (an invoice's seller snapshot, an event's payload): data
        (self.labels if label else self.values).append(text)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


# Whole words (case-insensitive) that are English and never Polish. Proper names (PayU, InPost,
# Allegro, BLIK), abbreviations (SKU, VAT, NIP, API, URL, SMS, PDF, CSV, ID) and words both
# languages share ("status", "e-mail", "token", "cron", "webhook") are not on it.
ENGLISH_WORDS = {
    "add",
    "added",
    "address",
    "amount",
    "and",
    "at",
    "cancel",
    "cart",
    "carts",
    "change",
    "changed",
    "clocked",
    "created",
    "customer",
    "date",
    "days",
    "day",
    "delete",
    "description",
    "email address",
    "enabled",
    "event",
    "events",
    "from",
    "group",
    "groups",
    "history",
    "home",
    "interval",
    "intervals",
    "last",
    "name",
    "not",
    "of",
    "order",
    "orders",
    "payment",
    "payments",
    "periodic",
    "price",
    "product",
    "products",
    "quantity",
    "reservation",
    "reservations",
    "save",
    "search",
    "shipping",
    "solar",
    "stock",
    "store",
    "task",
    "tasks",
    "the",
    "total",
    "type",
    "updated",
    "user",
    "users",
    "value",
    "view",
    "with",
    "yes",
    "error",
    "sent",
    "paid",
    "received",
    "processed",
    "expires",
    "line",
    "method",
    "reason",
    "delay",
    "outbox",
    "reminder",
    "reminders",
    "step",
    "steps",
    "invoice",
    "invoices",
    "return",
    "returns",
    "shipment",
    "shipments",
    "warehouse",
    "variant",
    "variants",
    "category",
    "categories",
    "heartbeat",
    "for",
    "on",
}
_ENGLISH = re.compile(
    r"(?<![\w@./-])("
    + "|".join(sorted(map(re.escape, ENGLISH_WORDS), key=len, reverse=True))
    + r")(?![\w@./-])",
    re.I,
)
# A raw choice code or field name: lower-case words joined by "_" (awaiting_payment, no_consent).
RAW_CODE = re.compile(r"(?<![\w@./:=?&-])[a-z]+(?:_[a-z]+)+(?![\w@./-])")
# A timedelta printed by str(): "1 day, 0:00:00", "2 days, 3:00:00", "0:30:00".
RAW_DURATION = re.compile(
    r"\b\d+ days?, \d+:\d\d:\d\d\b|(?<!\d{4}-\d\d-\d\d )(?<![\d:])\d{1,2}:\d\d:\d\d(?![\d:])"
)


def problems(labels: list[str], values: list[str], ignore: tuple[str, ...] = ()) -> list[str]:
    """English words in labels; raw codes and raw durations in labels and values. ``ignore``:
    strings cut out first (data shown as it was typed, e.g. a periodic task's name)."""
    found = []
    checks = [(labels, ((_ENGLISH, "English"), (RAW_CODE, "raw code"), (RAW_DURATION, "raw duration")))]
    checks.append((values, ((RAW_CODE, "raw code"), (RAW_DURATION, "raw duration"))))
    for texts, regexes in checks:
        for text in texts:
            for part in ignore:
                if part:
                    text = text.replace(part, "")
            for regex, kind in regexes:
                match = regex.search(text)
                if match:
                    found.append(f"{kind} {match.group(0)!r} in {text[:120]!r}")
    return found


# --- Data -----------------------------------------------------------------------------------------


def _value_for(field: models.Field, model, depth: int):
    if field.choices:
        return (
            field.choices[0][0]
            if not isinstance(field.choices[0][1], (list, tuple))
            else field.choices[0][1][0][0]
        )
    if isinstance(field, models.ForeignKey | models.OneToOneField):
        related = field.related_model
        existing = related._default_manager.first()
        if existing is not None and not isinstance(field, models.OneToOneField):
            return existing
        return minimal_row(related, depth + 1)
    if isinstance(field, models.EmailField):
        return "walk@example.com"
    if isinstance(field, models.URLField):
        return "https://example.com/"
    if isinstance(field, models.FileField):
        return SimpleUploadedFile("plik.pdf", b"%PDF-1.4\n%%EOF\n")
    if isinstance(field, models.SlugField):
        return f"walk-{model._meta.model_name}"
    if isinstance(field, models.CharField | models.TextField):
        return "x" if not field.max_length or field.max_length >= 1 else ""
    if isinstance(field, models.DecimalField):
        return Decimal("1")
    if isinstance(field, models.IntegerField | models.FloatField):
        return 1
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return timezone.localdate()
    if isinstance(field, models.DurationField):
        return timedelta(hours=1)
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.BinaryField):
        return b"x"
    if isinstance(field, models.UUIDField):
        import uuid

        return uuid.uuid4()
    if isinstance(field, models.GenericIPAddressField):
        return "127.0.0.1"
    raise TypeError(f"no value for {model.__name__}.{field.name} ({type(field).__name__})")


def minimal_row(model, depth: int = 0):
    """One row of ``model`` with its required fields filled (foreign keys reuse a row that exists)."""
    if depth > 4:
        raise RuntimeError(f"too deep building {model.__name__}")
    values = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.auto_created:
            continue
        if field.has_default() or (field.null and not field.choices) or getattr(field, "auto_now", False):
            continue
        if getattr(field, "auto_now_add", False):
            continue
        if field.blank and not isinstance(field, models.ForeignKey) and not field.choices:
            continue
        if field.blank and isinstance(field, models.ForeignKey) and field.null:
            continue
        values[field.name] = _value_for(field, model, depth)
    return model._default_manager.create(**values)

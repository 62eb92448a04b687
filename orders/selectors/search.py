"""Order search ("wyszukiwanie zamówień"), the selector the admin and the merchant API both use:
number, email, name, phone, product/SKU, status, payment state, date range and amount range,
combinable, fast on millions of orders.

How it stays fast (plans in bench/results/order-search-*.md):

- Text criteria use ``icontains`` -- ``UPPER(col) LIKE UPPER('%x%')`` -- which PostgreSQL answers
  from the pg_trgm GIN indexes on ``UPPER(col)`` (migration 0002); the phone is compared by its
  digits only, through an index on ``REGEXP_REPLACE(phone, '[^0-9]', '', 'g')``.
- Names live on the order's address copies, products on the order lines: matching ids are looked
  up first with their own trigram indexes. Rare matches (up to ``ORDER_SEARCH_ID_LIMIT``) go to
  the orders query as id lists (primary-key / foreign-key index lookups, then a top-N sort of a
  few hundred rows); common ones (a frequent surname) stay subqueries, and PostgreSQL fills the
  first page by walking the newest orders and checking a hashed subquery.
- An exact order number or email address uses the b-tree indexes, never trigrams.
- The free-text criterion searches number, email, phone, name and product at once: an OR of the
  conditions above, each already narrowed by its own index.
- Status, payment state, dates and amounts are plain b-tree filters on the orders table.

:class:`OrderSearchForm` validates the criteria (the admin's sidebar form; the API's query
parameters are the same form without the prefix); :func:`search_orders` applies them.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from django import forms
from django.conf import settings
from django.db import connection
from django.db.models import F, Func, Q, QuerySet, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import Address, Order, OrderLine

MAX_TERM_LENGTH = 100
# Below this length a substring search cannot use trigrams (pg_trgm needs 3 characters).
MIN_SUBSTRING_LENGTH = 3
NUMBER_LIKE = re.compile(r"^[A-Za-z]{1,5}[-/]?\d[\d\-/]*$")
EMAIL_LIKE = re.compile(r"^\S+@\S*$")
PHONE_LIKE = re.compile(r"^\+?[\d\s\-()]{6,}$")
FULL_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


class PhoneDigits(Func):
    """The phone number's digits only (``+48 600-100-200`` -> ``48600100200``); indexed."""

    function = "REGEXP_REPLACE"

    def __init__(self, expression="phone", **extra):
        super().__init__(F(expression), Value("[^0-9]"), Value(""), Value("g"), **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # SQLite has no REGEXP_REPLACE: strip the usual separators instead.
        sql, params = compiler.compile(self.source_expressions[0])
        for ch in (" ", "-", "+", "(", ")", "/", "."):
            sql = f"REPLACE({sql}, %s, '')"
            params = (*params, ch)
        return sql, params


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value or "")


def _clean(term: str | None) -> str:
    return (term or "").strip()[:MAX_TERM_LENGTH]


# --- the building blocks --------------------------------------------------------------------------


def id_limit() -> int:
    """Up to this many matching ids are fetched first and passed to the orders query as a list
    (index lookups, then a top-N sort of few rows); above it, the criterion is common enough that
    scanning the newest orders and checking a hashed subquery fills a page sooner."""
    return int(settings.ORDER_SEARCH_ID_LIMIT)


def _ids(values_qs: QuerySet, field: str = "pk") -> list[int] | None:
    """The ids ``values_qs`` selects when there are at most ``id_limit()``, else None."""
    limit = id_limit()
    ids = list(values_qs.order_by().values_list(field, flat=True)[: limit + 1])
    return None if len(ids) > limit else ids


def address_ids_by_name(name: str) -> QuerySet:
    """Ids of order address copies whose first, last or company name contains every word."""
    qs = Address.objects.filter(user__isnull=True)
    for word in name.split()[:4]:
        qs = qs.filter(
            Q(last_name__icontains=word) | Q(first_name__icontains=word) | Q(company_name__icontains=word)
        )
    return qs.values("pk")


def order_ids_by_product(term: str) -> QuerySet:
    return OrderLine.objects.filter(Q(product_name__icontains=term) | Q(sku__icontains=term)).values(
        "order_id"
    )


def name_condition(name: str) -> Q:
    addresses = address_ids_by_name(name)
    ids = _ids(addresses)
    if ids is None:
        return Q(shipping_address_id__in=addresses) | Q(billing_address_id__in=addresses)
    if not ids:
        return Q(pk__in=[])
    orders = set(Order.objects.filter(shipping_address_id__in=ids).values_list("pk", flat=True))
    orders.update(Order.objects.filter(billing_address_id__in=ids).values_list("pk", flat=True))
    return Q(pk__in=sorted(orders))


def product_condition(term: str) -> Q:
    lines = order_ids_by_product(term)
    ids = _ids(lines, "order_id")
    return Q(pk__in=lines) if ids is None else Q(pk__in=sorted(set(ids)))


def phone_condition(phone: str) -> Q:
    digits = _digits(phone)
    if not digits:
        return Q(pk__in=[])
    matching = (
        Order.objects.alias(phone_digits=PhoneDigits()).filter(phone_digits__contains=digits).values("pk")
    )
    ids = _ids(matching)
    return Q(pk__in=matching) if ids is None else Q(pk__in=ids)


def email_condition(email: str) -> Q:
    if FULL_EMAIL.match(email):
        # A whole address: the b-tree index answers equality (addresses are stored lower-case).
        return Q(email__in=sorted({email, email.lower()}))
    return Q(email__icontains=email)


def number_condition(number: str, base: QuerySet | None = None) -> Q:
    """Exact number when it exists (``base`` carries the store filter, so the unique
    (store, number) index answers), else a substring match."""
    base = Order.objects.all() if base is None else base
    if base.filter(number=number.upper()).exists():
        return Q(number=number.upper())  # the unique (store, number) index
    if len(number) < MIN_SUBSTRING_LENGTH:
        return Q(number__iexact=number)
    return Q(number__icontains=number)


def free_text_condition(term: str, base: QuerySet | None = None) -> Q | None:
    """Orders matching ``term`` in any text criterion (number, email, phone, name, product) as
    one condition; None when there is nothing to search. Each criterion is answered by its own
    index (rare matches become id lists, common ones hashed subqueries)."""
    term = _clean(term)
    if not term:
        return None
    if FULL_EMAIL.match(term):
        return email_condition(term)
    conditions: list[Q] = []
    if len(term) >= MIN_SUBSTRING_LENGTH or NUMBER_LIKE.match(term):
        conditions.append(number_condition(term, base))
    if "@" in term or len(term) >= MIN_SUBSTRING_LENGTH:
        conditions.append(Q(email__icontains=term))
    if PHONE_LIKE.match(term) and len(_digits(term)) >= 6:
        conditions.append(phone_condition(term))
    if not term.replace(" ", "").isdigit() and len(term) >= MIN_SUBSTRING_LENGTH:
        conditions.append(name_condition(term))
        conditions.append(product_condition(term))
    if not conditions:
        return Q(number__iexact=term)
    result = conditions[0]
    for condition in conditions[1:]:
        result |= condition
    return result


# --- the whole search -----------------------------------------------------------------------------


#: Error code of a reversed date or amount range (a rule across parameters, not a shape error).
RANGE = "reversed_range"


class OrderSearchForm(forms.Form):
    q = forms.CharField(label=_("Anything"), required=False, max_length=MAX_TERM_LENGTH)
    number = forms.CharField(label=_("Order number"), required=False, max_length=MAX_TERM_LENGTH)
    email = forms.CharField(label=_("Email"), required=False, max_length=MAX_TERM_LENGTH)
    name = forms.CharField(label=_("Name or company"), required=False, max_length=MAX_TERM_LENGTH)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=MAX_TERM_LENGTH)
    product = forms.CharField(label=_("Product or SKU"), required=False, max_length=MAX_TERM_LENGTH)
    status = forms.MultipleChoiceField(
        label=_("Status"), required=False, choices=Order.Status.choices, widget=forms.CheckboxSelectMultiple
    )
    payment = forms.MultipleChoiceField(
        label=_("Payment"),
        required=False,
        choices=Order.PaymentStatus.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    date_from = forms.DateField(
        label=_("Placed from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Placed until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    total_min = forms.DecimalField(
        label=_("Total from"), required=False, min_value=0, decimal_places=2, max_digits=12
    )
    total_max = forms.DecimalField(
        label=_("Total to"), required=False, min_value=0, decimal_places=2, max_digits=12
    )

    # Prefixed so they never clash with the changelist's own parameters (q, o, p, e...).
    prefix = "s"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("date_from") and cleaned.get("date_to") and cleaned["date_from"] > cleaned["date_to"]:
            self.add_error(
                "date_to", forms.ValidationError(_("The end date is before the start date."), code=RANGE)
            )
        if (
            cleaned.get("total_min") is not None
            and cleaned.get("total_max") is not None
            and cleaned["total_min"] > cleaned["total_max"]
        ):
            self.add_error(
                "total_max", forms.ValidationError(_("The upper amount is below the lower one."), code=RANGE)
            )
        return cleaned

    @classmethod
    def parameter_names(cls) -> list[str]:
        return [f"{cls.prefix}-{name}" for name in cls.base_fields]


def _day_start(day, zone) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), zone)


def search_orders(qs: QuerySet, criteria: dict, *, zone=None) -> QuerySet:
    """Narrow ``qs`` (orders) by every criterion given (they combine with AND). Dates are days in
    ``zone`` (the store's; default: the current time zone), ``date_to`` inclusive."""
    zone = zone or timezone.get_current_timezone()
    if (condition := free_text_condition(criteria.get("q"), qs)) is not None:
        qs = qs.filter(condition)
    if number := _clean(criteria.get("number")):
        qs = qs.filter(number_condition(number, qs))
    if email := _clean(criteria.get("email")):
        qs = qs.filter(email_condition(email))
    if name := _clean(criteria.get("name")):
        qs = qs.filter(name_condition(name))
    if phone := _clean(criteria.get("phone")):
        qs = qs.filter(phone_condition(phone))
    if product := _clean(criteria.get("product")):
        qs = qs.filter(product_condition(product))
    if statuses := criteria.get("status"):
        qs = qs.filter(status__in=list(statuses))
    if payments := criteria.get("payment"):
        qs = qs.filter(payment_status__in=list(payments))
    if day := criteria.get("date_from"):
        qs = qs.filter(created_at__gte=_day_start(day, zone))
    if day := criteria.get("date_to"):
        qs = qs.filter(created_at__lt=_day_start(day + timedelta(days=1), zone))
    if (low := criteria.get("total_min")) is not None:
        qs = qs.filter(total__gte=low)
    if (high := criteria.get("total_max")) is not None:
        qs = qs.filter(total__lte=high)
    return qs


def explain(qs: QuerySet) -> str:
    """EXPLAIN ANALYZE of a queryset on PostgreSQL (bench and decisions notes)."""
    if connection.vendor != "postgresql":
        return qs.explain()
    return qs.explain(analyze=True, buffers=True)

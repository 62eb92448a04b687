"""The customer list's rows: who is a customer of a store and their figures.

A customer is an e-mail address (compared case-insensitively) that left a trace in a store: an
order, a cart with an address, a consent answer or an account registered there. One
:class:`~customers.models.Customer` row per (store, lower-cased e-mail) keeps what the list shows
and sorts by, so the list is one indexed query however many orders there are.

:func:`refresh` recomputes rows from their sources -- it never adds to a stored figure -- so it is
safe to run twice, in any order, from any event, and the backfill (``refresh_customers``) is the
same function. Figures follow the reports' rules (:mod:`reports.selectors.common`): spent is the
total of paid orders (``PAID_STATUSES``) minus every completed refund on them
(``completed_refunds``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Max, Min, Sum
from django.db.models.functions import Lower, Trim
from django.utils import timezone

from orders.models import Cart, ConsentRecord, Order
from reports.selectors.common import PAID_STATUSES, completed_refunds

from .models import Customer

ZERO = Decimal("0.00")
ERASED_SUFFIX = "@erased.invalid"  # what erasure writes over an address (customers.privacy)
CONSENT_FIELDS = {"email": "consent_email", "sms": "consent_sms", "push": "consent_push"}


def _key(field_name: str):
    """The address as a customer's key in SQL: trimmed and lower-cased (:func:`normalise_email`)."""
    return Lower(Trim(field_name))


def normalise_email(value: str) -> str:
    return (value or "").strip().lower()


def _name_of(address) -> str:
    if address is None:
        return ""
    return f"{address.first_name} {address.last_name}".strip() or address.company_name


@transaction.atomic
def refresh(*, store_id: int, emails: Iterable[str]) -> int:
    """Recompute the rows of ``emails`` in one store from their orders, consents, carts and
    accounts; an address with no trace left loses its row (unless it was erased: that row
    records the erasure). Returns how many rows now exist for them. A fixed number of queries
    for any number of addresses."""
    keys = sorted(k for k in {normalise_email(e) for e in emails} if k and not k.endswith(ERASED_SUFFIX))
    if not keys:
        return 0
    User = get_user_model()
    orders = Order.objects.annotate(key=_key("email")).filter(store_id=store_id, key__in=keys)
    figures = {
        row["key"]: row
        for row in orders.values("key").annotate(
            n=Count("pk"), last=Max("created_at"), first=Min("created_at")
        )
    }
    paid = orders.filter(status__in=PAID_STATUSES)
    spent: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in paid.values("key").annotate(s=Sum("total")):
        spent[row["key"]] += row["s"] or ZERO
    for queryset, field in completed_refunds(order__in=paid.values("pk")):
        for row in (
            queryset.annotate(key=_key("order__email")).values("key").annotate(s=Sum(field)).order_by()
        ):
            spent[row["key"]] -= row["s"] or ZERO
    # The newest order with a name and phone names the guest.
    latest: dict[str, Order] = {}
    for order in orders.select_related("billing_address", "shipping_address").order_by("created_at", "pk"):
        latest[order.key] = order
    consents: dict[str, dict[str, bool]] = defaultdict(dict)
    first_consent: dict[str, object] = {}
    for row in (
        ConsentRecord.objects.annotate(key=_key("email"))
        .filter(store_id=store_id, key__in=keys, purpose=ConsentRecord.Purpose.MARKETING)
        .order_by("created_at", "pk")
        .values("key", "channel", "granted", "created_at")
    ):
        consents[row["key"]][row["channel"]] = row["granted"]
        first_consent.setdefault(row["key"], row["created_at"])
    carts = {
        row["key"]: row["first"]
        for row in Cart.objects.annotate(key=_key("email"))
        .filter(store_id=store_id, key__in=keys)
        .values("key")
        .annotate(first=Min("created_at"))
    }
    users = {u.key: u for u in User.objects.annotate(key=_key("email")).filter(key__in=keys)}
    account_carts = set(
        Cart.objects.annotate(key=_key("user__email"))
        .filter(store_id=store_id, key__in=keys)
        .values_list("key", flat=True)
    )
    existing = {
        c.email: c for c in Customer.objects.select_for_update().filter(store_id=store_id, email__in=keys)
    }
    now = timezone.now()
    rows, gone = [], []
    for key in keys:
        user = users.get(key)
        traced = key in figures or key in consents or key in carts or key in account_carts
        current = existing.get(key)
        if not traced and not (current is not None and (current.erased_at or current.user_id)):
            gone.append(key)
            continue
        order = latest.get(key)
        name = ""
        if user is not None:
            name = f"{user.first_name} {user.last_name}".strip()
        if not name and order is not None:
            name = _name_of(order.billing_address) or _name_of(order.shipping_address)
        phone = (order.phone if order is not None else "") or (user.phone if user is not None else "")
        figure = figures.get(key, {})
        seen = [d for d in (figure.get("first"), first_consent.get(key), carts.get(key)) if d]
        row = Customer(
            store_id=store_id,
            email=key,
            user=user,
            name=name[:250],
            phone=phone[:32],
            orders_count=figure.get("n", 0),
            total_spent=spent.get(key, ZERO) if key in figures else ZERO,
            last_order_at=figure.get("last"),
            first_seen_at=min(seen) if seen else (current.first_seen_at if current else now),
            erased_at=current.erased_at if current else None,
            refreshed_at=now,
            **{CONSENT_FIELDS[c]: consents.get(key, {}).get(c) for c in CONSENT_FIELDS},
        )
        rows.append(row)
    if gone:
        Customer.objects.filter(store_id=store_id, email__in=gone).delete()
    if rows:
        Customer.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["store", "email"],
            update_fields=[
                "user",
                "name",
                "phone",
                "orders_count",
                "total_spent",
                "last_order_at",
                "first_seen_at",
                "consent_email",
                "consent_sms",
                "consent_push",
                "erased_at",
                "refreshed_at",
            ],
        )
    return len(rows)


def refresh_store(*, store_id: int, batch_size: int = 500) -> int:
    """Every customer of one store, from every source (the backfill and the nightly check)."""
    keys: set[str] = set()
    keys.update(Order.objects.filter(store_id=store_id).annotate(k=_key("email")).values_list("k", flat=True))
    keys.update(
        ConsentRecord.objects.filter(store_id=store_id).annotate(k=_key("email")).values_list("k", flat=True)
    )
    keys.update(
        Cart.objects.filter(store_id=store_id)
        .exclude(email="")
        .annotate(k=_key("email"))
        .values_list("k", flat=True)
    )
    keys.update(
        Cart.objects.filter(store_id=store_id, user__isnull=False)
        .annotate(k=_key("user__email"))
        .values_list("k", flat=True)
    )
    keys.update(Customer.objects.filter(store_id=store_id).values_list("email", flat=True))
    ordered = sorted(k for k in keys if k and not k.endswith(ERASED_SUFFIX))
    total = 0
    for start in range(0, len(ordered), batch_size):
        total += refresh(store_id=store_id, emails=ordered[start : start + batch_size])
    return total


def refresh_all() -> int:
    from shop.models import Store

    return sum(refresh_store(store_id=pk) for pk in Store.objects.values_list("pk", flat=True))


def register_account(*, store_id: int, user) -> None:
    """An account registered in a store is its customer from then on, orders or not."""
    Customer.objects.get_or_create(
        store_id=store_id, email=normalise_email(user.email), defaults={"user": user}
    )
    refresh(store_id=store_id, emails=[user.email])

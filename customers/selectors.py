"""What the customer pages read: the list's queryset and one customer's page."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Prefetch
from django.utils.translation import gettext_lazy as _

from orders.models import ConsentRecord, Invoice, Order, Return
from recovery.models import Reminder, TrackedCart

from .models import Customer, CustomerGroupMember
from .privacy import retained_orders

SEARCH_MAX_LENGTH = 200
# Where a consent answer was given (ConsentRecord.source), as staff read it.
CONSENT_SOURCES = {
    "checkout": _("checkout form"),
    "registration": _("account registration"),
    "api": _("API"),
    "demo": _("demo data"),
}


def clean_search(term: str) -> str:
    """A search term cut to something a person types (a pasted 10 000 characters becomes the
    first 200) with control characters and NUL dropped."""
    term = "".join(ch for ch in (term or "") if ch.isprintable())
    return " ".join(term.split())[:SEARCH_MAX_LENGTH]


@dataclass
class CustomerPage:
    customer: Customer
    orders: list[Order]
    carts: list[TrackedCart]
    returns: list[Return]
    consents: list[ConsentRecord]
    groups: list[CustomerGroupMember]
    kept_orders: set[int] = field(default_factory=set)

    @property
    def reminders(self) -> list[Reminder]:
        return [r for t in self.carts for r in t.reminders.all()]


def customer_page(customer: Customer) -> CustomerPage:
    """One customer's orders, tracked carts with their reminders, returns, consent answers (with
    the text and version shown) and groups: a fixed number of queries."""
    store_id, email = customer.store_id, customer.email
    orders = list(
        Order.objects.filter(store_id=store_id, email__iexact=email)
        .annotate(items=Count("lines"))
        .prefetch_related(Prefetch("invoices", queryset=Invoice.objects.order_by("issued_at", "pk")))
        .order_by("-created_at", "-pk")
    )
    carts = list(
        TrackedCart.objects.filter(store_id=store_id, email__iexact=email)
        .prefetch_related(
            Prefetch("reminders", queryset=Reminder.objects.select_related("step").order_by("due_at", "pk"))
        )
        .order_by("-created_at", "-pk")
    )
    returns = list(
        Return.objects.filter(order__in=[o.pk for o in orders])
        .select_related("order")
        .order_by("-created_at")
    )
    consents = list(
        ConsentRecord.objects.filter(store_id=store_id, email__iexact=email).order_by("-created_at", "-pk")
    )
    for c in consents:
        c.source_label = CONSENT_SOURCES.get(c.source, c.source)
    groups = (
        list(
            CustomerGroupMember.objects.filter(
                user_id=customer.user_id, group__store_id=store_id
            ).select_related("group")
        )
        if customer.user_id
        else []
    )
    kept, _free = retained_orders(customer)
    return CustomerPage(customer, orders, carts, returns, consents, groups, set(kept))

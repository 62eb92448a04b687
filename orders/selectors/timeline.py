"""What the merchant's order page shows: the order's story from placing to delivery and after
(:func:`order_history`, one query per kind of record whatever their number) and the next steps
that make sense in its state (:func:`next_actions`, built on the workflow's allowed transitions).

Nothing here writes: each action names the admin view that calls the service doing the work
(``orders.services.workflow.change_status``, ``orders.services.fulfilment.mark_shipped``,
``orders.carriers.services.create_shipments``, ``orders.payments.refunds.refund_order``,
``orders.invoices.issue_invoice``, ``orders.corrections``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from shop.money import format_money

from ..models import (
    Invoice,
    Order,
    OrderEmail,
    OrderNote,
    OrderStatusChange,
    Payment,
    PaymentMethod,
    PaymentRefund,
    Return,
    Shipment,
)

S = Order.Status


# --- The history ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One moment of the order's story. ``kind`` groups entries (and styles them): placed, status,
    payment, refund, shipment, invoice, correction, return, email, note."""

    at: datetime
    kind: str
    title: str
    detail: str = ""
    user: str = ""
    link: str = ""  # the shopper's tracking link or an admin page
    link_text: str = ""
    problem: bool = False


@dataclass
class OrderHistory:
    """The records behind the page, loaded once, and the entries made from them (oldest first)."""

    entries: list[Entry]
    payments: list[Payment]
    refunds: list[PaymentRefund]
    shipments: list[Shipment]
    invoices: list[Invoice]
    returns: list[Return]

    @property
    def invoice(self) -> Invoice | None:
        return next((i for i in self.invoices if i.kind == Invoice.Kind.INVOICE), None)


def _who(user) -> str:
    return (user.get_full_name() or user.email) if user is not None else ""


def _provider(code: str) -> str:
    if code == Payment.GIFT_CARD:
        return _("gift card")
    return str(dict(PaymentMethod.Provider.choices).get(code, "")) or _("marketplace")


def _status_entries(order: Order, changes: list[OrderStatusChange], tracking_link: str) -> list[Entry]:
    entries = []
    for change in changes:
        if not change.from_status:
            entries.append(
                Entry(
                    at=change.created_at,
                    kind="placed",
                    title=_("Order placed"),
                    detail=_("%(total)s · %(channel)s")
                    % {
                        "total": format_money(order.total, order.currency),
                        "channel": order.get_channel_display(),
                    },
                    user=_who(change.user),
                )
            )
            continue
        entry = Entry(
            at=change.created_at,
            kind="status",
            title=_("Status: %(status)s") % {"status": S(change.to_status).label},
            detail=change.note,
            user=_who(change.user),
        )
        if change.to_status == S.SHIPPED and order.tracking_number:
            entry = Entry(
                at=change.created_at,
                kind="status",
                title=entry.title,
                detail=_("Tracking number %(number)s") % {"number": order.tracking_number},
                user=entry.user,
                link=tracking_link,
                link_text=_("Track the parcel") if tracking_link else "",
            )
        entries.append(entry)
    if not any(e.kind == "placed" for e in entries):
        entries.append(
            Entry(
                at=order.created_at,
                kind="placed",
                title=_("Order placed"),
                detail=_("%(total)s · %(channel)s")
                % {
                    "total": format_money(order.total, order.currency),
                    "channel": order.get_channel_display(),
                },
            )
        )
    return entries


def _payment_entries(payments: list[Payment]) -> list[Entry]:
    entries = []
    for p in payments:
        amount = format_money(p.amount, p.currency)
        detail = _("%(amount)s · %(provider)s") % {"amount": amount, "provider": _provider(p.provider)}
        if p.status == Payment.Status.PAID or (p.status == Payment.Status.REFUNDED and p.paid_at):
            entries.append(
                Entry(at=p.paid_at or p.created_at, kind="payment", title=_("Paid"), detail=detail)
            )
        else:
            title = _("Payment: %(status)s") % {"status": p.get_status_display()}
            problem = p.status in (Payment.Status.FAILED, Payment.Status.EXPIRED)
            entries.append(
                Entry(at=p.created_at, kind="payment", title=title, detail=detail, problem=problem)
            )
    return entries


def _refund_entries(refunds: list[PaymentRefund]) -> list[Entry]:
    return [
        Entry(
            at=r.created_at,
            kind="refund",
            title=_("Refund %(amount)s: %(status)s")
            % {"amount": format_money(r.amount, r.currency), "status": r.get_status_display()},
            detail=" · ".join(x for x in (r.get_source_display(), r.reason, r.message) if x),
            problem=r.status == PaymentRefund.Status.FAILED,
        )
        for r in refunds
    ]


def _shipment_entries(shipments: list[Shipment]) -> list[Entry]:
    entries = []
    for s in shipments:
        what = f"{s.get_carrier_display()} · {s.service}"
        entries.append(
            Entry(
                at=s.created_at,
                kind="shipment",
                title=_("Shipment %(reference)s created") % {"reference": s.reference},
                detail=what,
                user=_who(s.created_by),
            )
        )
        tracking = s.tracking_url if s.tracking_url.startswith(("https://", "http://")) else ""
        if s.confirmed_at:
            entries.append(
                Entry(
                    at=s.confirmed_at,
                    kind="shipment",
                    title=_("Label ready"),
                    detail=_("Tracking number %(number)s") % {"number": s.tracking_number}
                    if s.tracking_number
                    else what,
                    link=tracking,
                    link_text=_("Track the parcel") if tracking else "",
                )
            )
        if s.delivered_at:
            entries.append(
                Entry(
                    at=s.delivered_at, kind="shipment", title=_("Parcel delivered"), detail=s.tracking_number
                )
            )
        if s.status in (Shipment.Status.ERROR, Shipment.Status.CANCELLED, Shipment.Status.RETURNED):
            entries.append(
                Entry(
                    at=s.updated_at,
                    kind="shipment",
                    title=_("Shipment %(reference)s: %(status)s")
                    % {"reference": s.reference, "status": s.get_status_display()},
                    detail=s.error_message,
                    problem=s.status == Shipment.Status.ERROR,
                )
            )
    return entries


def _invoice_entries(invoices: list[Invoice]) -> list[Entry]:
    from django.urls import reverse

    entries = []
    for i in invoices:
        amount = format_money(i.total_gross, i.currency)
        if i.kind == Invoice.Kind.INVOICE:
            title = _("Invoice %(number)s issued") % {"number": i.number}
            detail = amount
        else:
            title = _("Correcting invoice %(number)s issued") % {"number": i.number}
            detail = " · ".join(x for x in (amount, i.reason) if x)
        entries.append(
            Entry(
                at=i.issued_at,
                kind="invoice" if i.kind == Invoice.Kind.INVOICE else "correction",
                title=title,
                detail=detail,
                link=reverse("admin:orders_invoice_pdf", args=[i.pk]),
                link_text="PDF",
            )
        )
    return entries


def _return_entries(returns: list[Return], currency: str) -> list[Entry]:
    entries = []
    for r in returns:
        entries.append(
            Entry(
                at=r.created_at,
                kind="return",
                title=_("Return #%(id)d requested") % {"id": r.pk},
                detail=r.get_reason_display(),
            )
        )
        if r.decided_at and r.status != Return.Status.REQUESTED:
            decided = Return.Status.REJECTED if r.status == Return.Status.REJECTED else Return.Status.ACCEPTED
            entries.append(
                Entry(
                    at=r.decided_at,
                    kind="return",
                    title=_("Return #%(id)d: %(status)s") % {"id": r.pk, "status": decided.label},
                    detail=format_money(r.refund_amount, currency)
                    if decided == Return.Status.ACCEPTED
                    else "",
                    user=_who(r.decided_by),
                )
            )
        if r.refunded_at:
            entries.append(
                Entry(
                    at=r.refunded_at,
                    kind="return",
                    title=_("Return #%(id)d: %(status)s")
                    % {"id": r.pk, "status": Return.Status.REFUNDED.label},
                )
            )
    return entries


def _email_entries(emails: list[OrderEmail]) -> list[Entry]:
    entries = []
    for e in emails:
        if e.sent_at:
            state = _("sent to %(recipient)s") % {"recipient": e.recipient}
        elif e.attempts:
            state = ngettext("not sent yet (%(n)d attempt)", "not sent yet (%(n)d attempts)", e.attempts) % {
                "n": e.attempts
            }
        else:
            state = _("waiting to be sent to %(recipient)s") % {"recipient": e.recipient}
        entries.append(
            Entry(
                at=e.sent_at or e.created_at,
                kind="email",
                title=_("E-mail: %(kind)s") % {"kind": e.get_kind_display()},
                detail=state,
                problem=not e.sent_at and e.attempts > 0,
            )
        )
    return entries


def _note_entries(notes: list[OrderNote]) -> list[Entry]:
    return [
        Entry(at=n.created_at, kind="note", title=_("Note"), detail=n.text, user=_who(n.user)) for n in notes
    ]


_KIND_ORDER = {
    k: i
    for i, k in enumerate(
        [
            "placed",
            "status",
            "payment",
            "shipment",
            "invoice",
            "return",
            "refund",
            "correction",
            "email",
            "note",
        ]
    )
}


def order_history(order: Order) -> OrderHistory:
    """Every record of ``order`` as one story, oldest first: 8 queries for any number of records."""
    from ..carriers import tracking_url_for

    changes = list(order.status_changes.select_related("user").order_by("created_at", "pk"))
    payments = list(order.payments.order_by("created_at", "pk"))
    refunds = list(order.payment_refunds.order_by("created_at", "pk"))
    shipments = list(order.shipments.select_related("created_by").order_by("created_at", "pk"))
    invoices = list(order.invoices.order_by("issued_at", "pk"))
    returns = list(order.returns.select_related("decided_by").order_by("created_at", "pk"))
    emails = list(order.emails.order_by("created_at", "pk"))
    notes = list(order.notes.select_related("user").order_by("created_at", "pk"))
    tracking_link = ""
    if order.tracking_number:
        live = [
            s for s in shipments if s.tracking_number == order.tracking_number and s.status != "cancelled"
        ]
        # tracking_url_for looks the parcel up itself; give it the one loaded here.
        tracking_link = _tracking_link(order, live[0] if live else None, tracking_url_for)
    entries = [
        *_status_entries(order, changes, tracking_link),
        *_payment_entries(payments),
        *_refund_entries(refunds),
        *_shipment_entries(shipments),
        *_invoice_entries(invoices),
        *_return_entries(returns, order.currency),
        *_email_entries(emails),
        *_note_entries(notes),
    ]
    entries.sort(key=lambda e: (e.at, _KIND_ORDER.get(e.kind, 99)))
    return OrderHistory(entries, payments, refunds, shipments, invoices, returns)


def _tracking_link(order: Order, shipment: Shipment | None, tracking_url_for) -> str:
    method = order.shipping_method
    if method is not None and method.tracking_url:
        return tracking_url_for(order)
    if shipment is not None and shipment.tracking_url.startswith(("https://", "http://")):
        return shipment.tracking_url
    return tracking_url_for(order)


# --- The next steps -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """A button of the order page. ``status`` set: it posts that status to the status view;
    otherwise ``name`` says which view (``ship``, ``create_shipment``, ``label``, ``refund``,
    ``invoice``, ``correction``). ``confirm``: the view asks before it moves money."""

    name: str
    label: str
    status: str = ""
    confirm: bool = False
    danger: bool = False
    shipment_id: int | None = None


@dataclass(frozen=True)
class Permissions:
    process: bool = False  # orders.change_order
    ship: bool = False  # orders.manage_shipments
    refund: bool = False  # orders.add_paymentrefund
    invoice: bool = False  # orders.add_invoice


def _status_label(status: str) -> str:
    labels = {
        S.AWAITING_PAYMENT: _("Mark as awaiting payment"),
        S.PAID: _("Mark as paid"),
        S.PACKED: _("Pack"),
        S.SHIPPED: _("Ship with tracking number"),
        S.DELIVERED: _("Mark as delivered"),
        S.CANCELLED: _("Cancel the order"),
        S.RETURNED: _("Mark as returned"),
    }
    return labels[status]


def was_paid(order: Order) -> bool:
    return order.payment_status != Order.PaymentStatus.UNPAID or order.paid_at is not None


def moves_money(order: Order, status: str) -> bool:
    """Whether moving ``order`` to ``status`` moves money, so the admin asks first: marking it
    paid, cancelling it after payment (the money goes back), delivering a cash-on-delivery parcel
    (the courier's money is booked)."""
    if status == S.PAID:
        return True
    if status == S.CANCELLED:
        return was_paid(order)
    if status == S.DELIVERED:
        return (
            order.payment_status == Order.PaymentStatus.UNPAID
            and order.payment_provider == PaymentMethod.Provider.CASH_ON_DELIVERY
        )
    return False


ACTIVE_SHIPMENT = {
    Shipment.Status.PENDING,
    Shipment.Status.SENDING,
    Shipment.Status.SUBMITTED,
    Shipment.Status.CONFIRMED,
    Shipment.Status.IN_TRANSIT,
    Shipment.Status.DELIVERED,
}


def corrections_due(order: Order, history: OrderHistory) -> list[str]:
    """The causes (correction keys) that call for a correcting invoice and have none yet: a
    cancellation, an accepted return, a refund by staff (``orders.corrections`` issues them on
    their events; one is missing when the store's company data was incomplete then)."""
    if history.invoice is None:
        return []
    done = {i.correction_key for i in history.invoices if i.kind == Invoice.Kind.CORRECTION}
    due = []
    if order.status == S.CANCELLED:
        due.append("cancel")
    else:
        for r in history.returns:
            if r.status in (Return.Status.ACCEPTED, Return.Status.REFUNDED):
                due.append(f"return:{r.pk}")
        for refund in history.refunds:
            if (
                refund.status == PaymentRefund.Status.SUCCEEDED
                and refund.source == PaymentRefund.Source.MANUAL
                and refund.return_request_id is None
            ):
                due.append(f"refund:{refund.pk}")
    return [key for key in due if key not in done]


def next_actions(order: Order, history: OrderHistory, perms: Permissions) -> list[Action]:
    """The buttons of the order page, in the order a merchant takes them: the workflow's allowed
    transitions (``orders.services.workflow.allowed_transitions``), shipping through the carrier,
    refunds, the invoice and its corrections."""
    from ..payments.refunds import refundable_online
    from ..services.workflow import allowed_transitions

    actions: list[Action] = []
    allowed = allowed_transitions(order) if perms.process else []
    carrier = order.shipping_method.carrier if order.shipping_method_id and order.shipping_method else ""
    active = [s for s in history.shipments if s.status in ACTIVE_SHIPMENT]
    for status in allowed:
        if status == S.SHIPPED and active:
            continue  # the carrier's parcel moves the order on its own
        actions.append(
            Action(
                name="ship" if status == S.SHIPPED else f"status_{status}",
                label=_status_label(status),
                status="" if status == S.SHIPPED else status,
                confirm=moves_money(order, status),
                danger=status == S.CANCELLED,
            )
        )
    if perms.ship and carrier:
        can_ship_now = order.status in (S.PAID, S.PACKED) or (
            order.status == S.NEW and order.payment_provider == PaymentMethod.Provider.CASH_ON_DELIVERY
        )
        if can_ship_now and not active:
            actions.append(Action(name="create_shipment", label=_("Create shipment and label")))
        for s in active:
            if s.has_label:
                actions.append(
                    Action(
                        name="label",
                        label=_("Print label %(reference)s")
                        % {"reference": s.tracking_number or s.reference},
                        shipment_id=s.pk,
                    )
                )
    if perms.refund and was_paid(order) and refundable_online(order) > 0:
        actions.append(Action(name="refund", label=_("Refund"), confirm=True, danger=True))
    if perms.invoice:
        if history.invoice is None and was_paid(order) and order.status != S.CANCELLED:
            actions.append(Action(name="invoice", label=_("Issue the invoice")))
        elif corrections_due(order, history):
            actions.append(Action(name="correction", label=_("Issue the correcting invoice")))
    return actions


@dataclass
class OrderPage:
    history: OrderHistory
    actions: list[Action] = field(default_factory=list)


def order_admin_page(order: Order, perms: Permissions) -> OrderPage:
    history = order_history(order)
    return OrderPage(history=history, actions=next_actions(order, history, perms))

"""Correcting invoices (faktury korygujące, art. 106j ustawy o VAT) for the shop's own invoices.

A correction is issued when the taxable amount of an invoiced sale goes down after the invoice:

- an accepted return (``return.accepted``): the returned quantities and their refund,
  shipping too when the return refunds it;
- a refund that is no return and no cancellation (``order.refunded`` of a gateway refund from the
  admin's refund page): a price reduction spread over the positions in proportion to their value;
- a cancellation of an invoiced order (``order.status_changed`` to ``cancelled``): every position
  to zero (its refund, ``order.refunded``, then corrects nothing more).

One correction per cause (``Invoice.correction_key``: ``return:<id>``, ``refund:<id>``,
``cancel``), enforced by a unique constraint and checked under the order's row lock, so a
redelivered event issues nothing twice. Each correction stores, per changed position, the state
before and after and the difference (``Invoice.lines``); the state before is the invoice as
corrected by the earlier corrections. Its totals are the differences (negative for a decrease).
Numbered in its own series per seller (``KOR/2026/12/0001``, :func:`orders.invoices.format_number`),
printed like the invoice, e-mailed to the buyer with the PDF, and -- for a store using KSeF -- sent
as FA(3) ``RodzajFaktury`` ``KOR`` (:func:`orders.ksef.fa3.document_for_correction`).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from shop import events
from shop.money import allocate

from . import invoices, vat
from .models import Invoice, Order, OrderEmail, Return, money

log = logging.getLogger(__name__)

ZERO = Decimal("0.00")

REASON_RETURN = "Zwrot towaru (zwrot nr {id}, {reason})"
REASON_REFUND = "Obniżka ceny po sprzedaży: zwrot części zapłaty ({amount} {currency})"
REASON_CANCEL = "Anulowanie zamówienia {number} i zwrot całości zapłaty"


@dataclass
class State:
    key: str
    name: str
    sku: str
    vat_rate: str
    quantity: int
    net: Decimal
    vat: Decimal
    gross: Decimal

    def as_dict(self) -> dict:
        return {
            "quantity": self.quantity,
            "net": str(self.net),
            "vat": str(self.vat),
            "gross": str(self.gross),
        }


# --- The invoice as it stands -----------------------------------------------------------------------


def original_positions(order: Order) -> list[State]:
    """The corrected invoice's positions with a stable key each: ``line:<order line id>``,
    ``shipping``, ``fee`` (the very positions :func:`orders.invoices.invoice_lines` prints)."""
    lines = list(order.lines.all())
    printed = invoices.invoice_lines(order, lines)
    keys = [f"line:{line.pk}" for line in lines]
    if order.shipping_total:
        keys.append("shipping")
    if order.payment_fee:
        keys.append("fee")
    return [
        State(key, p.name, p.sku, p.tax_code, p.quantity, p.net, p.vat, p.gross)
        for key, p in zip(keys, printed, strict=True)
    ]


def _apply(state: dict[str, State], rows) -> None:
    for row in rows or []:
        position = state.get(row.get("key"))
        if position is None:
            continue
        after = row["after"]
        position.quantity = int(after["quantity"])
        position.net = Decimal(after["net"])
        position.vat = Decimal(after["vat"])
        position.gross = Decimal(after["gross"])


def current_state(invoice: Invoice, *, before: Invoice | None = None) -> dict[str, State]:
    """Each position of ``invoice`` as corrected so far (the earlier corrections' "after");
    with ``before``, as it stood when that correction was issued."""
    state = {p.key: p for p in original_positions(invoice.order)}
    corrections = invoice.corrections.filter(kind=Invoice.Kind.CORRECTION).order_by("pk")
    if before is not None:
        corrections = corrections.filter(pk__lt=before.pk)
    for correction in corrections:
        _apply(state, correction.lines)
    return state


def _per_rate(state: dict[str, State]) -> list[vat.RateTotals]:
    return vat.per_rate((p.gross, p.vat_rate) for p in state.values())


def _rate_differences(state: dict[str, State], rows) -> list[vat.RateTotals]:
    """The invoice's per-rate table after ``rows`` minus before them (VAT per rate from the
    gross totals, art. 106e ust. 7-8; the positions' own differences are informational)."""
    after = copy.deepcopy(state)
    _apply(after, rows)
    return vat.difference(_per_rate(state), _per_rate(after))


def rate_differences(correction: Invoice) -> list[vat.RateTotals]:
    """A correction's differences per VAT rate (its PDF table, KSeF ``P_13_x``/``P_14_x``)."""
    if correction.corrects is None:
        return vat.per_rate([])
    state = current_state(correction.corrects, before=correction)
    return _rate_differences(state, correction.lines)


def _after(position: State, quantity: int, gross: Decimal) -> State:
    gross = max(money(gross), ZERO)
    quantity = max(int(quantity), 0)
    net, vat = invoices._split_gross(gross, position.vat_rate)
    return State(position.key, position.name, position.sku, position.vat_rate, quantity, net, vat, gross)


def _row(before: State, after: State) -> dict:
    diff = {
        "quantity": after.quantity - before.quantity,
        "net": str(after.net - before.net),
        "vat": str(after.vat - before.vat),
        "gross": str(after.gross - before.gross),
    }
    return {
        "key": before.key,
        "name": before.name,
        "sku": before.sku,
        "vat_rate": before.vat_rate,
        "before": before.as_dict(),
        "after": after.as_dict(),
        "diff": diff,
    }


# --- Issuing -----------------------------------------------------------------------------------------------


def issue_correction(
    *,
    order: Order,
    key: str,
    reason: str,
    changes,
    return_request: Return | None = None,
    render: str = "after_commit",
) -> Invoice | None:
    """The correction of ``order``'s invoice for the cause ``key``, issued now unless it exists.

    ``changes(state)`` gets the positions as they stand ({key: State}) and answers
    {key: (quantity after, gross after)}; positions it leaves out do not change. None when the
    order has no shop invoice or nothing changes. Raises ``SellerDataMissing`` like an invoice.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).select_related("store").get(pk=order.pk)
        existing = Invoice.objects.filter(
            order=order, kind=Invoice.Kind.CORRECTION, correction_key=key
        ).first()
        if existing is not None:
            return existing
        invoice = Invoice.objects.filter(order=order, kind=Invoice.Kind.INVOICE).first()
        if invoice is None:
            return None  # nothing was invoiced by the shop (not yet, or a connector issues them)
        state = current_state(invoice)
        rows = []
        for position_key, (quantity, gross) in changes(state).items():
            before = state[position_key]
            after = _after(before, quantity, gross)
            if (after.quantity, after.gross) != (before.quantity, before.gross):
                rows.append(_row(before, after))
        if not rows:
            return None
        differences = _rate_differences(state, rows)
        store = order.store
        seller_tax_id = invoices.check_seller(store)
        issued_at = timezone.now()
        local = timezone.localtime(issued_at, store.zone)
        kind = Invoice.Kind.CORRECTION
        sequence = invoices.next_sequence(
            seller_tax_id=seller_tax_id, kind=kind, year=local.year, month=local.month
        )
        correction = Invoice.objects.create(
            store=store,
            order=order,
            kind=kind,
            corrects=invoice,
            return_request=return_request,
            correction_key=key,
            reason=reason[:1000],
            lines=rows,
            number=invoices.format_number(year=local.year, month=local.month, sequence=sequence, kind=kind),
            year=local.year,
            month=local.month,
            sequence=sequence,
            issued_at=issued_at,
            sale_date=invoice.sale_date,
            seller=invoices.seller_data(store),
            buyer=invoice.buyer,
            currency=invoice.currency,
            total_net=sum((d.net for d in differences), ZERO),
            total_vat=sum((d.vat for d in differences), ZERO),
            total_gross=sum((d.gross for d in differences), ZERO),
        )
        from .ksef import services as ksef

        ksef.prepare(correction)
        events.publish(
            type="invoice.corrected",
            payload={
                "invoice_id": correction.pk,
                "corrects_id": invoice.pk,
                "order_id": order.pk,
                "number": correction.number,
                "cause": key,
            },
            store=store,
        )
        from .services.workflow import plan_email

        plan_email(
            order,
            OrderEmail.Kind.INVOICE,
            key=f"correction:{correction.pk}",
            context={
                "template": "orders/emails/invoice_correction",
                "invoice_id": correction.pk,
                "number": correction.number,
                "corrects": invoice.number,
            },
        )
        if render == "after_commit":
            from .handlers import render_invoice_pdf

            correction_id = correction.pk
            transaction.on_commit(lambda: events.safe_delay(render_invoice_pdf, correction_id))
    if render == "now":
        invoices.render_pdf(invoice=correction)
    return correction


def correct_return(return_request: Return, **kwargs) -> Invoice | None:
    """Correction for an accepted return: the returned units and their refund (and the shipping
    the return refunds)."""
    ret = Return.objects.select_related("order").get(pk=return_request.pk)
    returned = list(ret.lines.all())
    shipping_refund = money(ret.refund_amount - sum((rl.refund_amount for rl in returned), ZERO))

    def changes(state):
        result = {}
        for rl in returned:
            position = state.get(f"line:{rl.order_line_id}")
            if position is None:
                continue
            quantity = position.quantity - rl.quantity
            gross = ZERO if quantity <= 0 else position.gross - rl.refund_amount
            result[position.key] = (quantity, gross)
        if shipping_refund > 0 and "shipping" in state:
            result["shipping"] = (state["shipping"].quantity, state["shipping"].gross - shipping_refund)
        return result

    reason = REASON_RETURN.format(id=ret.pk, reason=ret.get_reason_display())
    return issue_correction(
        order=ret.order, key=f"return:{ret.pk}", reason=reason, changes=changes, return_request=ret, **kwargs
    )


def spread(amount: Decimal, weights: dict[str, Decimal]) -> dict[str, Decimal]:
    """``amount`` split over ``weights`` in proportion, in grosze (``shop.money.allocate``, the
    largest-remainder rule): the parts add up to ``min(amount, sum(weights))`` exactly and none
    exceeds its weight or is negative."""
    keys = list(weights)
    total = sum(weights.values(), ZERO)
    amount = min(money(amount), total)
    if amount <= 0 or total <= 0:
        return dict.fromkeys(keys, ZERO)
    return dict(zip(keys, allocate(amount, [weights[k] for k in keys]), strict=True))


def correct_refund(refund, **kwargs) -> Invoice | None:
    """Correction for a completed refund that is neither a return's nor a cancelled order's: a
    price reduction spread over the positions in proportion to their gross (quantities stay)."""
    order = refund.order

    def changes(state):
        parts = spread(refund.amount, {k: p.gross for k, p in state.items() if p.gross > 0})
        return {k: (state[k].quantity, state[k].gross - part) for k, part in parts.items() if part > 0}

    reason = REASON_REFUND.format(amount=refund.amount, currency=refund.currency or order.currency)
    return issue_correction(order=order, key=f"refund:{refund.pk}", reason=reason, changes=changes, **kwargs)


def correct_cancellation(order: Order, **kwargs) -> Invoice | None:
    """Correction of a cancelled invoiced order: every position as it stands to zero."""

    def changes(state):
        return dict.fromkeys(state, (0, ZERO))

    reason = REASON_CANCEL.format(number=order.number)
    return issue_correction(order=order, key="cancel", reason=reason, changes=changes, **kwargs)


# --- The PDF -------------------------------------------------------------------------------------------------


@dataclass
class PrintedRow:
    number: int
    name: str
    sku: str
    vat_label: str
    before: dict
    after: dict
    diff: dict


def _label(vat_rate: str) -> str:
    return invoices.rate_label(vat_rate)


def correction_context(correction: Invoice) -> dict:
    """What the correction's PDF prints: the corrected invoice's reference, per position before,
    after and the difference, the differences per VAT rate, and the total to refund."""
    from .formatting import format_money

    store = correction.store
    corrected = correction.corrects
    rows = [
        PrintedRow(n, r["name"], r["sku"], _label(r["vat_rate"]), r["before"], r["after"], r["diff"])
        for n, r in enumerate(correction.lines or [], start=1)
    ]
    summary = [
        {"vat_label": _label(d.vat_rate), "net": d.net, "vat": d.vat, "gross": d.gross}
        for d in rate_differences(correction)
    ]
    ksef_number = ""
    submission = getattr(corrected, "ksef_submission", None) if corrected else None
    if submission is not None:
        ksef_number = getattr(submission, "ksef_number", "") or ""
    return {
        "invoice": correction,
        "corrected": corrected,
        "corrected_issue_date": timezone.localtime(corrected.issued_at, store.zone).date()
        if corrected
        else None,
        "corrected_ksef_number": ksef_number,
        "order": correction.order,
        "store": store,
        "seller": correction.seller,
        "buyer": correction.buyer,
        "rows": rows,
        "summary": summary,
        "issue_date": timezone.localtime(correction.issued_at, store.zone).date(),
        "refund": -correction.total_gross if correction.total_gross < 0 else ZERO,
        "refund_text": format_money(abs(correction.total_gross), correction.currency),
        "amount_in_words": invoices.amount_in_words_pl(abs(correction.total_gross), correction.currency),
        "ksef": invoices.ksef_pdf_context(correction),
    }

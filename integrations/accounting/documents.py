"""The neutral description of a document every sink works from: what the shop's own invoice
prints (the same positions as ``orders.invoices.invoice_lines``: lines after discounts, shipping,
payment fee), the buyer, and for a correction each position before and after the return.

Connectors turn a :class:`DocumentData` into their partner's format; nothing here knows a partner.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from orders import vat
from orders.invoices import invoice_lines
from orders.models import Order, Return, money
from shop.money import floor_money

ZERO = Decimal("0.00")
VAT_RATES = ("23", "8", "5", "0", "zw")
#: outside VAT: a gift card sold (multi-purpose voucher, art. 8a ust. 4 ustawy o VAT), whatever
#: rate its product has; each connector names it in its partner's terms
NOT_SUBJECT = vat.NOT_SUBJECT


def tax_code(line) -> str:
    """The VAT code an order line is documented at: ``np`` for a gift card."""
    return NOT_SUBJECT if line.is_gift_card else line.vat_rate


@dataclass(frozen=True)
class Position:
    """One printed position: ``gross`` is the line total after its discount (what was paid)."""

    name: str
    sku: str
    quantity: int
    vat_rate: str
    gross: Decimal

    def unit_splits(self) -> list[tuple[int, Decimal]]:
        """(quantity, unit gross) pairs that add up to exactly ``gross``.

        A line of 3 units for 10.00 cannot be printed as 3 × 3.33 (= 9.99): it becomes 2 × 3.33
        and 1 × 3.34. Systems that take a unit price (iFirma, fiscal printers) use this.
        """
        if self.quantity <= 1:
            return [(max(self.quantity, 1), self.gross)]
        unit = floor_money(self.gross / self.quantity)
        rest = self.gross - unit * (self.quantity - 1)
        if rest == unit:
            return [(self.quantity, unit)]
        return [(self.quantity - 1, unit), (1, rest)]


@dataclass(frozen=True)
class CorrectedPosition:
    """A position of the original invoice as it was before and is after a return."""

    name: str
    sku: str
    vat_rate: str
    before_quantity: int
    before_gross: Decimal
    after_quantity: int
    after_gross: Decimal

    @property
    def changed(self) -> bool:
        return self.before_quantity != self.after_quantity or self.before_gross != self.after_gross


@dataclass(frozen=True)
class Buyer:
    name: str
    first_name: str = ""
    last_name: str = ""
    company_name: str = ""
    tax_id: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = "PL"
    email: str = ""
    phone: str = ""

    @property
    def is_company(self) -> bool:
        return bool(self.tax_id)

    @property
    def display_name(self) -> str:
        return self.company_name or self.name or self.email


@dataclass
class DocumentData:
    kind: str
    reference: str  # unique per document and store: the order number, "-R<return id>" for a correction
    order_number: str
    currency: str
    issue_date: dt.date
    sale_date: dt.date
    payment_method_name: str
    payment_provider: str
    total_gross: Decimal
    buyer: Buyer
    positions: list[Position] = field(default_factory=list)
    corrections: list[CorrectedPosition] = field(default_factory=list)
    after_positions: list[Position] = field(default_factory=list)
    return_id: int | None = None
    reason: str = ""
    # For a correction: the partner's id and number of the invoice it corrects (set by the service).
    corrects_id: str = ""
    corrects_number: str = ""

    def rate_totals(self) -> list[vat.RateTotals]:
        """Gross, net and VAT per rate of the positions (VAT per rate from the gross totals,
        the same table the shop's invoice prints)."""
        return vat.per_rate((p.gross, p.vat_rate) for p in self.positions)

    @property
    def correction_delta(self) -> Decimal:
        return sum((c.after_gross - c.before_gross for c in self.corrections), ZERO)


def clean_tax_id(value: str) -> str:
    """A Polish NIP as digits ("PL 526-025-09-95" -> "5260250995"); other EU VAT ids keep their
    country prefix and letters."""
    text = "".join(ch for ch in (value or "") if ch.isalnum()).upper()
    if text.startswith("PL") and text[2:].isdigit():
        return text[2:]
    return text


def buyer_of(order: Order) -> Buyer:
    address = order.billing_address or order.shipping_address
    if address is None:
        return Buyer(name=order.email, email=order.email, phone=order.phone)
    tax_id = clean_tax_id(address.tax_id)
    return Buyer(
        name=(address.full_name or "").strip() or order.email,
        first_name=address.first_name.strip(),
        last_name=address.last_name.strip(),
        company_name=address.company_name.strip(),
        tax_id=tax_id,
        street=address.street.strip(),
        postal_code=address.postal_code.strip(),
        city=address.city.strip(),
        country=(address.country or "PL").upper(),
        email=order.email,
        phone=address.phone or order.phone,
    )


def _dates(order: Order) -> tuple[dt.date, dt.date]:
    zone = order.store.zone
    now = timezone.now()
    issue = timezone.localtime(now, zone).date()
    sale = timezone.localtime(order.paid_at or now, zone).date()
    return issue, min(sale, issue)


def _positions(order: Order) -> list[Position]:
    return [
        Position(
            name=line.name, sku=line.sku, quantity=line.quantity, vat_rate=line.tax_code, gross=line.gross
        )
        for line in invoice_lines(order, list(order.lines.all()))
    ]


def invoice_data(order: Order, *, kind: str = "invoice") -> DocumentData:
    """The invoice (or receipt) of a paid order."""
    issue, sale = _dates(order)
    positions = _positions(order)
    return DocumentData(
        kind=kind,
        reference=order.number,
        order_number=order.number,
        currency=order.currency,
        issue_date=issue,
        sale_date=sale,
        payment_method_name=order.payment_method_name,
        payment_provider=order.payment_provider,
        total_gross=sum((p.gross for p in positions), ZERO),
        buyer=buyer_of(order),
        positions=positions,
    )


def correction_data(order: Order, return_request: Return) -> DocumentData:
    """The correction of the order's invoice for one accepted return.

    "Before" is the invoice as already corrected by the returns decided before this one (each got
    its own correction), "after" takes this return's units and refund off. A refunded shipping cost
    corrects the shipping position.
    """
    from orders.returns import DONE_STATUSES

    issue, sale = _dates(order)
    earlier = (
        Return.objects.filter(order=order, status__in=DONE_STATUSES)
        .filter(
            Q(decided_at__lt=return_request.decided_at)
            | Q(decided_at=return_request.decided_at, pk__lt=return_request.pk)
        )
        .exclude(pk=return_request.pk)
        .prefetch_related("lines")
        if return_request.decided_at
        else Return.objects.none()
    )
    done_units: dict[int, int] = {}
    done_amount: dict[int, Decimal] = {}
    shipping_done = ZERO
    for ret in earlier:
        lines_amount = ZERO
        for rl in ret.lines.all():
            done_units[rl.order_line_id] = done_units.get(rl.order_line_id, 0) + rl.quantity
            done_amount[rl.order_line_id] = done_amount.get(rl.order_line_id, ZERO) + rl.refund_amount
            lines_amount += rl.refund_amount
        shipping_done += ret.refund_amount - lines_amount
    corrections = []
    lines_refund = ZERO
    for rl in return_request.lines.select_related("order_line").order_by(
        "order_line__position", "order_line_id"
    ):
        line = rl.order_line
        paid = line.total - line.discount
        before_qty = line.quantity - done_units.get(line.pk, 0)
        before_gross = money(paid - done_amount.get(line.pk, ZERO))
        corrections.append(
            CorrectedPosition(
                name=line.name,
                sku=line.sku,
                vat_rate=tax_code(line),
                before_quantity=before_qty,
                before_gross=before_gross,
                after_quantity=max(0, before_qty - rl.quantity),
                after_gross=max(ZERO, before_gross - rl.refund_amount),
            )
        )
        lines_refund += rl.refund_amount
    shipping_refund = return_request.refund_amount - lines_refund
    this_units = {rl.order_line_id: rl.quantity for rl in return_request.lines.all()}
    this_amount = {rl.order_line_id: rl.refund_amount for rl in return_request.lines.all()}
    after_positions = []
    for line in order.lines.all():
        quantity = line.quantity - done_units.get(line.pk, 0) - this_units.get(line.pk, 0)
        gross = money(
            line.total - line.discount - done_amount.get(line.pk, ZERO) - this_amount.get(line.pk, ZERO)
        )
        after_positions.append(
            Position(
                name=line.name,
                sku=line.sku,
                quantity=max(0, quantity),
                vat_rate=tax_code(line),
                gross=max(ZERO, gross),
            )
        )
    for position in _positions(order)[len(after_positions) :]:
        if position.name.startswith("Dostawa") and position.vat_rate == order.shipping_vat_rate:
            gross = max(ZERO, position.gross - shipping_done - max(ZERO, shipping_refund))
            position = Position(position.name, "", 1 if gross > 0 else 0, position.vat_rate, gross)
        after_positions.append(position)
    if shipping_refund > 0 and order.shipping_total:
        name = f"Dostawa: {order.shipping_method_name}".strip().rstrip(":")
        before = order.shipping_total - shipping_done
        corrections.append(
            CorrectedPosition(
                name=name,
                sku="",
                vat_rate=order.shipping_vat_rate,
                before_quantity=1,
                before_gross=before,
                after_quantity=1 if before - shipping_refund > 0 else 0,
                after_gross=max(ZERO, before - shipping_refund),
            )
        )
    return DocumentData(
        kind="correction",
        reference=f"{order.number}-R{return_request.pk}",
        order_number=order.number,
        currency=order.currency,
        issue_date=issue,
        sale_date=sale,
        payment_method_name=order.payment_method_name,
        payment_provider=order.payment_provider,
        total_gross=-return_request.refund_amount,
        buyer=buyer_of(order),
        positions=_positions(order),
        corrections=corrections,
        after_positions=after_positions,
        return_id=return_request.pk,
        reason=return_request.get_reason_display(),
    )

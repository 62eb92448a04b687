"""VAT invoices: numbering without gaps, the printed data, and the PDF.

An invoice is issued once per order when it is paid (``orders.handlers`` reacts to the
``order.paid`` domain event) and can be (re)issued from the admin. Issuing is idempotent: the
order row is locked first, so two deliveries of the same event -- or a click in the admin while
the event is delivered -- end with one invoice.

Numbers are ``INVOICE_NUMBER_FORMAT`` (default ``FV/2026/11/0001``; corrections
``INVOICE_CORRECTION_NUMBER_FORMAT``, default ``KOR/2026/11/0001``) per *seller* (the store's
company NIP, so two stores of one company never print the same number), kind and month of issue
(in the store's time zone). The month's :class:`~orders.models.InvoiceCounter` row is
incremented under its row lock in the transaction that creates the invoice, so a number is only
consumed when the invoice row commits: a rollback rolls the counter back too, and numbering has
no gaps. No invoice is issued while the store's company data (name, address, valid NIP) is
incomplete: :class:`SellerDataMissing` names what is missing. The PDF is rendered after commit (WeasyPrint takes a moment; the counter lock must not
wait for it) by a Celery task, and on demand when somebody downloads an invoice whose PDF is not
there yet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from catalog.models import VatRate
from shop import events
from shop.identifiers import clean_nip

from . import vat
from .formatting import format_money
from .models import Invoice, InvoiceCounter, Order, money

log = logging.getLogger(__name__)

ZERO = Decimal("0.00")


class InvoiceError(Exception):
    """An invoice cannot be issued for this order (not paid, nothing to invoice)."""


class SellerDataMissing(InvoiceError):
    """The store's company data is incomplete: an invoice without the seller's name, address and
    NIP is no VAT invoice (art. 106e ust. 1 pkt 3 and 5 ustawy o VAT), so none is issued."""

    def __init__(self, store, problems: list[str]):
        self.store = store
        self.problems = problems
        super().__init__(
            _("No invoice can be issued until the store's company data is complete: %(problems)s.")
            % {"problems": "; ".join(problems)}
        )


def seller_problems(store) -> list[str]:
    """What is missing or wrong in the store's company data for an invoice ([] when complete),
    each item a sentence for the merchant."""
    problems = []
    if not (store.company_name or "").strip():
        problems.append(_("the company name is empty"))
    if not (store.company_address or "").strip():
        problems.append(_("the company address is empty"))
    if not (store.company_tax_id or "").strip():
        problems.append(_("the tax id (NIP) is empty"))
    else:
        try:
            clean_nip(store.company_tax_id)
        except ValidationError:
            problems.append(_("the tax id (NIP) %(nip)s is not a valid NIP") % {"nip": store.company_tax_id})
    return problems


def check_seller(store) -> str:
    """The seller's NIP (10 digits), or :class:`SellerDataMissing` naming what is missing."""
    problems = seller_problems(store)
    if problems:
        raise SellerDataMissing(store, problems)
    return clean_nip(store.company_tax_id)


# --- Amount in words ("słownie") -----------------------------------------------------------------

_UNITS = ["", "jeden", "dwa", "trzy", "cztery", "pięć", "sześć", "siedem", "osiem", "dziewięć"]
_TEENS = [
    "dziesięć",
    "jedenaście",
    "dwanaście",
    "trzynaście",
    "czternaście",
    "piętnaście",
    "szesnaście",
    "siedemnaście",
    "osiemnaście",
    "dziewiętnaście",
]
_TENS = [
    "",
    "",
    "dwadzieścia",
    "trzydzieści",
    "czterdzieści",
    "pięćdziesiąt",
    "sześćdziesiąt",
    "siedemdziesiąt",
    "osiemdziesiąt",
    "dziewięćdziesiąt",
]
_HUNDREDS = [
    "",
    "sto",
    "dwieście",
    "trzysta",
    "czterysta",
    "pięćset",
    "sześćset",
    "siedemset",
    "osiemset",
    "dziewięćset",
]
_GROUPS = [
    ("", "", ""),
    ("tysiąc", "tysiące", "tysięcy"),
    ("milion", "miliony", "milionów"),
    ("miliard", "miliardy", "miliardów"),
]


def _plural(n: int, forms: tuple[str, str, str]) -> str:
    """Polish plural: 1 złoty, 2-4 złote (but not 12-14), otherwise złotych."""
    if n == 1:
        return forms[0]
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return forms[1]
    return forms[2]


def _below_thousand(n: int) -> list[str]:
    words = [_HUNDREDS[n // 100]]
    rest = n % 100
    if 10 <= rest < 20:
        words.append(_TEENS[rest - 10])
    else:
        words += [_TENS[rest // 10], _UNITS[rest % 10]]
    return [w for w in words if w]


def number_in_words_pl(n: int) -> str:
    """``123`` -> ``"sto dwadzieścia trzy"`` (whole numbers below 10^12)."""
    if n == 0:
        return "zero"
    if n < 0:
        return "minus " + number_in_words_pl(-n)
    words: list[str] = []
    group = 0
    while n:
        n, part = divmod(n, 1000)
        if part:
            chunk = _below_thousand(part)
            if group:
                # "tysiąc", not "jeden tysiąc"
                chunk = [] if part == 1 else chunk
                chunk.append(_plural(part, _GROUPS[group]))
            words = chunk + words
        group += 1
    return " ".join(words)


def amount_in_words_pl(amount: Decimal, currency: str = "PLN") -> str:
    """``Decimal("1234.50")`` -> ``"jeden tysiąc ... złote 50/100"`` as printed on Polish invoices."""
    amount = money(amount)
    whole = int(amount)
    cents = int((amount - whole) * 100)
    if currency.upper() == "PLN":
        unit = _plural(whole, ("złoty", "złote", "złotych"))
        return f"{number_in_words_pl(whole)} {unit} {cents:02d}/100"
    return f"{number_in_words_pl(whole)} {currency.upper()} {cents:02d}/100"


# --- What is printed ---------------------------------------------------------------------------------


# A gift card sold is a multi-purpose voucher (bon różnego przeznaczenia, art. 8a ust. 4 ustawy o
# VAT): its sale is no supply, so it is outside VAT ("np."), never exempt ("zw") nor taxed. Decided
# by the product kind, whatever rate the product was given.
NOT_SUBJECT = "np"
NOT_SUBJECT_NOTE = (
    "np. – sprzedaż bonu różnego przeznaczenia (karta podarunkowa) nie podlega opodatkowaniu VAT "
    "(art. 8a ust. 4 ustawy o VAT); podatek rozlicza się przy jego realizacji."
)
DEFAULT_EXEMPTION_BASIS = "art. 43 ust. 1 ustawy o VAT"


def rate_label(vat_rate: str) -> str:
    if vat_rate == NOT_SUBJECT:
        return "np."
    return "zw" if vat_rate == VatRate.EXEMPT else f"{vat_rate}%"


def _percent(vat_rate: str) -> Decimal:
    return vat.percent(vat_rate)


@dataclass
class InvoiceLine:
    name: str
    sku: str
    quantity: int
    vat_rate: str
    unit_net: Decimal
    net: Decimal
    vat: Decimal
    gross: Decimal
    #: a gift card (multi-purpose voucher): outside VAT; ``vat_rate`` stays the product's code
    not_subject: bool = False

    @property
    def tax_code(self) -> str:
        """The rate the position is taxed at on the document: ``np`` for a voucher."""
        return NOT_SUBJECT if self.not_subject else self.vat_rate

    @property
    def vat_label(self) -> str:
        return rate_label(self.tax_code)


@dataclass
class VatSummary:
    vat_rate: str
    net: Decimal
    vat: Decimal
    gross: Decimal

    @property
    def vat_label(self) -> str:
        return rate_label(self.vat_rate)


def _split_gross(gross: Decimal, vat_rate: str) -> tuple[Decimal, Decimal]:
    """(net, vat) of a position's gross (informational: the document's totals are per rate,
    :func:`vat_summary`): VAT rounded half-up once, net is the remainder."""
    return vat.split(gross, vat_rate)


def invoice_lines(order: Order, lines=None) -> list[InvoiceLine]:
    """The invoice's positions: every order line after its share of the discount, then shipping
    and the payment fee. ``lines`` may be passed when already loaded."""
    result = []
    for line in lines if lines is not None else order.lines.all():
        gross = line.total - line.discount
        voucher = bool(line.is_gift_card)
        net, tax = _split_gross(gross, NOT_SUBJECT if voucher else line.vat_rate)
        result.append(
            InvoiceLine(
                name=line.name,
                sku=line.sku,
                quantity=line.quantity,
                vat_rate=line.vat_rate,
                unit_net=money(net / line.quantity),
                net=net,
                vat=tax,
                gross=gross,
                not_subject=voucher,
            )
        )
    if order.shipping_total:
        net, tax = _split_gross(order.shipping_total, order.shipping_vat_rate)
        result.append(
            InvoiceLine(
                name=f"Dostawa: {order.shipping_method_name}".strip().rstrip(":"),
                sku="",
                quantity=1,
                vat_rate=order.shipping_vat_rate,
                unit_net=net,
                net=net,
                vat=tax,
                gross=order.shipping_total,
            )
        )
    if order.payment_fee:
        # Both fees take the VAT of the goods, recorded on the order as ``shipping_vat_rate``
        # (orders.vat.fee_rate at checkout).
        fee_rate = order.shipping_vat_rate or VatRate.STANDARD
        net, tax = _split_gross(order.payment_fee, fee_rate)
        result.append(
            InvoiceLine(
                name=f"Opłata za płatność: {order.payment_method_name}".strip().rstrip(":"),
                sku="",
                quantity=1,
                vat_rate=fee_rate,
                unit_net=net,
                net=net,
                vat=tax,
                gross=order.payment_fee,
            )
        )
    return result


def vat_summary(lines: list[InvoiceLine]) -> list[VatSummary]:
    """Totals per VAT rate, highest rate first (the table under the positions): the VAT of each
    rate from its gross total (:func:`orders.vat.per_rate`, art. 106e ust. 7-8 ustawy o VAT)."""
    rows = vat.per_rate((line.gross, getattr(line, "tax_code", line.vat_rate)) for line in lines)
    return [VatSummary(r.vat_rate, r.net, r.vat, r.gross) for r in rows]


def document_totals(lines: list[InvoiceLine]) -> tuple[Decimal, Decimal, Decimal]:
    """(net, VAT, gross) of a document: the sums of its per-rate table."""
    summary = vat_summary(lines)
    return (
        sum((s.net for s in summary), ZERO),
        sum((s.vat for s in summary), ZERO),
        sum((s.gross for s in summary), ZERO),
    )


def legal_notes(store, lines) -> list[str]:
    """What the invoice must say about positions without VAT: the legal basis of an exemption
    (art. 106e ust. 1 pkt 19; the store's KSeF setting, else the general article) and why a
    gift card is outside VAT."""
    codes = {getattr(line, "tax_code", line.vat_rate) for line in lines}
    notes = []
    if VatRate.EXEMPT in codes:
        from .models import KsefSettings

        conf = KsefSettings.objects.filter(store=store).first()
        basis = (conf.exemption_basis if conf else "") or DEFAULT_EXEMPTION_BASIS
        notes.append(f"zw – sprzedaż zwolniona z VAT na podstawie: {basis}.")
    if NOT_SUBJECT in codes:
        notes.append(NOT_SUBJECT_NOTE)
    return notes


def seller_data(store) -> dict:
    return {
        "name": store.company_name or store.name,
        "address": store.company_address,
        "tax_id": store.company_tax_id,
        "bank_account": store.bank_account,
        "email": store.support_email or store.sender_email,
        "phone": store.phone,
    }


def buyer_data(order: Order) -> dict:
    address = order.billing_address or order.shipping_address
    data = {"name": "", "company_name": "", "tax_id": "", "address_lines": [], "email": order.email}
    if address is not None:
        data.update(
            name=address.full_name,
            company_name=address.company_name,
            tax_id=address.tax_id,
            address_lines=[
                line for line in (address.street, f"{address.postal_code} {address.city}".strip()) if line
            ],
            country=address.country,
        )
    return data


# --- Issuing -------------------------------------------------------------------------------------------


def format_number(*, year: int, month: int, sequence: int, kind: str = Invoice.Kind.INVOICE) -> str:
    if kind == Invoice.Kind.CORRECTION:
        pattern = settings.INVOICE_CORRECTION_NUMBER_FORMAT
    else:
        pattern = settings.INVOICE_NUMBER_FORMAT
    return pattern.format(year=year, month=month, sequence=sequence)


def _nip_or_none(value: str) -> str | None:
    try:
        return clean_nip(value)
    except ValidationError:
        return None


def _last_issued(seller_tax_id: str, kind: str, year: int, month: int) -> int:
    """The highest number of the month already printed by any store of this seller: a new
    counter (first invoice of the month, a store that changed its NIP, counters from before
    numbering per seller) continues after it instead of printing a number twice."""
    from shop.models import Store

    stores = [
        pk
        for pk, tax_id in Store.objects.exclude(company_tax_id="").values_list("pk", "company_tax_id")
        if _nip_or_none(tax_id) == seller_tax_id
    ]
    last = Invoice.objects.filter(store_id__in=stores, kind=kind, year=year, month=month).aggregate(
        last=Max("sequence")
    )["last"]
    return last or 0


def next_sequence(*, seller_tax_id: str, kind: str, year: int, month: int) -> int:
    """Take the next number of (seller NIP, kind, month) under the counter's row lock.

    Keyed by the seller's NIP, not the store: the law wants numbers unique among the seller's
    invoices, and two stores of one company must not both issue ``FV/2026/12/0001``.
    Must run inside the transaction that creates the invoice: the lock is held until it commits,
    so concurrent issuers queue here and a rolled-back invoice gives its number back.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_sequence() must run inside the invoice's transaction")
    key = {"seller_tax_id": seller_tax_id, "kind": kind, "year": year, "month": month}
    try:
        with transaction.atomic():
            if not InvoiceCounter.objects.filter(**key).exists():
                InvoiceCounter.objects.create(
                    **key, last_number=_last_issued(seller_tax_id, kind, year, month)
                )
    except IntegrityError:  # another transaction created this month's row at the same moment
        pass
    counter = InvoiceCounter.objects.select_for_update().get(**key)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def issue_invoice(*, order: Order, render: str = "after_commit") -> Invoice:
    """The order's VAT invoice, issued now if it has none yet (idempotent).

    ``render``: ``"after_commit"`` (default) renders the PDF in a Celery task once the invoice
    committed; ``"now"`` renders it in this call (admin, tests); ``"never"`` leaves it for the
    first download.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).select_related("store").get(pk=order.pk)
        existing = Invoice.objects.filter(order=order, kind=Invoice.Kind.INVOICE).first()
        if existing is not None:
            return existing
        if order.payment_status == Order.PaymentStatus.UNPAID and order.paid_at is None:
            raise InvoiceError(f"Order {order.number} is not paid; no invoice is issued before payment.")
        lines = invoice_lines(order, list(order.lines.all()))
        if not lines:
            raise InvoiceError(f"Order {order.number} has nothing to invoice.")
        store = order.store
        seller_tax_id = check_seller(store)
        issued_at = timezone.now()
        local = timezone.localtime(issued_at, store.zone)
        sequence = next_sequence(
            seller_tax_id=seller_tax_id, kind=Invoice.Kind.INVOICE, year=local.year, month=local.month
        )
        sale_date = timezone.localtime(order.paid_at or issued_at, store.zone).date()
        total_net, total_vat, total_gross = document_totals(lines)
        invoice = Invoice.objects.create(
            store=store,
            order=order,
            kind=Invoice.Kind.INVOICE,
            number=format_number(year=local.year, month=local.month, sequence=sequence),
            year=local.year,
            month=local.month,
            sequence=sequence,
            issued_at=issued_at,
            sale_date=sale_date,
            seller=seller_data(store),
            buyer=buyer_data(order),
            currency=order.currency,
            total_net=total_net,
            total_vat=total_vat,
            total_gross=total_gross,
        )
        # KSeF: the FA(3) XML is built and frozen with the invoice (its hash is in the QR code);
        # it is sent after commit (orders.ksef.services).
        from .ksef import services as ksef

        ksef.prepare(invoice)
        events.publish(
            type="invoice.issued",
            payload={"invoice_id": invoice.pk, "order_id": order.pk, "number": invoice.number},
            store=store,
        )
        if render == "after_commit":
            from .handlers import render_invoice_pdf

            invoice_id = invoice.pk
            transaction.on_commit(lambda: events.safe_delay(render_invoice_pdf, invoice_id))
    if render == "now":
        render_pdf(invoice=invoice)
    return invoice


# --- The PDF ---------------------------------------------------------------------------------------------


def invoice_context(invoice: Invoice) -> dict:
    order = invoice.order
    lines = invoice_lines(order, list(order.lines.all()))
    store = invoice.store
    return {
        "invoice": invoice,
        "order": order,
        "store": store,
        "seller": invoice.seller,
        "buyer": invoice.buyer,
        "lines": lines,
        "summary": vat_summary(lines),
        "legal_notes": legal_notes(store, lines),
        "issue_date": timezone.localtime(invoice.issued_at, store.zone).date(),
        "total_net": format_money(invoice.total_net, invoice.currency),
        "total_vat": format_money(invoice.total_vat, invoice.currency),
        "total_gross": format_money(invoice.total_gross, invoice.currency),
        "amount_in_words": amount_in_words_pl(invoice.total_gross, invoice.currency),
        "paid": order.payment_status != Order.PaymentStatus.UNPAID,
        "payment_method": order.payment_method_name,
        "ksef": ksef_pdf_context(invoice),
    }


def ksef_pdf_context(invoice: Invoice) -> dict | None:
    from .ksef import services as ksef

    return ksef.pdf_context(invoice)


def render_pdf_bytes(invoice: Invoice) -> bytes:
    from weasyprint import HTML

    # Polish VAT invoices are printed in Polish whatever the shopper's language.
    with translation.override("pl"):
        if invoice.kind == Invoice.Kind.CORRECTION:
            from .corrections import correction_context

            html = render_to_string("orders/invoices/correction.html", correction_context(invoice))
        else:
            html = render_to_string("orders/invoices/invoice.html", invoice_context(invoice))
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


def pdf_filename(invoice: Invoice) -> str:
    return invoice.number.replace("/", "-") + ".pdf"


def render_pdf(*, invoice: Invoice, force: bool = False) -> Invoice:
    """Write the invoice's PDF to private storage (again when ``force``). The printed data comes
    from the invoice row (seller and buyer frozen at issue) and the order's frozen lines, so a
    re-render prints the same document."""
    if invoice.pdf and not force:
        return invoice
    data = render_pdf_bytes(invoice)
    old = invoice.pdf.name if invoice.pdf else ""
    invoice.pdf.save(f"{invoice.store_id}/{pdf_filename(invoice)}", ContentFile(data), save=False)
    Invoice.objects.filter(pk=invoice.pk).update(pdf=invoice.pdf.name)
    if old and old != invoice.pdf.name:
        invoice.pdf.storage.delete(old)
    return invoice


def invoice_pdf(invoice: Invoice) -> bytes:
    """The PDF's bytes for a download, rendering it first when it is missing."""
    if not invoice.pdf or not invoice.pdf.storage.exists(invoice.pdf.name):
        invoice.pdf = None
        render_pdf(invoice=invoice)
    with invoice.pdf.open("rb") as f:
        return f.read()

"""Orders that were placed somewhere else: a marketplace (Allegro, Zalando), a hub (BaseLinker).

:func:`place_external_order` turns what the partner says into a normal :class:`Order` with channel
``marketplace``: lines by variant at the partner's prices, the partner's shipping cost, paid or
not as the partner says (with a payment record), stock taken through :mod:`catalog.stock` like a
storefront order, the same outbox events (``order.created``, ``order.paid``). One transaction: an
unknown SKU/EAN or missing stock raises :class:`ExternalOrderError` and leaves nothing behind, so
the caller (``integrations.channels.services.import_channel_order``) logs it and tries again on
its next run.

Stock is taken at once (like cash on delivery at checkout), never merely held: the partner has
already sold the goods and will not give them back when a hold expires. A cancellation puts them
back through :func:`orders.services.workflow.change_status`.

Shopper emails: marketplaces mail their buyers themselves, so by default (``send_emails=False``)
the order's emails (placed, paid, shipped, delivered, cancelled) are recorded as *not to be
sent* -- a row per kind with ``sent_at`` set and ``context["suppressed"]`` naming the source --
so the status workflow, which plans each email once per (order, kind), never sends them. Gift
card codes and download links are still sent: only the shop has them.

Usage::

    order = place_external_order(
        store=store, source="baselinker", external_reference="BL-123",
        email="buyer@example.com", paid=True,
        lines=[ExternalLine(sku="KUB-1", quantity=2, unit_price=Decimal("19.99"))],
        shipping_address=ExternalAddress(first_name="Jan", last_name="Kowalski", street="...",
                                         postal_code="00-001", city="Warszawa"),
        shipping_cost=Decimal("12.00"), shipping_method_name="InPost Paczkomat",
        pickup_point="WAW01M",
    )
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import stock
from catalog.models import Product, Variant
from catalog.models import VatRate as CatalogVatRate
from shop import phones
from shop.models import Store

from .. import vat
from ..models import Address, Order, OrderEmail, OrderLine, Payment, PaymentMethod
from ..models.common import money
from ..models.order import new_order_token
from ..pricing import net_of
from .errors import OrdersError
from .recording import order_line, record_order
from .workflow import _send_after_commit, deliver_paid_goods

MAX_LINES = 500
MAX_QUANTITY = 100_000
MAX_PRICE = Decimal("9999999999.99")

# The emails a marketplace sends its buyers itself.
SUPPRESSIBLE_EMAILS = (
    OrderEmail.Kind.PLACED,
    OrderEmail.Kind.PAID,
    OrderEmail.Kind.SHIPPED,
    OrderEmail.Kind.DELIVERED,
    OrderEmail.Kind.CANCELLED,
)


class ExternalOrderError(OrdersError):
    """The partner's order cannot become a shop order (yet). ``code`` says why:
    ``unknown_variant``, ``out_of_stock`` or ``invalid``; the message is for the merchant."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ExternalAddress:
    first_name: str = ""
    last_name: str = ""
    company_name: str = ""
    tax_id: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = "PL"
    phone: str = ""

    def to_model(self) -> Address:
        return Address(
            first_name=(self.first_name or "")[:100],
            last_name=(self.last_name or "")[:100],
            company_name=(self.company_name or "")[:200],
            tax_id=(self.tax_id or "")[:20],
            street=(self.street or "")[:200],
            postal_code=(self.postal_code or "")[:10],
            city=(self.city or "")[:100],
            country=((self.country or "PL")[:2]).upper(),
            phone=phones.normalise_lenient(self.phone or "", country=self.country or "PL"),
        )


@dataclass(frozen=True)
class ExternalLine:
    """One bought item: found by ``sku`` (the shop's SKU) or, failing that, by ``ean``."""

    quantity: int
    unit_price: Decimal
    sku: str = ""
    ean: str = ""
    name: str = ""
    external_id: str = ""

    @property
    def label(self) -> str:
        return self.sku or self.ean or self.name or self.external_id or "?"


def _decimal(value, what: str) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError, TypeError):
        raise ExternalOrderError(
            _("%(what)s is not a number: %(value)r") % {"what": what, "value": str(value)[:40]},
            code="invalid",
        ) from None
    if not number.is_finite() or number < 0 or number > MAX_PRICE:
        raise ExternalOrderError(
            _("%(what)s is out of range: %(value)s") % {"what": what, "value": str(value)[:40]},
            code="invalid",
        )
    return money(number)


def _check_lines(lines: Sequence[ExternalLine]) -> list[ExternalLine]:
    if not lines:
        raise ExternalOrderError(_("The order has no items."), code="invalid")
    if len(lines) > MAX_LINES:
        raise ExternalOrderError(
            _("The order has %(n)d items; at most %(max)d are accepted.")
            % {"n": len(lines), "max": MAX_LINES},
            code="invalid",
        )
    for line in lines:
        if (
            not isinstance(line.quantity, int)
            or isinstance(line.quantity, bool)
            or not (0 < line.quantity <= MAX_QUANTITY)
        ):
            raise ExternalOrderError(
                _("%(item)s: the quantity %(q)r is not a whole number between 1 and %(max)d.")
                % {"item": line.label, "q": line.quantity, "max": MAX_QUANTITY},
                code="invalid",
            )
        if not (line.sku or line.ean):
            raise ExternalOrderError(
                _("%(item)s has neither a SKU nor an EAN to find it in the shop by.") % {"item": line.label},
                code="unknown_variant",
            )
    return list(lines)


def find_variants(store: Store, lines: Sequence[ExternalLine]) -> dict[int, Variant]:
    """Line index -> variant (SKU first, then EAN), in one query; raises for unknown items."""
    skus = {line.sku for line in lines if line.sku}
    eans = {line.ean for line in lines if line.ean}
    found = list(
        Variant.objects.filter(store=store)
        .filter(Q(sku__in=skus) | Q(ean__in=eans))
        .select_related("product")
        .order_by("pk")
    )
    by_sku = {v.sku: v for v in found}
    by_ean: dict[str, Variant] = {}
    for v in found:
        if v.ean:
            by_ean.setdefault(v.ean, v)
    result: dict[int, Variant] = {}
    unknown = []
    for i, line in enumerate(lines):
        variant = by_sku.get(line.sku) if line.sku else None
        if variant is None and line.ean:
            variant = by_ean.get(line.ean)
        if variant is None:
            unknown.append(line.label)
        else:
            result[i] = variant
    if unknown:
        raise ExternalOrderError(
            _("Not found in the shop (SKU or EAN): %(items)s") % {"items": ", ".join(unknown[:20])},
            code="unknown_variant",
        )
    return result


@transaction.atomic
def place_external_order(
    *,
    store: Store,
    source: str,
    external_reference: str,
    lines: Sequence[ExternalLine],
    paid: bool,
    email: str = "",
    phone: str = "",
    language: str = "",
    currency: str = "",
    shipping_address: ExternalAddress | None = None,
    billing_address: ExternalAddress | None = None,
    wants_invoice: bool = False,
    pickup_point: str = "",
    shipping_method_name: str = "",
    shipping_cost: Decimal | str = Decimal("0"),
    shipping_vat_rate: str = CatalogVatRate.STANDARD,
    payment_method_name: str = "",
    cash_on_delivery: bool = False,
    payment_reference: str = "",
    paid_at: datetime | None = None,
    placed_at: datetime | None = None,
    customer_note: str = "",
    send_emails: bool = False,
) -> Order:
    """Create the shop order for one partner order and take its stock; returns the order.

    ``source`` names the partner (``baselinker``, ``allegro``, ...; it becomes the payment
    provider and, with ``external_reference``, the order's idempotency key, so placing the same
    partner order twice returns the first order). Prices are the partner's: what the buyer paid
    there is what the order says. Raises :class:`ExternalOrderError` (nothing saved) for an
    unknown SKU/EAN, missing stock or malformed values.
    """
    if not source or not external_reference:
        raise ExternalOrderError(_("An external order needs its source and reference."), code="invalid")
    key = f"{source}:{external_reference}"[:64]
    existing = Order.objects.filter(store=store, idempotency_key=key).first()
    if existing is not None:
        return existing
    lines = _check_lines(lines)
    shipping_cost = _decimal(shipping_cost, _("The shipping cost"))
    prices = [_decimal(line.unit_price, _("The price of %(item)s") % {"item": line.label}) for line in lines]
    if currency and currency.upper() != store.currency:
        raise ExternalOrderError(
            _("The order is in %(currency)s but the store sells in %(store)s.")
            % {"currency": currency.upper()[:3], "store": store.currency},
            code="invalid",
        )
    if shipping_vat_rate not in CatalogVatRate.values:
        shipping_vat_rate = CatalogVatRate.STANDARD
    variants = find_variants(store, lines)
    now = timezone.now()
    placed_at = placed_at or now
    note = (customer_note or "")[:2000]
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            note = (_("Email given by the marketplace, not valid: %(email)s") % {"email": email[:200]}) + (
                f"\n{note}" if note else ""
            )
            email = ""

    # Stock first, locked in primary-key order by catalog.stock, under a temporary reference.
    temporary_reference = f"external:{key}"[:100]
    holding = [
        (variants[i], line.quantity)
        for i, line in enumerate(lines)
        if variants[i].product.kind != Product.Kind.GIFT_CARD
    ]
    if holding:
        try:
            stock.sell_now(lines=holding, reference=temporary_reference, store=store)
        except stock.InsufficientStock as exc:
            raise ExternalOrderError(
                _("Not enough stock for %(items)s.")
                % {"items": ", ".join(f"{v.sku} ({left} left)" for v, left in exc.shortages.items())},
                code="out_of_stock",
            ) from exc

    shipping = shipping_address.to_model() if shipping_address else None
    billing = billing_address.to_model() if billing_address else shipping
    addresses = list({id(a): a for a in (shipping, billing) if a is not None}.values())
    if addresses:
        Address.objects.bulk_create(addresses)

    rows, subtotal, _line_nets = _lines(lines, variants, prices)
    # Shipping takes the VAT of the goods; the order's net is per rate (orders.vat).
    goods = [
        (row.total - row.discount, vat.NOT_SUBJECT if row.is_gift_card else row.vat_rate) for row in rows
    ]
    shipping_vat_rate = vat.fee_rate(goods, default=shipping_vat_rate)
    total_net = vat.totals(goods + ([(shipping_cost, shipping_vat_rate)] if shipping_cost else []))[1]
    total = subtotal + shipping_cost
    provider = PaymentMethod.Provider.CASH_ON_DELIVERY if cash_on_delivery and not paid else source[:20]
    status = Order.Status.PAID if paid else Order.Status.NEW
    shipping_dates = [v.release_date for v in variants.values() if v.is_preorder and v.release_date]
    order = Order.objects.create(
        store=store,
        number=f"~{new_order_token()[:24]}",
        idempotency_key=key,
        channel=Order.Channel.MARKETPLACE,
        external_reference=external_reference[:100],
        email=email[:254],
        phone=phones.normalise_lenient(phone or "", country=shipping.country if shipping else "PL"),
        language=(language or store.default_language or "pl")[:8],
        currency=store.currency,
        status=status,
        payment_status=Order.PaymentStatus.PAID if paid else Order.PaymentStatus.UNPAID,
        shipping_address=shipping,
        billing_address=billing,
        wants_invoice=wants_invoice,
        shipping_method_name=(shipping_method_name or "")[:120],
        pickup_point=(pickup_point or "")[:32],
        payment_method_name=(payment_method_name or "")[:120],
        payment_provider=provider,
        subtotal=subtotal,
        shipping_total=shipping_cost,
        shipping_vat_rate=shipping_vat_rate,
        total=total,
        total_net=total_net,
        customer_note=note,
        stock_committed=bool(holding),
        ships_on=max(shipping_dates) if shipping_dates else None,
        created_at=placed_at,
        paid_at=(paid_at or now) if paid else None,
    )
    Payment.objects.create(
        order=order,
        provider=provider,
        gateway_reference=(payment_reference or external_reference)[:100],
        amount=total,
        currency=order.currency,
        status=Payment.Status.PAID if paid else Payment.Status.PENDING,
        paid_at=order.paid_at,
    )
    _plan_emails(order, source=source, send=send_emails, paid=paid, now=now)
    record_order(
        order,
        lines=rows,
        note=_("Imported from %(source)s (%(ref)s)") % {"source": source, "ref": external_reference},
        placed_at=placed_at,
        held_reference=temporary_reference if holding else "",
        source=source,
    )
    if paid:
        deliver_paid_goods(order)
    return order


def _lines(
    lines: list[ExternalLine], variants: dict[int, Variant], prices: list[Decimal]
) -> tuple[list[OrderLine], Decimal, Decimal]:
    rows = []
    subtotal = Decimal("0")
    total_net = Decimal("0")
    for position, line in enumerate(lines):
        v = variants[position]
        gross = money(prices[position] * line.quantity)
        gift_card = v.product.kind == Product.Kind.GIFT_CARD
        net = net_of(gross, vat.NOT_SUBJECT if gift_card else v.product.vat_rate)
        subtotal += gross
        total_net += net
        rows.append(
            order_line(
                v,
                quantity=line.quantity,
                unit_price=prices[position],
                total=gross,
                discount=Decimal("0"),
                total_net=net,
                position=position,
            )
        )
    return rows, subtotal, total_net


def _plan_emails(order: Order, *, source: str, send: bool, paid: bool, now) -> None:
    if send and order.email:
        placed = order.emails.create(
            kind=OrderEmail.Kind.PLACED, recipient=order.email, language=order.language
        )
        _send_after_commit(placed.pk)
        if paid:
            paid_email = order.emails.create(
                kind=OrderEmail.Kind.PAID, recipient=order.email, language=order.language
            )
            _send_after_commit(paid_email.pk)
        return
    OrderEmail.objects.bulk_create(
        [
            OrderEmail(
                order=order,
                kind=kind,
                recipient=order.email or "",
                language=order.language,
                context={"suppressed": source},
                sent_at=now,
            )
            for kind in SUPPRESSIBLE_EMAILS
        ]
    )

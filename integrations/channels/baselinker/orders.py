"""BaseLinker orders (``getOrders``) as :class:`~integrations.channels.base.ExternalOrder`."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shop import phones

from ..base import ExternalAddress, ExternalLine, ExternalOrder


def _decimal(value, default: str = "0") -> Decimal:
    try:
        number = Decimal(str(value if value not in (None, "") else default).replace(",", "."))
    except (InvalidOperation, ValueError):
        raise ValueError(f"not a number: {str(value)[:40]!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a number: {str(value)[:40]!r}")
    return number


def _split_name(full: str) -> tuple[str, str]:
    parts = (full or "").strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


def parse_order(raw: dict[str, Any], *, cancelled_status_ids=()) -> ExternalOrder:
    """A ``getOrders`` order -> :class:`ExternalOrder`; raises ValueError/KeyError/TypeError."""
    if not isinstance(raw, dict):
        raise TypeError("an order must be an object")
    order_id = raw.get("order_id")
    if order_id in (None, ""):
        raise KeyError("order_id")
    products = raw.get("products")
    if not isinstance(products, list):
        raise TypeError("products must be a list")
    lines = []
    subtotal = Decimal("0")
    for product in products:
        if not isinstance(product, dict):
            raise TypeError("a product must be an object")
        quantity = product.get("quantity")
        if isinstance(quantity, str) and quantity.strip().isdigit():
            quantity = int(quantity)
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise ValueError(
                f"quantity {str(quantity)[:20]!r} of {product.get('sku')!r} is not a whole number"
            )
        price = _decimal(product.get("price_brutto"))
        lines.append(
            ExternalLine(
                quantity=quantity,
                unit_price=price,
                sku=str(product.get("sku") or "")[:64],
                ean=str(product.get("ean") or "")[:14],
                name=str(product.get("name") or "")[:200],
                external_id=str(product.get("order_product_id") or ""),
            )
        )
        subtotal += price * quantity
    shipping_cost = _decimal(raw.get("delivery_price"))
    paid_amount = _decimal(raw.get("payment_done"))
    total = subtotal + shipping_cost
    status = str(raw.get("order_status_id") or "")
    cancelled_ids = {str(i) for i in cancelled_status_ids or []}
    cod = str(raw.get("payment_method_cod") or "0") in ("1", "true", "True")
    first, last = _split_name(str(raw.get("delivery_fullname") or ""))
    shipping = ExternalAddress(
        first_name=first,
        last_name=last,
        company_name=str(raw.get("delivery_company") or ""),
        street=str(raw.get("delivery_address") or ""),
        postal_code=str(raw.get("delivery_postcode") or ""),
        city=str(raw.get("delivery_city") or ""),
        country=str(raw.get("delivery_country_code") or "PL"),
        phone=phones.normalise_lenient(
            str(raw.get("phone") or ""), country=str(raw.get("delivery_country_code") or "")
        ),
    )
    wants_invoice = str(raw.get("want_invoice") or "0") in ("1", "true", "True")
    billing = None
    if wants_invoice or raw.get("invoice_nip"):
        ifirst, ilast = _split_name(str(raw.get("invoice_fullname") or ""))
        billing = ExternalAddress(
            first_name=ifirst,
            last_name=ilast,
            company_name=str(raw.get("invoice_company") or ""),
            tax_id=str(raw.get("invoice_nip") or ""),
            street=str(raw.get("invoice_address") or ""),
            postal_code=str(raw.get("invoice_postcode") or ""),
            city=str(raw.get("invoice_city") or ""),
            country=str(raw.get("invoice_country_code") or "PL"),
        )
    placed = raw.get("date_confirmed") or raw.get("date_add")
    return ExternalOrder(
        external_id=str(order_id),
        status=status,
        lines=lines,
        raw=raw,
        paid=total > 0 and paid_amount >= total - Decimal("0.01"),
        cancelled=status in cancelled_ids,
        email=str(raw.get("email") or "")[:254],
        phone=phones.normalise_lenient(
            str(raw.get("phone") or ""), country=str(raw.get("delivery_country_code") or "")
        ),
        currency=str(raw.get("currency") or "")[:3],
        shipping_address=shipping,
        billing_address=billing,
        wants_invoice=wants_invoice,
        pickup_point=str(raw.get("delivery_point_id") or "")[:32],
        shipping_method_name=str(raw.get("delivery_method") or "")[:120],
        shipping_cost=shipping_cost,
        payment_method_name=str(raw.get("payment_method") or "")[:120],
        cash_on_delivery=cod,
        payment_reference=str(raw.get("order_id")),
        placed_at=datetime.fromtimestamp(placed, tz=UTC) if isinstance(placed, int) else None,
        note=str(raw.get("user_comments") or "")[:2000],
    )

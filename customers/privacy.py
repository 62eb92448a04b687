"""A customer's data: everything we hold as a file (GDPR art. 15 and 20) and its erasure
(art. 17) with the accounting exception.

Export extends recovery's shopper export (:func:`recovery.services.privacy.export_shopper`:
tracked carts, reminders, consents with their texts and versions, suppression, push
subscriptions) with the orders, returns, invoices, the account and its addresses and group
memberships.

Erasure keeps what the law makes us keep: orders that were paid or invoiced are accounting
records (ustawa o rachunkowości art. 74, Ordynacja podatkowa art. 86): they keep their buyer
data until five years from the end of the year of the sale (:func:`retained_until`). Everything
else is anonymised or removed: the account, carts, recovery's copies and reminders, consent
records, the address book, and the personal data of orders that were never paid. The address
stays on recovery's suppression list, so it is never messaged again.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Address, Cart, ConsentRecord, Invoice, Order, Return
from recovery.services.privacy import erase_shopper, export_shopper
from reports.selectors.common import PAID_STATUSES
from shop.spreadsheets import spreadsheet_text

from .directory import ERASED_SUFFIX
from .models import Customer, CustomerGroupMember

ERASED_DOMAIN = ERASED_SUFFIX.lstrip("@")
RETENTION_YEARS = 5


class ErasureError(Exception):
    pass


def customer_orders(customer: Customer):
    return Order.objects.filter(store_id=customer.store_id, email__iexact=customer.email)


def retained_until(moment: datetime, zone) -> date:
    """The first day an accounting record of ``moment`` may be destroyed: five years after the
    end of its (tax) year -- an order of 2026 is kept until 31 December 2031."""
    year = moment.astimezone(zone).year if timezone.is_aware(moment) else moment.year
    return date(year + RETENTION_YEARS + 1, 1, 1)


def retained_orders(customer: Customer, *, now=None) -> tuple[list[int], list[int]]:
    """(ids kept for accounting, ids whose personal data may go) of the customer's orders."""
    now = now or timezone.now()
    zone = customer.store.zone
    today = now.astimezone(zone).date()
    invoiced = set(
        Invoice.objects.filter(order__in=customer_orders(customer)).values_list("order_id", flat=True)
    )
    kept, free = [], []
    for pk, status, created_at in customer_orders(customer).values_list("pk", "status", "created_at"):
        record = pk in invoiced or status in PAID_STATUSES
        (kept if record and today < retained_until(created_at, zone) else free).append(pk)
    return kept, free


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _address(address: Address | None) -> dict | None:
    if address is None:
        return None
    fields = (
        "first_name",
        "last_name",
        "company_name",
        "tax_id",
        "street",
        "postal_code",
        "city",
        "country",
        "phone",
    )
    return {f: getattr(address, f) for f in fields}


def export_customer(customer: Customer) -> dict:
    """Everything the shop holds about ``customer`` (JSON-ready)."""
    data = export_shopper(store=customer.store, email=customer.email)
    orders = (
        customer_orders(customer)
        .select_related("shipping_address", "billing_address")
        .prefetch_related("lines", "invoices", "returns__lines")
        .order_by("created_at", "pk")
    )
    data["customer"] = {
        "name": customer.name,
        "phone": customer.phone,
        "first_seen_at": _iso(customer.first_seen_at),
        "orders": customer.orders_count,
        "spent": str(customer.total_spent),
        "currency": customer.store.currency,
    }
    data["orders"] = [
        {
            "number": o.number,
            "placed_at": _iso(o.created_at),
            "status": o.status,
            "payment_status": o.payment_status,
            "email": o.email,
            "phone": o.phone,
            "total": str(o.total),
            "currency": o.currency,
            "shipping_address": _address(o.shipping_address),
            "billing_address": _address(o.billing_address),
            "note": o.customer_note,
            "lines": [
                {
                    "product": line.product_name,
                    "variant": line.variant_name,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "unit_price": str(line.unit_price),
                    "total": str(line.total),
                }
                for line in o.lines.all()
            ],
            "invoices": [{"number": i.number, "issued_at": _iso(i.issued_at)} for i in o.invoices.all()],
            "returns": [
                {
                    "status": r.status,
                    "reason": r.reason,
                    "comment": r.comment,
                    "refund_amount": str(r.refund_amount),
                    "requested_at": _iso(r.created_at),
                }
                for r in o.returns.all()
            ],
        }
        for o in orders
    ]
    user = customer.user
    data["account"] = None
    if user is not None:
        data["account"] = {
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "phone": user.phone,
            "language": user.language,
            "registered_at": _iso(user.date_joined),
            "email_verified_at": _iso(user.email_verified_at),
            "addresses": [_address(a) for a in Address.objects.filter(user=user).order_by("pk")],
            "groups": [
                m.group.name
                for m in CustomerGroupMember.objects.filter(
                    user=user, group__store_id=customer.store_id
                ).select_related("group")
            ],
        }
    return data


def _csv(rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([spreadsheet_text(str(v)) if isinstance(v, str) else v for v in row])
    return out.getvalue()


def export_archive(customer: Customer) -> bytes:
    """The export as a ZIP: ``customer.json`` (everything) and CSV tables of the orders and the
    consents for a spreadsheet (cells that could start a formula are made inert)."""
    data = export_customer(customer)
    orders = [["number", "placed_at", "status", "payment_status", "total", "currency"]] + [
        [o["number"], o["placed_at"], o["status"], o["payment_status"], o["total"], o["currency"]]
        for o in data["orders"]
    ]
    consents = [["channel", "granted", "version", "source", "at", "text"]] + [
        [c["channel"], "yes" if c["granted"] else "no", c["version"], c["source"], c["at"], c["text"]]
        for c in data["consents"]
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("customer.json", json.dumps(data, ensure_ascii=False, indent=2))
        archive.writestr("orders.csv", _csv(orders))
        archive.writestr("consents.csv", _csv(consents))
    return buffer.getvalue()


def _blank_addresses(ids: list[int]) -> None:
    Address.objects.filter(pk__in=ids).update(
        first_name="", last_name="", company_name="", tax_id="", street="", postal_code="", city="", phone=""
    )


@transaction.atomic
def erase_customer(*, customer: Customer, by_user, now=None) -> dict[str, int]:
    """Erase ``customer``'s personal data but what accounting must keep; records who erased and
    when in the admin log (with counts only, no personal data). Returns the counts."""
    now = now or timezone.now()
    customer = (
        Customer.objects.select_for_update(of=("self",)).select_related("store", "user").get(pk=customer.pk)
    )
    if customer.user is not None and (customer.user.is_staff or customer.user.is_superuser):
        raise ErasureError(_("This address belongs to a staff account; remove the staff account first."))
    email = customer.email
    kept, free = retained_orders(customer, now=now)
    # Orders never paid nor invoiced: their buyer data goes.
    addresses = list(
        Order.objects.filter(pk__in=free).values_list("shipping_address_id", "billing_address_id")
    )
    _blank_addresses([pk for pair in addresses for pk in pair if pk])
    Order.objects.filter(pk__in=free).update(
        email=f"order@{ERASED_DOMAIN}", phone="", customer_note="", user=None, updated_at=now
    )
    Return.objects.filter(order_id__in=free).update(comment="", bank_account="")
    # Recovery's copies, reminders, restore links, push subscriptions (suppression kept).
    recovery = erase_shopper(store=customer.store, email=email)
    carts = Cart.objects.filter(store_id=customer.store_id).filter(
        Q(email__iexact=email) | Q(user_id=customer.user_id) if customer.user_id else Q(email__iexact=email)
    )
    carts_count = carts.update(email="", checkout={}, email_captured_at=None, consent_text="", user=None)
    consents = ConsentRecord.objects.filter(store_id=customer.store_id, email__iexact=email).update(
        email=f"consent@{ERASED_DOMAIN}", ip_address=None, user=None
    )
    account = 0
    user = customer.user
    if user is not None:
        CustomerGroupMember.objects.filter(user=user).delete()
        in_orders = set()
        for pair in Order.objects.filter(
            Q(shipping_address__user=user) | Q(billing_address__user=user)
        ).values_list("shipping_address_id", "billing_address_id"):
            in_orders.update(pk for pk in pair if pk)
        Address.objects.filter(user=user).exclude(pk__in=in_orders).delete()
        Address.objects.filter(user=user).update(user=None)
        user.email = f"account-{user.pk}@{ERASED_DOMAIN}"
        user.first_name = user.last_name = user.phone = user.verified_email = ""
        user.is_active = False
        user.set_unusable_password()
        user.save()
        account = 1
    customer.erased_at = now
    customer.user = None
    customer.consent_email = customer.consent_sms = customer.consent_push = None
    if not kept:
        customer.email = f"customer-{customer.pk}@{ERASED_DOMAIN}"
        customer.name = customer.phone = ""
        customer.orders_count = 0
        customer.total_spent = 0
        customer.last_order_at = None
    customer.save()
    counts = {
        "orders_kept": len(kept),
        "orders_anonymised": len(free),
        "carts": carts_count,
        "tracked_carts": recovery["tracked_carts"],
        "consents": consents,
        "account": account,
    }
    LogEntry.objects.create(
        user=by_user,
        content_type=ContentType.objects.get_for_model(Customer),
        object_id=str(customer.pk),
        object_repr=f"#{customer.pk}",
        action_flag=CHANGE,
        change_message=json.dumps([{"erased": counts}]),
    )
    return counts

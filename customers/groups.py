"""Customer groups: a member's own prices and the company their checkout prefills.

Orders asks for the price list through :func:`orders.pricing.price_list_for` (this module's
:func:`price_list` is registered as its source), so every basket -- cart page, checkout steps,
``place_order``, the API -- prices a member's lines by the same rule, in
:meth:`orders.pricing.PriceList.unit_price`.
"""

from __future__ import annotations

from decimal import Decimal

from orders.pricing import PriceList

from .models import CustomerGroupMember, CustomerGroupPrice

ZERO = Decimal("0")


def price_list(*, store_id: int, user) -> PriceList | None:
    """The price list of ``user``'s active groups in this store (two queries), or ``None``. In
    several groups a member gets the best of them: the highest percentage and the lowest price
    per variant."""
    memberships = list(
        CustomerGroupMember.objects.filter(user=user, group__store_id=store_id, group__is_active=True)
        .select_related("group")
        .order_by("group_id")
    )
    if not memberships:
        return None
    prices: dict[int, Decimal] = {}
    for row in CustomerGroupPrice.objects.filter(group_id__in=[m.group_id for m in memberships]).values(
        "variant_id", "price"
    ):
        current = prices.get(row["variant_id"])
        prices[row["variant_id"]] = row["price"] if current is None else min(current, row["price"])
    company: dict[str, object] = {}
    member = next((m for m in memberships if m.tax_id or m.company_name), None)
    if member is not None:
        company = {
            "wants_invoice": True,
            "company_name": member.company_name,
            "tax_id": member.tax_id,
            "billing_street": member.street,
            "billing_postal_code": member.postal_code,
            "billing_city": member.city,
        }
    return PriceList(
        percent_off=max((m.group.discount_percent for m in memberships), default=ZERO),
        prices=prices,
        company=company,
    )

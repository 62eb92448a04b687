"""Demo data for customers: every demo shopper's row and one wholesale group with a member.

Run by ``manage.py seed_demo`` after the orders and recovery demo data (idempotent).
"""

from __future__ import annotations

from decimal import Decimal

DEMO_GROUP = "Hurtownicy"
DEMO_MEMBER = "hurt.demo@example.com"


def seed(*, store, rng) -> None:
    from django.contrib.auth import get_user_model

    from .directory import refresh_store
    from .models import CustomerGroup, CustomerGroupMember

    group, _created = CustomerGroup.objects.get_or_create(
        store=store, name=DEMO_GROUP, defaults={"discount_percent": Decimal("10")}
    )
    User = get_user_model()
    member = User.objects.filter(email=DEMO_MEMBER).first()
    if member is None:
        member = User.objects.create_user(
            email=DEMO_MEMBER, password=None, first_name="Hubert", last_name="Hurtowy"
        )
    CustomerGroupMember.objects.get_or_create(
        group=group,
        user=member,
        defaults={
            "company_name": "Hurtownia Hubert sp. z o.o.",
            "tax_id": "5260001246",
            "street": "ul. Składowa 3",
            "postal_code": "90-001",
            "city": "Łódź",
        },
    )
    from orders.services.carts import get_or_create_cart

    get_or_create_cart(store=store, user=member)  # the member's cart makes them the store's customer
    refresh_store(store_id=store.pk)

"""Customers test data: orders of guests and accounts, consents, tracked carts, groups."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.utils import timezone

from customers.models import CustomerGroup, CustomerGroupMember, CustomerGroupPrice
from orders.models import ConsentRecord
from recovery.models import TrackedCart
from tests.orders.factories_after_sales import make_order


class CustomerGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerGroup

    name = factory.Sequence(lambda n: f"Hurt {n}")
    discount_percent = Decimal("0")


def join(group, user, **company) -> CustomerGroupMember:
    return CustomerGroupMember.objects.create(group=group, user=user, **company)


def group_price(group, variant, price) -> CustomerGroupPrice:
    return CustomerGroupPrice.objects.create(group=group, variant=variant, price=Decimal(price))


def consent(store, email, *, channel="email", granted=True, text="Zgoda na e-maile", version="v1", **kw):
    return ConsentRecord.objects.create(
        store=store, email=email, channel=channel, granted=granted, text=text, version=version, **kw
    )


def order_for(store, variant, *, email, status="delivered", user=None, quantity=1, **kwargs):
    return make_order(
        store=store, lines=[(variant, quantity)], status=status, user=user, email=email, **kwargs
    )


def tracked(store, email, **kwargs) -> TrackedCart:
    return TrackedCart.objects.create(
        store=store, email=email, state=TrackedCart.State.ABANDONED, abandoned_at=timezone.now(), **kwargs
    )

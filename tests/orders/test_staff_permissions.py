"""The admin respects the staff roles of shop/roles.py: warehouse staff see orders but cannot
change their status; order staff can process orders, decide returns and issue invoices."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from orders.models import Invoice, Order, Return
from orders.returns import request_return
from shop.roles import ROLES, install_roles
from tests.catalog.factories import VariantFactory
from tests.orders.factories_after_sales import make_order, use_isolated_cache
from tests.shop.factories import StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings):
    use_isolated_cache(settings)


WAREHOUSE = "Magazyn (warehouse)"
ORDERS = "Obsługa zamówień (orders)"


def staff_in(role: str):
    if not Group.objects.filter(name=role).exists():
        from django.apps import apps

        install_roles(app_config=[c for c in apps.get_app_configs() if c.models_module is not None][-1])
    user = StaffFactory()
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def order(store):
    variant = VariantFactory(store=store, price=Decimal("80.00"), stock=5)
    return make_order(store=store, lines=[(variant, 1)], status=Order.Status.PAID)


def test_roles_exist():
    assert WAREHOUSE in ROLES and ORDERS in ROLES


def test_warehouse_sees_orders_but_cannot_change_status(client, store, order):
    client.force_login(staff_in(WAREHOUSE))
    changelist = client.get(reverse("admin:orders_order_changelist"))
    assert changelist.status_code == 200
    form = changelist.context["action_form"]
    actions = form.fields["action"].choices if form is not None else []
    assert not [name for name, _label in actions if name.startswith("mark_")]
    # Neither the bulk action nor the change-form button nor shipping works.
    client.post(
        reverse("admin:orders_order_changelist"), {"action": "mark_packed", "_selected_action": [order.pk]}
    )
    assert (
        client.post(reverse("admin:orders_order_status", args=[order.pk]), {"status": "packed"}).status_code
        == 403
    )
    assert (
        client.post(
            reverse("admin:orders_order_ship", args=[order.pk]), {"tracking_number": "X1"}
        ).status_code
        == 403
    )
    assert client.post(reverse("admin:orders_order_invoice_issue", args=[order.pk])).status_code == 403
    assert client.post(reverse("admin:orders_order_note", args=[order.pk]), {"text": "x"}).status_code == 403
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    change = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert change.status_code == 200
    assert b'action="/admin/orders/order/%d/status/"' % order.pk not in change.content
    # The packing list is for the warehouse.
    assert client.get(reverse("admin:orders_order_packing_list", args=[order.pk])).status_code == 200


def test_orders_role_processes_orders(client, store, order):
    client.force_login(staff_in(ORDERS))
    changelist = client.get(reverse("admin:orders_order_changelist"))
    actions = [name for name, _label in changelist.context["action_form"].fields["action"].choices]
    assert "mark_packed" in actions
    client.post(
        reverse("admin:orders_order_changelist"), {"action": "mark_packed", "_selected_action": [order.pk]}
    )
    order.refresh_from_db()
    assert order.status == Order.Status.PACKED
    client.post(reverse("admin:orders_order_ship", args=[order.pk]), {"tracking_number": "6PL1"})
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED
    client.post(reverse("admin:orders_order_invoice_issue", args=[order.pk]))
    assert Invoice.objects.filter(order=order).exists()
    assert client.get(reverse("admin:orders_order_invoice", args=[order.pk])).status_code == 200


def test_orders_role_decides_returns_warehouse_cannot(client, store):
    variant = VariantFactory(store=store, price=Decimal("80.00"), stock=5)
    order = make_order(store=store, lines=[(variant, 1)])
    ret = request_return(order=order, items={order.lines.get().pk: 1}, reason="withdrawal")
    client.force_login(staff_in(WAREHOUSE))
    assert client.get(reverse("admin:orders_return_change", args=[ret.pk])).status_code == 403
    assert (
        client.post(reverse("admin:orders_return_decide", args=[ret.pk]), {"decision": "accept"}).status_code
        == 403
    )
    client.force_login(staff_in(ORDERS))
    client.post(reverse("admin:orders_return_decide", args=[ret.pk]), {"decision": "accept"})
    ret.refresh_from_db()
    assert ret.status == Return.Status.ACCEPTED

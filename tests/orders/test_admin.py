"""The orders admin: every model has a working changelist, and status actions go through the
workflow service."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from orders import models, services
from orders.models import Order
from tests.catalog.factories import VariantFactory
from tests.orders.factories import ready_cart
from tests.shop.factories import SuperuserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(SuperuserFactory())
    return client


def test_every_orders_model_is_registered_and_its_changelist_loads(staff_client, store):
    v = VariantFactory(store=store, stock=5)
    services.place_order(cart=ready_cart(store, [(v, 1)]))
    registered = [m for m in admin.site._registry if m._meta.app_label == "orders"]
    for name in models.__all__:
        model = getattr(models, name)
        if (
            isinstance(model, type)
            and hasattr(model, "_meta")
            and model.__module__ != "orders.models.gateways"
        ):
            if model in (models.OrderCounter, models.InvoiceCounter):
                continue  # internal counters: never edited by hand
            assert model in registered, model
    for model in registered:
        url = reverse(f"admin:orders_{model._meta.model_name}_changelist")
        assert staff_client.get(url).status_code == 200, url
    order = Order.objects.get()
    assert staff_client.get(reverse("admin:orders_order_change", args=[order.pk])).status_code == 200


def test_status_actions_use_the_workflow(staff_client, store):
    v = VariantFactory(store=store, stock=5)
    order = services.place_order(cart=ready_cart(store, [(v, 1)], payment="bank_transfer"))
    url = reverse("admin:orders_order_changelist")
    staff_client.post(url, {"action": "mark_paid", "_selected_action": [order.pk]})
    order.refresh_from_db()
    assert order.status == "paid" and order.status_changes.last().user is not None
    response = staff_client.post(
        url, {"action": "mark_delivered", "_selected_action": [order.pk]}, follow=True
    )
    order.refresh_from_db()
    assert order.status == "paid"  # refused: a parcel is shipped before it is delivered
    assert any(order.number in str(m) for m in response.context["messages"])

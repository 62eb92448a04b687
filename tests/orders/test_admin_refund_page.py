"""The admin's refund page says why nothing can be refunded online, truthfully."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from orders import services
from orders.models import PaymentMethod
from tests.catalog.factories import VariantFactory
from tests.orders.factories import ready_cart
from tests.shop.factories import SuperuserFactory

pytestmark = pytest.mark.django_db


def _page(client, order) -> str:
    client.force_login(SuperuserFactory(language="pl"))
    response = client.get(reverse("admin:orders_order_refund", args=[order.pk]), HTTP_ACCEPT_LANGUAGE="pl")
    assert response.status_code == 200
    return response.content.decode()


def test_an_order_paid_through_the_test_gateway_is_explained_as_such(client, store):
    order = services.place_order(cart=ready_cart(store, [(VariantFactory(store=store, stock=3), 1)]))
    payment = order.payments.get()
    assert payment.provider == PaymentMethod.Provider.TEST_GATEWAY
    services.payment_succeeded(payment=payment)
    html = _page(client, order)
    assert "bramkę testową" in html and "nie może ich zwrócić" in html
    assert "nie ma pieniędzy do zwrotu" not in html  # it was paid: never "nothing was paid"
    assert 'name="amount"' not in html  # no refund form that could only fail


def test_an_unpaid_order_says_nothing_was_paid(client, store):
    order = services.place_order(
        cart=ready_cart(store, [(VariantFactory(store=store, stock=3), 1)], payment="bank_transfer")
    )
    html = _page(client, order)
    with translation.override("pl"):
        assert "nie ma pieniędzy do zwrotu" in html
    assert "bramkę testową" not in html

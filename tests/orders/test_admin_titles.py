"""Admin titles name things the way the merchant knows them (order number, product name), never by
another row's internal id."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import StockReservation
from orders.models import CartLine, OrderEmail, Return, ReturnLine, VoucherRedemption
from tests.catalog.factories import StockReservationFactory, VariantFactory
from tests.orders.factories import VoucherFactory
from tests.orders.factories_after_sales import make_order
from tests.shop.factories import SuperuserFactory

pytestmark = pytest.mark.django_db


def _title(client, obj) -> str:
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="pl").content.decode()
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1)


def test_change_page_titles_show_names_not_ids(client, store):
    client.force_login(SuperuserFactory(language="pl"))
    variant = VariantFactory(store=store, stock=9, product__name="Kubek Koszyk")
    order = make_order(store=store, lines=[(variant, 2)])
    line = order.lines.get()
    ret = Return.objects.create(order=order, reason="withdrawal", refund_amount=Decimal("1.00"))
    ret_line = ReturnLine.objects.create(
        return_request=ret, order_line=line, quantity=2, refund_amount=Decimal("1.00")
    )
    email = OrderEmail.objects.create(order=order, kind=OrderEmail.Kind.SHIPPED, recipient="a@example.com")
    redemption = VoucherRedemption.objects.create(
        voucher=VoucherFactory(store=store, code="WIOSNA"), order=order, email="a@example.com", amount=1
    )
    from orders.models import Cart

    cart_line = CartLine.objects.create(
        cart=Cart.objects.create(store=store), variant=variant, quantity=3, price_when_added=variant.price
    )
    reservation = StockReservationFactory(variant=variant, quantity=4, reference="order:zz")
    assert isinstance(reservation, StockReservation)

    assert order.number in _title(client, ret)
    assert "Kubek Koszyk" in _title(client, ret_line)
    assert order.number in _title(client, email) and "wysłane" in _title(client, email).lower()
    assert "WIOSNA" in _title(client, redemption) and order.number in _title(client, redemption)
    assert "Kubek Koszyk" in _title(client, cart_line)
    assert "Kubek Koszyk" in _title(client, reservation)
    # What they said before: "Zwrot #… (<order id>)", "2 × <order line id>", "<order id> shipped → …".
    assert f"({order.pk})" not in _title(client, ret)
    assert f"× {line.pk} " not in _title(client, ret_line)
    assert f"× {variant.pk} " not in _title(client, cart_line) + _title(client, reservation)
    assert " on " not in _title(client, redemption) and " for " not in _title(client, reservation)

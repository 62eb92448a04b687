"""The shopper sees the parcel's tracking link on the order page (guest, by token) and in the
account, from the shipping method's pattern or the carrier's public page; never a non-http link."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.carriers import tracking_url_for
from orders.models import Order
from tests.orders.factories_shipping import courier_method, locker_method, ship_ready_order
from tests.shop.factories import UserFactory

pytestmark = pytest.mark.django_db


def shipped(store, method, **kwargs) -> Order:
    return ship_ready_order(
        store, method, status=Order.Status.SHIPPED, tracking_number="6200123456789", **kwargs
    )


def test_the_guest_order_page_links_the_carriers_tracking_page(client, store):
    order = shipped(store, locker_method(store))
    page = client.get(reverse("orders:order", kwargs={"token": order.token})).content.decode()
    assert 'href="https://inpost.pl/sledzenie-przesylek?number=6200123456789"' in page


def test_the_shipping_methods_own_pattern_wins(client, store):
    method = courier_method(store, tracking_url="https://tracking.example.pl/?q={number}")
    order = shipped(store, method)
    assert tracking_url_for(order) == "https://tracking.example.pl/?q=6200123456789"
    page = client.get(reverse("orders:order", kwargs={"token": order.token})).content.decode()
    assert 'href="https://tracking.example.pl/?q=6200123456789"' in page


def test_a_non_http_link_is_never_given_out(client, store):
    method = courier_method(store, tracking_url="javascript:alert(1)//{number}")
    order = shipped(store, method)
    assert tracking_url_for(order) == ""
    page = client.get(reverse("orders:order", kwargs={"token": order.token})).content.decode()
    assert "javascript:" not in page and "6200123456789" in page


def test_the_account_order_page_links_it_too_and_only_for_its_owner(client, store):
    owner = UserFactory()
    order = shipped(store, locker_method(store), user=owner, email=owner.email)
    url = reverse("orders:account:order", kwargs={"number": order.number})
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    client.force_login(owner)
    page = client.get(url).content.decode()
    assert 'href="https://inpost.pl/sledzenie-przesylek?number=6200123456789"' in page


def test_an_order_not_shipped_costs_no_tracking_query(client, store, django_assert_num_queries):
    order = ship_ready_order(store, locker_method(store))
    assert tracking_url_for(order) == ""
    with django_assert_num_queries(0):
        tracking_url_for(order)

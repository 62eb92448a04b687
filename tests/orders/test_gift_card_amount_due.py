"""A gift card spent by another order between the summary and the click: the shopper is asked
again (the same "prices changed" flow), never charged more without seeing it."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from orders import services
from orders.models import Cart, GiftCard, Order
from tests.catalog.factories import VariantFactory
from tests.orders.factories import GiftCardFactory, ready_cart
from tests.orders.test_views import add, browser, checkout, shop  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]


def _spend_card_elsewhere(store, card: GiftCard) -> Order:
    other = VariantFactory(store=store, stock=5, price=D("80.00"))
    cart = ready_cart(store, [(other, 1)], email="ktos@example.com")
    services.apply_code(cart=cart, code=card.code, client_keys=["test:elsewhere"])
    return services.place_order(cart=cart)


def test_the_summary_carries_the_amount_due_and_a_card_spent_meanwhile_asks_again(browser, store, shop):  # noqa: F811
    v = VariantFactory(store=store, stock=5, price=D("100.00"))
    card = GiftCardFactory(store=store, initial_balance=D("50.00"))
    add(browser, v, 1)
    assert browser.post("/koszyk/kod/", {"code": card.code}).status_code == 302
    data = checkout(browser, shop)
    summary = browser.get("/zamowienie/podsumowanie/")
    due = summary.context["form"].initial["expected_amount_due"]
    assert D(due) == D(data["expected_total"]) - D("50.00")
    assert b'name="expected_amount_due"' in summary.content
    data["checkout_token"] = summary.context["form"].initial["checkout_token"]

    _spend_card_elsewhere(store, card)  # another order takes the whole balance

    response = browser.post("/zamowienie/podsumowanie/", {**data, "expected_amount_due": due}, follow=True)
    assert "is left to pay" in response.content.decode()
    assert not Order.objects.filter(email="anna@example.com").exists()
    assert Cart.objects.get(email="anna@example.com").status == Cart.Status.OPEN


@pytest.mark.parametrize("shown", ["50.00", "abc", "1e999999", "-0"])
def test_place_order_refuses_any_amount_due_other_than_the_one_now(store, shown):
    v = VariantFactory(store=store, stock=5, price=D("100.00"))
    card = GiftCardFactory(store=store, initial_balance=D("30.00"))
    cart = ready_cart(store, [(v, 1)])
    services.apply_code(cart=cart, code=card.code, client_keys=["test:odd"])
    with pytest.raises(services.TotalChanged):
        services.place_order(cart=cart, expected_amount_due=shown)
    assert not Order.objects.exists()
    card.refresh_from_db()
    assert card.balance == D("30.00")


def test_the_amount_due_the_shopper_saw_places_the_order(store):
    v = VariantFactory(store=store, stock=5, price=D("100.00"))
    card = GiftCardFactory(store=store, initial_balance=D("30.00"))
    cart = ready_cart(store, [(v, 1)])
    services.apply_code(cart=cart, code=card.code, client_keys=["test:ok"])
    from orders.services.checkout import load_for_checkout

    basket = load_for_checkout(Cart.objects.get(pk=cart.pk)).basket
    order = services.place_order(
        cart=cart, expected_total=basket.total, expected_amount_due=basket.amount_due
    )
    assert order.amount_due == basket.amount_due and order.gift_card_total == D("30.00")

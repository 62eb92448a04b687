"""The checkout links the published terms, refuses an order when the store has none, and the
order keeps the exact versions its shopper accepted (shown on the order's admin page)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from content import pages
from content.models import Page, PageVersion, TermsAcceptance
from orders.models import Order
from tests.catalog.factories import VariantFactory
from tests.orders.factories import PaymentMethodFactory, ShippingMethodFactory, ready_cart
from tests.shop.factories import StoreFactory, SuperuserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    store = StoreFactory(domain="testserver", name="Sklep", is_default=True)
    ShippingMethodFactory(store=store, code="kurier", price=Decimal("10.00"))
    PaymentMethodFactory(store=store, provider="bank_transfer")
    return store


def to_summary(client, store):
    variant = VariantFactory(store=store, stock=5, price=Decimal("50.00"))
    client.post("/koszyk/dodaj/", {"variant": variant.pk, "quantity": 1})
    client.post("/zamowienie/", {"email": "anna@example.com"})
    client.post(
        "/zamowienie/dostawa/",
        {
            "shipping_method": store.shipping_methods.get().pk,
            "payment_method": store.payment_methods.get().pk,
            "first_name": "Anna",
            "last_name": "Kowalska",
            "phone": "600100200",
            "street": "Długa 5",
            "postal_code": "00-950",
            "city": "Warszawa",
        },
    )
    summary = client.get("/zamowienie/podsumowanie/")
    assert summary.status_code == 200
    initial = summary.context["form"].initial
    post = {"checkout_token": initial["checkout_token"], "expected_total": initial["expected_total"]}
    return summary.content.decode(), {**post, "accept_terms": "on"}


def test_without_published_terms_the_order_is_refused_with_a_clear_message(shop):
    pages.ensure_default_pages(store=shop)  # drafts only
    client = Client()
    html, post = to_summary(client, shop)
    assert "nie opublikował jeszcze regulaminu" in html
    response = client.post("/zamowienie/podsumowanie/", post, follow=True)
    assert "nie opublikował regulaminu" in response.content.decode()
    assert not Order.objects.exists()


def test_the_order_keeps_the_versions_its_shopper_accepted(shop):
    pages.ensure_default_pages(store=shop)
    terms = pages.publish(page=Page.objects.get(store=shop, kind="terms"))
    privacy = pages.publish(page=Page.objects.get(store=shop, kind="privacy"))
    client = Client()
    html, post = to_summary(client, shop)
    assert 'href="/strona/regulamin/" target="_blank"' in html
    assert 'href="/strona/polityka-prywatnosci/" target="_blank"' in html
    assert client.post("/zamowienie/podsumowanie/", post).status_code == 302
    order = Order.objects.get()
    accepted = TermsAcceptance.objects.get(order=order)
    assert (accepted.terms.page, accepted.terms.version) == (terms, 1)
    assert (accepted.privacy.page, accepted.privacy.version) == (privacy, 1)
    # New terms later: the order still points to the text it was placed under.
    terms.body = "<p>Nowy regulamin</p>"
    pages.save_page(page=terms)
    accepted.refresh_from_db()
    assert accepted.terms.version == 1 and PageVersion.objects.filter(page=terms).count() == 2
    # Shown on the order's admin page.
    admin = Client()
    admin.force_login(SuperuserFactory())
    page = admin.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "Regulamin sklepu, wersja 1" in page


def test_orders_placed_without_the_checkout_box_record_nothing(shop):
    """API and imported orders (no box ticked) are neither refused nor given an acceptance."""
    from orders import services

    variant = VariantFactory(store=shop, stock=5, price=Decimal("50.00"))
    cart = ready_cart(shop, [(variant, 1)], shipping=shop.shipping_methods.get(), payment="bank_transfer")
    order = services.place_order(cart=cart)
    assert not TermsAcceptance.objects.filter(order=order).exists()


def test_the_confirmation_email_and_the_order_page_link_the_withdrawal_form(shop):
    from orders.emails import render_email
    from orders.models import OrderEmail

    pages.ensure_default_pages(store=shop)
    pages.publish(page=Page.objects.get(store=shop, kind="terms"))
    client = Client()
    _html, post = to_summary(client, shop)
    response = client.post("/zamowienie/podsumowanie/", post)
    order = Order.objects.get()
    placed = OrderEmail.objects.get(order=order, kind=OrderEmail.Kind.PLACED)
    message = render_email(placed)
    assert "/odstapienie-od-umowy/" in message.body
    assert (
        'href="http://' in message.alternatives[0][0]
        and "/odstapienie-od-umowy/" in message.alternatives[0][0]
    )
    order_page = client.get(response["Location"], follow=True).content.decode()
    assert "formularz odstąpienia od umowy" in order_page

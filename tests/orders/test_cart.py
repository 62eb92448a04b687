"""Cart services: adding with validation, live notices, email and consent capture, merging."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.models import Variant
from orders import services
from orders.consent import CONSENT_VERSION
from orders.models import Cart, CartLine, ConsentRecord
from orders.selectors import cart_page
from shop.models import Event
from tests.catalog.factories import (
    GiftCardProductFactory,
    PreorderVariantFactory,
    ProductFactory,
    StockReservationFactory,
    VariantFactory,
    make_set,
)
from tests.shop.factories import StoreFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]


@pytest.fixture
def cart(store):
    return services.get_or_create_cart(store=store)


def test_add_merges_lines_and_records_the_price_seen(cart, store):
    v = VariantFactory(store=store, stock=10, price=Decimal("19.99"))
    services.add_to_cart(cart=cart, variant_id=v.pk, quantity=2)
    line = services.add_to_cart(cart=cart, variant_id=str(v.pk), quantity="3")
    assert (line.quantity, line.price_when_added) == (5, Decimal("19.99"))
    assert CartLine.objects.count() == 1


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (0, "at least 1"),
        (-3, "at least 1"),
        (10**12, "at most 99"),
        ("abc", "whole number"),
        (None, "whole number"),
        ("1.5", "whole number"),
    ],
)
def test_bad_quantities_are_refused_with_a_clear_message(cart, store, quantity, message):
    v = VariantFactory(store=store, stock=10)
    with pytest.raises(services.CartError, match=message):
        services.add_to_cart(cart=cart, variant_id=v.pk, quantity=quantity)
    assert not CartLine.objects.exists()


def test_variants_of_another_store_inactive_or_unpublished_are_refused(cart, store):
    foreign = VariantFactory(store=StoreFactory(), stock=5)
    inactive = VariantFactory(store=store, stock=5, is_active=False)
    hidden = VariantFactory(product=ProductFactory(store=store, is_published=False), stock=5)
    for variant_id, message in [
        (foreign.pk, "does not exist"),
        (inactive.pk, "no longer available"),
        (hidden.pk, "no longer available"),
        ("x", "does not exist"),
        (999999, "does not exist"),
    ]:
        with pytest.raises(services.CartError, match=message):
            services.add_to_cart(cart=cart, variant_id=variant_id, quantity=1)


def test_cannot_add_more_than_available(cart, store):
    v = VariantFactory(store=store, stock=3)
    StockReservationFactory(variant=v, quantity=1)
    with pytest.raises(services.CartError, match="Only 2"):
        services.add_to_cart(cart=cart, variant_id=v.pk, quantity=3)
    sold_out = VariantFactory(store=store, stock=0)
    with pytest.raises(services.CartError, match="sold out"):
        services.add_to_cart(cart=cart, variant_id=sold_out.pk)
    back = VariantFactory(store=store, stock=0, backorder=Variant.Backorder.ALLOW)
    assert services.add_to_cart(cart=cart, variant_id=back.pk, quantity=4).quantity == 4


def test_sets_gift_cards_and_preorders_go_in_the_cart(cart, store):
    a, b = VariantFactory(store=store, stock=5), VariantFactory(store=store, stock=5)
    bundle = make_set(store=store, components=[(a, 1), (b, 2)])
    card = VariantFactory(
        product=GiftCardProductFactory(store=store), price=Decimal("100")
    )  # no stock at all
    pre = PreorderVariantFactory(store=store, preorder_limit=2)
    services.add_to_cart(cart=cart, variant_id=bundle.pk, quantity=2)
    services.add_to_cart(cart=cart, variant_id=card.pk, quantity=3)
    services.add_to_cart(cart=cart, variant_id=pre.pk, quantity=2)
    with pytest.raises(services.CartError):
        services.add_to_cart(cart=cart, variant_id=bundle.pk, quantity=1)  # b: 5 // 2 = 2 sets
    assert cart.lines.count() == 3


def test_every_change_touches_activity_and_publishes_cart_updated(cart, store):
    v = VariantFactory(store=store, stock=5)
    before = cart.last_activity_at
    line = services.add_to_cart(cart=cart, variant_id=v.pk)
    services.update_line(cart=cart, line_id=line.pk, quantity=2)
    services.update_line(cart=cart, line_id=line.pk, quantity=0)  # removes
    assert not CartLine.objects.exists()
    cart.refresh_from_db()
    assert cart.last_activity_at > before
    events = Event.objects.filter(type="cart_updated")
    assert events.count() == 3
    assert events.first().payload == {"cart_id": cart.pk, "store_id": store.pk}


def test_lines_of_another_cart_cannot_be_changed(cart, store):
    other = services.get_or_create_cart(store=store)
    v = VariantFactory(store=store, stock=5)
    line = services.add_to_cart(cart=other, variant_id=v.pk)
    with pytest.raises(services.CartError, match="not in your cart"):
        services.update_line(cart=cart, line_id=line.pk, quantity=3)
    with pytest.raises(services.CartError, match="not in your cart"):
        services.remove_line(cart=cart, line_id=line.pk)
    with pytest.raises(services.CartError):
        services.remove_line(cart=cart, line_id="abc")
    assert CartLine.objects.get(pk=line.pk).quantity == 1


def test_email_and_consent_are_saved_with_the_exact_text_and_version(cart):
    with pytest.raises(services.CartError, match="valid email"):
        services.save_checkout_email(cart=cart, email="not-an-email", marketing_consent=True)
    services.save_checkout_email(
        cart=cart, email="ola@example.com", marketing_consent=True, ip_address="10.0.0.1"
    )
    cart.refresh_from_db()
    assert cart.email == "ola@example.com" and cart.email_captured_at is not None
    assert cart.marketing_consent is True and cart.consent_version == CONSENT_VERSION
    assert "Sklep Testowy" in cart.consent_text and cart.consent_at is not None
    record = ConsentRecord.objects.get()
    assert (record.granted, record.version, record.ip_address, record.text) == (
        True,
        CONSENT_VERSION,
        "10.0.0.1",
        cart.consent_text,
    )
    # The same answer again records nothing new; a withdrawal is recorded.
    services.save_checkout_email(cart=cart, email="ola@example.com", marketing_consent=True)
    services.save_checkout_email(cart=cart, email="ola@example.com", marketing_consent=False)
    assert list(ConsentRecord.objects.order_by("pk").values_list("granted", flat=True)) == [True, False]


def test_cart_page_notices_price_changes_low_stock_and_unavailable(cart, store):
    changed = VariantFactory(store=store, stock=10, price=Decimal("10.00"))
    scarce = VariantFactory(store=store, stock=5)
    gone = VariantFactory(store=store, stock=5)
    for v in (changed, scarce, gone):
        services.add_to_cart(cart=cart, variant_id=v.pk, quantity=3)
    Variant.objects.filter(pk=changed.pk).update(price=Decimal("12.00"))
    StockReservationFactory(variant=scarce, quantity=4)
    Variant.objects.filter(pk=gone.pk).update(is_active=False)
    page = cart_page(cart)
    notices = {row.line.variant_id: " ".join(row.notices) for row in page.rows}
    assert "10,00\xa0zł to 12,00\xa0zł" in notices[changed.pk]
    assert "Only 1 left" in notices[scarce.pk]
    assert "No longer available" in notices[gone.pk]
    assert page.basket.subtotal == Decimal("36.00") + 2 * 3 * Decimal("99.00")


def test_login_adopts_or_merges_the_guest_cart(store):
    user = UserFactory()
    v, w = VariantFactory(store=store, stock=50), VariantFactory(store=store, stock=50)
    guest = services.get_or_create_cart(store=store)
    services.add_to_cart(cart=guest, variant_id=v.pk, quantity=2)
    adopted = services.cart_for_login(store=store, user=user, session_token=guest.token)
    assert adopted.pk == guest.pk and adopted.user == user and adopted.email == user.email

    second_guest = services.get_or_create_cart(store=store)
    services.add_to_cart(cart=second_guest, variant_id=v.pk, quantity=3)
    services.add_to_cart(cart=second_guest, variant_id=w.pk, quantity=1)
    merged = services.cart_for_login(store=store, user=user, session_token=second_guest.token)
    assert merged.pk == guest.pk
    assert dict(merged.lines.values_list("variant_id", "quantity")) == {v.pk: 5, w.pk: 1}
    second_guest.refresh_from_db()
    assert second_guest.status == Cart.Status.MERGED
    assert services.cart_for_login(store=store, user=user, session_token=None).pk == guest.pk
    assert services.find_cart(store=store, user=user).pk == guest.pk


def test_ordered_cart_cannot_change(cart, store):
    v = VariantFactory(store=store, stock=5)
    Cart.objects.filter(pk=cart.pk).update(status=Cart.Status.ORDERED)
    with pytest.raises(services.CartError, match="already been ordered"):
        services.add_to_cart(cart=cart, variant_id=v.pk)

"""Vouchers and gift cards: generated single-use codes, spending safely, periodic jobs."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from orders import services
from orders.apps import install_order_schedules
from orders.models import GiftCard, Voucher
from orders.services.codes import normalise_gift_card_code, spend_gift_card
from tests.catalog.factories import VariantFactory
from tests.orders.factories import GiftCardFactory, ready_cart

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]
D = Decimal


def test_single_use_vouchers_for_recovery(store):
    expires = timezone.now() + timedelta(days=3)
    voucher = services.create_single_use_voucher(
        store=store, kind="percentage", value=D("10"), expires_at=expires, prefix="wroc", source="recovery"
    )
    assert re.fullmatch(r"WROC-[A-HJ-NP-Z2-9]{10}", voucher.code)
    assert (voucher.usage_limit, voucher.is_single_use, voucher.valid_until, voucher.source) == (
        1,
        True,
        expires,
        "recovery",
    )
    other = services.create_single_use_voucher(store=store, kind="free_shipping", value=0, expires_at=None)
    assert other.code != voucher.code and re.fullmatch(r"[A-HJ-NP-Z2-9]{12}", other.code)
    with pytest.raises(ValueError):
        services.create_single_use_voucher(store=store, kind="bogus", value=1, expires_at=None)
    v = VariantFactory(store=store, stock=5, price=D("100"))
    first = ready_cart(store, [(v, 1)], email="one@example.com")
    services.apply_code(cart=first, code=voucher.code.lower(), client_keys=["k"])
    order = services.place_order(cart=type(first).objects.get(pk=first.pk))
    assert order.discount_total == D("10.00") and order.voucher_code == voucher.code
    second = ready_cart(store, [(v, 1)], email="two@example.com")
    with pytest.raises(services.CartError, match="already been used"):
        services.apply_code(cart=second, code=voucher.code, client_keys=["k"])
    Voucher.objects.filter(pk=voucher.pk).update(
        valid_from=timezone.now() - timedelta(days=1),
        valid_until=timezone.now() - timedelta(seconds=1),
        used_count=0,
    )
    with pytest.raises(services.CartError, match="expired"):
        services.apply_code(cart=second, code=voucher.code, client_keys=["k"])


def test_gift_card_codes_are_typed_loosely_and_spent_only_once(store):
    card = GiftCardFactory(store=store, code="ABCD2345EFGH6789", initial_balance=D("50"))
    assert normalise_gift_card_code("abcd-2345 efgh-6789") == card.code
    v = VariantFactory(store=store, stock=5, price=D("80"))
    cart = ready_cart(store, [(v, 1)])
    assert services.apply_code(cart=cart, code="abcd-2345-efgh-6789", client_keys=["k"]) == card
    order = services.place_order(cart=type(cart).objects.get(pk=cart.pk))
    card.refresh_from_db()
    assert card.balance == 0 and order.gift_card_total == D("50")
    # A second spender of the same money fails instead of driving the balance below zero.
    with pytest.raises(services.CartError, match="balance has changed"):
        spend_gift_card(card=card, amount=D("1"), order=order)
    GiftCard.objects.filter(pk=card.pk).update(is_active=False)
    with pytest.raises(services.CartError, match="no longer valid"):
        services.apply_code(
            cart=ready_cart(store, [(v, 1)], email="x@example.com"), code=card.code, client_keys=["k"]
        )


def test_partial_use_keeps_the_balance(store):
    card = GiftCardFactory(store=store, initial_balance=D("300"))
    v = VariantFactory(store=store, stock=5, price=D("100"))
    cart = ready_cart(store, [(v, 1)])
    services.apply_code(cart=cart, code=card.code, client_keys=["k"])
    services.place_order(cart=type(cart).objects.get(pk=cart.pk))
    card.refresh_from_db()
    assert card.balance == D("185.01")  # 100 + 14.99 shipping paid from the card
    assert list(card.transactions.values_list("kind", "amount", "balance_after")) == [
        ("redeem", D("-114.99"), D("185.01"))
    ]


def test_periodic_jobs_are_created_once_and_merchant_changes_are_kept(db):
    install_order_schedules()
    tasks = {t.task: t for t in PeriodicTask.objects.filter(task__startswith="orders.")}
    assert set(tasks) == {
        "orders.tasks.expire_unpaid_orders",
        "orders.tasks.resend_unsent_order_emails",
        "orders.tasks.sweep_refunds",
        "orders.carriers.tasks.follow_shipments",
        "orders.ksef.tasks.sweep_ksef",
    }
    job = tasks["orders.tasks.expire_unpaid_orders"]
    job.enabled = False
    job.save()
    install_order_schedules()
    job.refresh_from_db()
    assert job.enabled is False and PeriodicTask.objects.filter(task__startswith="orders.").count() == len(
        tasks
    )

"""Invoice numbering under concurrency on real PostgreSQL: many orders invoiced at once get
consecutive numbers with no gaps and no duplicates, and the same order invoiced from several
threads at once gets exactly one invoice."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from orders import invoices
from orders.models import Invoice, InvoiceCounter, Order
from tests.catalog.factories import VariantFactory
from tests.orders.factories_after_sales import make_order, use_isolated_cache

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


@pytest.fixture(autouse=True)
def _own_cache(settings):
    use_isolated_cache(settings)


THREADS = 12


def _race(target, args_list):
    barrier = threading.Barrier(len(args_list))
    errors: list[BaseException] = []

    def run(*args):
        try:
            barrier.wait(timeout=30)
            target(*args)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=args) for args in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_parallel_invoices_are_numbered_without_gaps(store):
    variant = VariantFactory(store=store, price=Decimal("10.00"), stock=100)
    orders = [make_order(store=store, lines=[(variant, 1)], status=Order.Status.PAID) for _ in range(THREADS)]
    errors = _race(lambda order: invoices.issue_invoice(order=order, render="never"), [(o,) for o in orders])
    assert errors == []
    sequences = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, THREADS + 1))
    assert len(set(Invoice.objects.values_list("number", flat=True))) == THREADS
    assert InvoiceCounter.objects.get().last_number == THREADS


def test_same_order_from_many_threads_gets_one_invoice(store):
    variant = VariantFactory(store=store, price=Decimal("10.00"), stock=10)
    order = make_order(store=store, lines=[(variant, 1)], status=Order.Status.PAID)
    errors = _race(lambda: invoices.issue_invoice(order=order, render="never"), [() for _ in range(THREADS)])
    assert errors == []
    assert Invoice.objects.filter(order=order).count() == 1
    assert InvoiceCounter.objects.get().last_number == 1

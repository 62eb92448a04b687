"""The sending service: idempotent creation, constant query cost, the periodic sweep and its
schedule, and events that name nothing known."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django_celery_beat.models import PeriodicTask

from integrations.accounting import services
from integrations.accounting.models import ExternalDocument
from orders import returns
from shop import events

from .factories import ExternalDocumentFactory, fakturownia_config, goods, paid_order

pytestmark = pytest.mark.django_db


def test_database_refuses_a_second_document_per_connector_order_kind_and_return(store):
    config = fakturownia_config(store)
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(store, [(item, 1)])
    ExternalDocumentFactory(config=config, order=order)
    with pytest.raises(IntegrityError), transaction.atomic():
        ExternalDocumentFactory(config=config, order=order)
    with pytest.raises(IntegrityError), transaction.atomic():
        ExternalDocumentFactory(config=config, order=order, kind="correction")  # a correction needs a return


def test_return_accepted_delivered_twice_makes_one_correction(store, fakturownia, pay, accept, deliver):
    fakturownia_config(store, fakturownia)
    (item,) = goods(store, ("50.00", "23"))
    order = paid_order(store, [(item, 2)], status="delivered")
    pay(order)
    ret = returns.request_return(order=order, items={order.lines.get().pk: 1}, reason="damaged")
    accept(ret)
    deliver(returns.RETURN_ACCEPTED, {"return_id": ret.pk, "order_id": order.pk}, store)
    assert ExternalDocument.objects.filter(kind="correction").count() == 1
    corrections = [i for i in fakturownia.invoices.values() if i["kind"] == "correction"]
    assert len(corrections) == 1 and corrections[0]["correction_reason"] == "arrived damaged"


@pytest.mark.parametrize("payload", [{}, {"order_id": "abc"}, {"order_id": 987654321}, {"return_id": 5}])
def test_events_naming_nothing_known_are_ignored(store, payload):
    fakturownia_config(store)
    event = events.publish(type="order.paid", payload=payload, store=store)
    services.handle_order_paid(event)
    services.handle_return_accepted(event)
    assert not ExternalDocument.objects.exists()


def test_sending_costs_the_same_queries_for_1_or_30_lines(
    store, fakturownia, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    fakturownia_config(store, fakturownia)
    items = goods(store, *[("10.00", "23")] * 30)
    small = paid_order(store, [(items[0], 1)])
    large = paid_order(store, [(item, 2) for item in items])
    services.create_documents(order_id=small.pk, kinds=("invoice",))
    services.create_documents(order_id=large.pk, kinds=("invoice",))
    first, second = (ExternalDocument.objects.get(order=o).pk for o in (small, large))
    with django_assert_max_num_queries(20) as one:
        services.send_document(document_id=first)
    with django_assert_max_num_queries(len(one.captured_queries)):
        services.send_document(document_id=second)
    assert set(ExternalDocument.objects.values_list("status", flat=True)) == {"sent"}
    (big,) = [i for i in fakturownia.invoices.values() if i["oid"] == large.number]
    assert len(big["positions"]) == 31


def test_sweep_sends_only_what_is_due(store, fakturownia, settings):
    from datetime import timedelta

    from django.utils import timezone

    from integrations.accounting.tasks import sweep_documents

    config = fakturownia_config(store, fakturownia)
    (item,) = goods(store, ("10.00", "23"))
    due = ExternalDocumentFactory(
        config=config, order=paid_order(store, [(item, 1)]), next_attempt_at=timezone.now()
    )
    later = ExternalDocumentFactory(
        config=config,
        order=paid_order(store, [(item, 1)]),
        next_attempt_at=timezone.now() + timedelta(hours=1),
    )
    assert sweep_documents() == 1
    due.refresh_from_db()
    later.refresh_from_db()
    assert due.status == "sent" and later.status == "pending" and later.attempts == 0
    assert sweep_documents() == 0  # a sent document is never sent again


def test_backoff_grows_and_is_capped(settings):
    settings.ACCOUNTING_RETRY_BASE_SECONDS = 60
    settings.ACCOUNTING_RETRY_MAX_SECONDS = 600
    assert [services.retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [60, 120, 240, 480, 600]


def test_the_sweep_is_a_periodic_task_the_merchant_can_see():
    task = PeriodicTask.objects.get(name="Send accounting and POS documents")
    assert task.task == "integrations.accounting.sweep_documents" and task.enabled


def test_sending_twice_at_once_sends_once(store, fakturownia):
    config = fakturownia_config(store, fakturownia)
    (item,) = goods(store, ("10.00", "23"))
    document = ExternalDocumentFactory(config=config, order=paid_order(store, [(item, 1)]))
    services.send_document(document_id=document.pk)
    services.send_document(document_id=document.pk)
    assert len(fakturownia.creates()) == 1


def test_messages_and_labels_are_translated_to_polish():
    from django.utils import translation

    from integrations.accounting.fakturownia import FakturowniaConnector
    from integrations.accounting.sink import InvoiceMode

    with translation.override("pl"):
        assert str(FakturowniaConnector.label) == "Fakturownia (faktury)"
        assert str(dict(InvoiceMode.CHOICES)[InvoiceMode.INSTEAD]) == "zamiast własnej faktury PDF sklepu"
        assert str(ExternalDocument._meta.verbose_name_plural) == "dokumenty zewnętrzne"

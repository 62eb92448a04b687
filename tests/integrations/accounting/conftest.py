"""Fixtures: the fake partners, fast retries, events delivered like the outbox does."""

from __future__ import annotations

import pytest

from shop import events


@pytest.fixture(autouse=True)
def _accounting_settings(settings, tmp_path, fast_http):
    settings.ACCOUNTING_RETRY_BASE_SECONDS = 0
    settings.ACCOUNTING_MAX_ATTEMPTS = 4
    settings.ACCOUNTING_POS_DROP_ROOT = tmp_path / "pos-drop"
    return settings


@pytest.fixture
def fakturownia():
    from tests.fakes.fakturownia import FakeFakturownia

    with FakeFakturownia() as fake:
        yield fake


@pytest.fixture
def ifirma():
    from tests.fakes.ifirma import FakeIFirma

    with FakeIFirma() as fake:
        yield fake


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Publish an event like the shop does and deliver it, running the after-commit sends."""

    def publish(event_type: str, payload: dict, store):
        with django_capture_on_commit_callbacks(execute=True):
            event = events.publish(type=event_type, payload=payload, store=store)
        with django_capture_on_commit_callbacks(execute=True):
            events.deliver(event.pk)
        return event

    return publish


@pytest.fixture
def pay(deliver):
    def paid(order):
        return deliver(
            "order.paid",
            {"order_id": order.pk, "number": order.number, "store_id": order.store_id},
            order.store,
        )

    return paid


@pytest.fixture
def accept(django_capture_on_commit_callbacks):
    """Accept a return like the merchant does, running its after-commit work (the event's
    delivery, the correction's send)."""
    from orders import returns

    def accept_return(ret):
        with django_capture_on_commit_callbacks(execute=True):
            return returns.accept_return(return_request=ret)

    return accept_return

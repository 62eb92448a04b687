"""Webhooks end to end against a real HTTP receiver: domain events -> signed deliveries,
retries with backoff for 24 h, giving up, disabling a failing subscriber and telling the
merchant, the delivery log and the admin's resend."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.utils import timezone

from catalog import stock
from shop import crypto, events
from shop.api.models import WebhookDelivery, WebhookSubscription
from shop.api.webhook_verify import verify_signature
from shop.api.webhooks import services, tasks
from tests.catalog.factories import main_warehouse

pytestmark = pytest.mark.django_db(transaction=False)


class Receiver:
    """A tiny webhook receiver on 127.0.0.1 that records requests and answers ``status``."""

    def __init__(self):
        self.requests: list[tuple[dict, bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok" if receiver.status < 300 else b"nope")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_event_to_signed_delivery(store, receiver, django_capture_on_commit_callbacks):
    sub, secret = services.create_subscription(store=store, url=receiver.url, events=["order.paid"])
    assert (
        secret not in sub.secret_encrypted
        and crypto.decrypt(sub.secret_encrypted, purpose="webhooks") == secret
    )
    with django_capture_on_commit_callbacks(execute=True):
        event = events.publish(type="order.paid", payload={"order_id": 7, "number": "KS-1"}, store=store)
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    verify_signature(body, headers["Koszyk-Signature"], secret)
    payload = json.loads(body)
    assert payload["id"] == f"evt_{event.pk}"
    assert payload["type"] == "order.paid"
    assert payload["data"] == {"order_id": 7, "number": "KS-1"}
    assert headers["Koszyk-Event-Id"] == payload["id"]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 1, 200)
    # The outbox delivering the same event again creates no second delivery.
    services.enqueue(store=store, event_type="order.paid", event_id=payload["id"], data={})
    assert WebhookDelivery.objects.count() == 1


def test_only_subscribed_events_of_own_store(
    store, other_store, receiver, django_capture_on_commit_callbacks
):
    services.create_subscription(store=store, url=receiver.url, events=["order.created"])
    services.create_subscription(store=other_store, url=receiver.url, events=["order.paid"])
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(type="order.paid", payload={"order_id": 1}, store=store)
    assert receiver.requests == []


def test_stock_out_and_low(store, variant, receiver, django_capture_on_commit_callbacks):
    services.create_subscription(store=store, url=receiver.url, events=["stock.out", "stock.low"])
    warehouse = main_warehouse(store)
    with django_capture_on_commit_callbacks(execute=True):
        stock.adjust_stock(variant=variant, warehouse=warehouse, set_to=2)
    with django_capture_on_commit_callbacks(execute=True):
        stock.adjust_stock(variant=variant, warehouse=warehouse, set_to=0)
    with django_capture_on_commit_callbacks(execute=True):
        stock.adjust_stock(variant=variant, warehouse=warehouse, set_to=50)
    types = [json.loads(body)["type"] for _, body in receiver.requests]
    assert types == ["stock.low", "stock.out"]
    data = json.loads(receiver.requests[1][1])["data"]
    assert data["sku"] == variant.sku and data["available"] == 0


def test_retries_with_backoff_then_gives_up_after_24h(store, receiver, settings):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 1000
    receiver.status = 500
    services.create_subscription(store=store, url=receiver.url, events=["order.paid"])
    [delivery] = services.enqueue(store=store, event_type="order.paid", event_id="evt_x", data={})
    assert services.send(delivery.pk) == "pending"
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.response_code == 500 and delivery.last_error == "HTTP 500"
    first_gap = delivery.next_attempt_at - timezone.now()
    assert timedelta(seconds=50) < first_gap <= timedelta(seconds=60)
    assert tasks.deliver_due_webhooks() == 0  # not due yet
    delays = []
    for _ in range(40):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        before = timezone.now()
        status = services.send(delivery.pk)
        delivery.refresh_from_db()
        if status == "failed":
            break
        delays.append(delivery.next_attempt_at - before)
        # Pretend the time passed: the event is that much older.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=delivery.created_at - delays[-1])
    assert delivery.status == "failed" and delivery.next_attempt_at is None
    assert delays[1] > delays[0] and max(delays) <= timedelta(seconds=settings.WEBHOOK_RETRY_MAX_SECONDS + 5)
    assert sum(delays, timedelta()) >= timedelta(hours=20)
    assert timezone.now() - delivery.created_at >= timedelta(hours=22)


def test_failing_subscriber_is_disabled_and_merchant_told(store, receiver, settings):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    settings.WEBHOOK_DISABLE_AFTER_HOURS = 0
    store.support_email = "wsparcie@example.pl"
    store.save()
    receiver.status = 410
    sub, _ = services.create_subscription(store=store, url=receiver.url, events=["order.paid"])
    for i in range(4):
        for d in services.enqueue(store=store, event_type="order.paid", event_id=f"evt_{i}", data={}):
            services.send(d.pk)
    sub.refresh_from_db()
    assert not sub.active and sub.disabled_at and sub.failure_count == 3
    assert len(receiver.requests) == 3  # the fourth event found no active subscription
    assert mail.outbox[-1].to == ["wsparcie@example.pl"]
    assert receiver.url in mail.outbox[-1].body
    assert not WebhookDelivery.objects.filter(status="pending").exists()
    services.enable(subscription=sub)
    receiver.status = 200
    failed = WebhookDelivery.objects.filter(event_id="evt_0").get()
    services.resend(delivery=failed)
    assert services.send(failed.pk) == "succeeded"
    sub.refresh_from_db()
    assert sub.failure_count == 0


def test_refuses_private_addresses_unless_allowed(store, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 1000
    services.create_subscription(store=store, url=receiver.url, events=["order.paid"])
    [d] = services.enqueue(store=store, event_type="order.paid", event_id="evt_p", data={})
    services.send(d.pk)
    d.refresh_from_db()
    assert "not a public address" in d.last_error
    assert receiver.requests == []


def test_subscription_validation(store, settings):
    from django.core.exceptions import ValidationError

    settings.WEBHOOK_ALLOW_HTTP = False
    with pytest.raises(ValidationError):
        services.create_subscription(store=store, url="http://example.com/h", events=["order.paid"])
    with pytest.raises(ValidationError):
        services.create_subscription(store=store, url="https://example.com/h", events=["order.exploded"])
    with pytest.raises(ValidationError):
        services.create_subscription(store=store, url="ftp://example.com/h", events=["order.paid"])


def test_admin_shows_secret_once_and_resends(
    admin_client, store, receiver, django_capture_on_commit_callbacks
):
    r = admin_client.post(
        "/admin/api/webhooksubscription/add/",
        {
            "store": store.pk,
            "url": receiver.url,
            "description": "ERP",
            "events": ["order.paid"],
            "active": "on",
        },
        follow=True,
    )
    assert r.status_code == 200
    sub = WebhookSubscription.objects.get()
    secret = crypto.decrypt(sub.secret_encrypted, purpose="webhooks")
    assert secret in r.content.decode()
    assert secret not in admin_client.get(f"/admin/api/webhooksubscription/{sub.pk}/change/").content.decode()
    [d] = services.enqueue(store=store, event_type="order.paid", event_id="evt_a", data={})
    services.send(d.pk)
    with django_capture_on_commit_callbacks(execute=True):
        r = admin_client.post(
            "/admin/api/webhookdelivery/", {"action": "resend", "_selected_action": [d.pk]}, follow=True
        )
    assert r.status_code == 200
    assert len(receiver.requests) == 2  # the resend went out (Celery eager, after commit)
    assert admin_client.get("/admin/api/webhookdelivery/").status_code == 200


def test_admin_creates_api_key_shown_once(admin_client, store):
    from shop.api.models import ApiKey

    r = admin_client.post(
        "/admin/api/apikey/add/", {"store": store.pk, "name": "ERP", "scopes": ["orders:read"]}, follow=True
    )
    assert r.status_code == 200
    key = ApiKey.objects.get()
    text = r.content.decode()
    start = text.index(f"ksk_{key.prefix}_")
    raw = text[start : text.index("<", start)]
    from shop.api.keys import authenticate_api_key

    assert authenticate_api_key(raw) == key
    assert raw not in admin_client.get(f"/admin/api/apikey/{key.pk}/change/").content.decode()


# --- Every event offered in the admin is delivered: product.updated, cart.abandoned, cart.recovered


def received(receiver, secret):
    """The receiver's deliveries, each verified with the subscription's secret."""
    out = []
    for headers, body in receiver.requests:
        verify_signature(body, headers["Koszyk-Signature"], secret)
        payload = json.loads(body)
        assert headers["Koszyk-Event"] == payload["type"]
        out.append(payload)
    return out


def test_product_updated_is_delivered_for_product_variant_and_price_changes(
    store, variant, receiver, django_capture_on_commit_callbacks
):
    from decimal import Decimal

    from catalog import services as catalog

    product, price_before = variant.product, str(variant.price)
    _sub, secret = services.create_subscription(store=store, url=receiver.url, events=["product.updated"])
    with django_capture_on_commit_callbacks(execute=True):
        product.name = "Kubek w kropki"
        catalog.save_product(product=product)
    with django_capture_on_commit_callbacks(execute=True):
        catalog.change_price(variant=variant, price=Decimal("19.90"))
    with django_capture_on_commit_callbacks(execute=True):
        catalog.set_published(products=[product], published=False)
    payloads = received(receiver, secret)
    assert [p["type"] for p in payloads] == ["product.updated"] * 3
    assert payloads[0]["data"] == {
        "product_id": product.pk,
        "slug": product.slug,
        "name": "Kubek w kropki",
        "is_published": True,
        "min_price": price_before,
    }
    assert payloads[1]["data"]["min_price"] == "19.90"
    assert payloads[2]["data"]["is_published"] is False
    assert payloads[0]["store"] == {"id": store.pk, "domain": store.domain}


def test_high_volume_events_cost_nothing_without_a_subscriber(store, variant, settings):
    """No outbox rows for product.updated or cart.abandoned in a store nobody subscribed in."""
    from catalog import services as catalog
    from recovery import services as recovery
    from shop.models import Event
    from tests.recovery.factories import make_cart

    services.create_subscription(store=store, url="http://127.0.0.1:9/h", events=["order.paid"])
    catalog.save_product(product=variant.product)
    make_cart(store)
    assert recovery.detect_abandoned().abandoned == 1
    assert not Event.objects.filter(type__in=["product.updated", "cart.abandoned"]).exists()


def test_cart_abandoned_is_delivered_once_per_abandonment(
    store, receiver, settings, django_capture_on_commit_callbacks
):
    from recovery import services as recovery
    from recovery.models import TrackedCart
    from tests.recovery.factories import make_cart, make_variant

    settings.RECOVERY_IDLE_MINUTES = 30
    _sub, secret = services.create_subscription(store=store, url=receiver.url, events=["cart.abandoned"])
    variant = make_variant(store, price="60.00")
    cart = make_cart(store, variants=[variant], quantity=2, email="anna@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.detect_abandoned().abandoned == 1
    with django_capture_on_commit_callbacks(execute=True):
        recovery.detect_abandoned()  # a second scan: nothing new
    [payload] = received(receiver, secret)
    tracked = TrackedCart.objects.get(cart=cart)
    assert payload["type"] == "cart.abandoned"
    assert payload["data"] == {
        "cart_id": cart.pk,
        "tracked_cart_id": tracked.pk,
        "email": "anna@example.com",
        "abandoned_at": tracked.abandoned_at.isoformat(),
        "value": "120.00",
        "currency": store.currency,
        "lines": [{"variant_id": variant.pk, "quantity": 2, "price": "60.00"}],
        "campaign_id": tracked.campaign_id,
        "reachable": True,
        "holdout": tracked.is_holdout,
    }


def test_cart_recovered_is_delivered_when_an_order_is_attributed(
    store, receiver, django_capture_on_commit_callbacks
):
    from recovery import services as recovery
    from recovery.models import Restore, TrackedCart
    from tests.recovery.factories import make_cart, make_order

    _sub, secret = services.create_subscription(store=store, url=receiver.url, events=["cart.recovered"])
    cart = make_cart(store)
    recovery.detect_abandoned()
    tracked = TrackedCart.objects.get(cart=cart)
    restored = make_cart(store, email="", consent=False, idle_minutes=0)
    Restore.objects.create(tracked=tracked, cart=restored)
    order = make_order(store, email="anna@example.com", cart=restored, total="150.00")
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(type="order.created", payload={"order_id": order.pk}, store=store)
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(type="order.paid", payload={"order_id": order.pk}, store=store)  # no second
    [payload] = received(receiver, secret)
    assert payload["type"] == "cart.recovered"
    assert payload["data"] == {
        "cart_id": cart.pk,
        "tracked_cart_id": tracked.pk,
        "email": "anna@example.com",
        "order_id": order.pk,
        "number": order.number,
        "via": "via_link",
        "revenue": "150.00",
        "currency": order.currency,
    }

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from recovery.channels import OutgoingMessage, PermanentError, TransientError, sms_configuration_problem
from recovery.channels.sms import ConsoleProvider, SmsapiProvider, SmsChannel
from shop.phones import sms_digits
from tests.fakes.smsapi import FakeSmsapi


@pytest.fixture
def smsapi():
    with FakeSmsapi(token="tok") as fake:
        yield fake


def provider(fake, token="tok"):
    return SmsapiProvider(base_url=fake.url, token=token, sender="Sklep", timeout=2)


def test_smsapi_success_returns_the_message_id(smsapi):
    message_id = provider(smsapi).send(to="48600100200", text="Twój koszyk czeka", idx="koszyk-r1")
    assert message_id == smsapi.messages[0]["id"]
    sent = smsapi.messages[0]
    assert sent["to"] == "48600100200" and sent["from"] == "Sklep" and sent["check_idx"] == "1"
    assert sent["format"] == "json" and sent["idx"] == "koszyk-r1"


def test_smsapi_outage_is_transient_and_bad_number_permanent(smsapi):
    smsapi.fail_next = 1
    with pytest.raises(TransientError):
        provider(smsapi).send(to="48600100200", text="x", idx="a")
    with pytest.raises(PermanentError):
        provider(smsapi).send(to="123", text="x", idx="b")
    with pytest.raises(TransientError):  # wrong token: fixable, retried with backoff
        provider(smsapi, token="wrong").send(to="48600100200", text="x", idx="c")


def test_smsapi_lost_answer_then_resubmission_sends_exactly_one(smsapi):
    smsapi.drop_after_accept = 1
    with pytest.raises(TransientError):
        provider(smsapi).send(to="48600100200", text="x", idx="koszyk-r7")
    # The retry carries the same idx: the provider confirms instead of sending a second SMS.
    assert provider(smsapi).send(to="48600100200", text="x", idx="koszyk-r7") == "idx:koszyk-r7"
    assert len(smsapi.messages) == 1


def test_sms_configuration_problems(settings):
    settings.RECOVERY_SMS_PROVIDER = ""
    assert "No SMS provider" in sms_configuration_problem()
    settings.RECOVERY_SMS_PROVIDER = "smsapi"
    settings.SMSAPI_TOKEN = ""
    assert "SMSAPI_TOKEN" in sms_configuration_problem()
    settings.SMSAPI_TOKEN = "x"
    assert sms_configuration_problem() is None
    settings.RECOVERY_SMS_PROVIDER = "carrier-pigeon"
    assert "Unknown" in sms_configuration_problem()
    with pytest.raises(PermanentError):
        SmsChannel().send(OutgoingMessage(to="600100200", subject="", text="x", idempotency_key="k"))


def test_console_provider_and_phone_normalisation(caplog):
    assert ConsoleProvider().send(to="48600100200", text="hej", idx="k1") == "console-k1"
    assert sms_digits("600 100 200") == "48600100200"
    assert sms_digits("+48 600-100-200") == "48600100200"
    assert sms_digits("0048600100200") == "48600100200"


def test_sms_step_through_the_whole_send(store, settings, smsapi):
    from datetime import timedelta

    from django.utils import timezone

    from orders.models import ConsentRecord
    from recovery import services
    from recovery.models import Step, TrackedCart
    from tests.recovery.factories import make_cart
    from tests.recovery.helpers import run_due

    settings.RECOVERY_SMS_PROVIDER = "smsapi"
    settings.SMSAPI_URL, settings.SMSAPI_TOKEN = smsapi.url, "tok"
    services.ensure_default_campaign(store=store)
    Step.objects.filter(position=1).update(channel="sms")
    cart = make_cart(store)
    cart.checkout = {"phone": "600 100 200"}
    cart.save(update_fields=["checkout"])
    # An SMS goes only on the shopper's SMS consent (the e-mail consent make_cart records is not one).
    ConsentRecord.objects.create(
        store=store, email=cart.email, channel="sms", granted=True, text="SMS tak", version="1", cart=cart
    )
    services.detect_abandoned()
    assert run_due(timezone.now() + timedelta(hours=1)) == ["sent"]
    assert smsapi.messages[0]["to"] == "48600100200"
    assert "/r/restore/" in smsapi.messages[0]["message"] and "/r/u/" in smsapi.messages[0]["message"]
    reminder = TrackedCart.objects.get(cart=cart).reminders.get(step__position=1)
    assert reminder.provider_message_id == smsapi.messages[0]["id"]


class _PushService:
    def __init__(self, status):
        self.status = status
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(outer.status)
                self.send_header("Location", "https://push.example/m/1")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/push/abc"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _keys():
    import base64
    import os

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    browser = ec.generate_private_key(ec.SECP256R1())
    p256dh = browser.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    server = ec.generate_private_key(ec.SECP256R1())
    private = server.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = server.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64(p256dh), b64(os.urandom(16)), b64(private), b64(public)


@pytest.mark.parametrize("status,outcome", [(201, "ok"), (410, "gone"), (503, "retry")])
def test_web_push_with_vapid(store, settings, status, outcome):
    from recovery.channels.push import PushChannel
    from recovery.models import PushSubscription

    p256dh, auth, private, public = _keys()
    settings.VAPID_PRIVATE_KEY, settings.VAPID_PUBLIC_KEY = private, public
    service = _PushService(status)
    try:
        sub = PushSubscription.objects.create(store=store, endpoint=service.url, p256dh=p256dh, auth=auth)
        message = OutgoingMessage(
            to=sub.endpoint,
            subject="Koszyk",
            text="Wróć",
            url="https://x/r/",
            extra={"subscription_id": sub.pk},
        )
        if outcome == "ok":
            assert PushChannel().send(message) == "https://push.example/m/1"
            headers, body = service.requests[0]
            assert (
                headers["authorization"].startswith("vapid ") and headers["content-encoding"] == "aes128gcm"
            )
            assert body and b"Wr" not in body  # encrypted payload
        elif outcome == "gone":
            with pytest.raises(PermanentError):
                PushChannel().send(message)
            assert not PushSubscription.objects.filter(pk=sub.pk).exists()
        else:
            with pytest.raises(TransientError):
                PushChannel().send(message)
    finally:
        service.close()

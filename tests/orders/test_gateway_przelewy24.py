"""Przelewy24 REST v1 against the fake P24 server: sign vectors, register/redirect, notification
+ verify, BLIK by code, refunds with their notifications, test connection, and every fault."""

from __future__ import annotations

import hashlib
import json
import logging
from decimal import Decimal

import pytest
from django.urls import reverse

from orders import services
from orders.models import Order, Payment, PaymentNotification, PaymentRefund
from orders.payments import get_provider
from orders.payments.base import PaymentGatewayError
from orders.payments.przelewy24 import NOTIFICATION_FIELDS, sign, sign_of
from orders.payments.refunds import RefundRefused, refund_order, refund_payment
from tests.fakes.http_server import FakeResponse
from tests.fakes.przelewy24 import FakePrzelewy24, django_deliver
from tests.orders.gateway_checkout import gateway_account, isolate_cache, place_online_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]
WEBHOOK = "/platnosc/webhook/przelewy24/"


# --- sign: known-good vectors from the documented algorithm -------------------------------------


def test_register_sign_matches_the_documented_formula_and_a_fixed_vector():
    fields = {"sessionId": "P0001", "merchantId": 111111, "amount": 12300, "currency": "PLN"}
    documented = '{"sessionId":"P0001","merchantId":111111,"amount":12300,"currency":"PLN","crc":"crc-key"}'
    assert sign(fields, "crc-key") == hashlib.sha384(documented.encode()).hexdigest()
    # computed once by hand: printf '%s' '<documented>' | sha384sum
    assert sign(fields, "crc-key") == (
        "6e1de0b315179e7356129d38cfca4e56a51ef34fcf3894846b1e17c1775c8b283761e5b4e996977db7d53b392d4c5d00"
    )


def test_notification_sign_covers_the_documented_fields_in_order_with_unicode_unescaped():
    data = {
        "merchantId": 111111,
        "posId": 111111,
        "sessionId": "Zamówienie-ź",
        "amount": 12300,
        "originAmount": 12300,
        "currency": "PLN",
        "orderId": 300000001,
        "methodId": 154,
        "statement": "p24-300000001",
    }
    text = (
        '{"merchantId":111111,"posId":111111,"sessionId":"Zamówienie-ź","amount":12300,'
        '"originAmount":12300,"currency":"PLN","orderId":300000001,"methodId":154,'
        '"statement":"p24-300000001","crc":"crc-key"}'
    )
    expected = hashlib.sha384(text.encode("utf-8")).hexdigest()
    assert sign_of(data, NOTIFICATION_FIELDS, "crc-key") == expected
    reordered = dict(reversed(list(data.items())))
    assert sign_of(reordered, NOTIFICATION_FIELDS, "crc-key") == expected  # order comes from the doc
    assert sign_of({**data, "amount": 12301}, NOTIFICATION_FIELDS, "crc-key") != expected
    assert sign_of(data, NOTIFICATION_FIELDS, "other-crc") != expected
    escaped = hashlib.sha384(
        json.dumps({**data, "crc": "crc-key"}, separators=(",", ":")).encode()
    ).hexdigest()
    assert expected != escaped  # ensure_ascii=True would be wrong


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def p24(settings):
    isolate_cache(settings)
    with FakePrzelewy24() as fake:
        settings.PRZELEWY24_SANDBOX_URL = fake.url
        settings.PRZELEWY24_URL = "http://127.0.0.1:9"  # production must not be called in sandbox mode
        yield fake


@pytest.fixture
def account(store, p24):
    return gateway_account(
        store,
        "przelewy24",
        config={"merchant_id": p24.merchant_id, "pos_id": p24.pos_id},
        secrets={"api_key": p24.api_key, "crc": p24.crc},
    )


@pytest.fixture
def started(store, account, p24):
    order, payment = place_online_order(store, "przelewy24")
    start = services.start_payment(order=order, payment=payment)
    payment.refresh_from_db()
    return order, payment, start, p24.token_for(payment.reference)


@pytest.fixture
def deliver(client):
    return django_deliver(client)


def paid(order, payment):
    order.refresh_from_db()
    payment.refresh_from_db()
    return order.status == Order.Status.PAID and payment.status == Payment.Status.PAID


# --- happy path ---------------------------------------------------------------------------------


def test_shopper_pays_end_to_end_and_the_order_is_paid_exactly_once(started, p24, deliver, client):
    order, payment, start, token = started
    assert start.redirect_url == f"{p24.url}/trnRequest/{token}"
    register = json.loads(p24.calls("/transaction/register")[0].body)
    assert register["sessionId"] == payment.reference and register["amount"] == 13799
    assert payment.amount == Decimal("137.99")  # 2 x 61.50 + 14.99 shipping
    assert register["urlStatus"].endswith(WEBHOOK) and "/platnosc/powrot/" in register["urlReturn"]
    assert not paid(order, payment)  # the browser's return changes nothing
    assert client.get(f"/platnosc/powrot/{payment.reference}/").status_code == 302
    assert not paid(order, payment)

    p24.pay(token)
    status, body = p24.notify(token, deliver)
    assert status == 200 and json.loads(body) == {"ok": True, "changed": True}
    assert paid(order, payment) and payment.gateway_reference == str(p24.transactions[token].order_id)
    assert p24.transactions[token].verified and len(p24.calls("/transaction/verify")) == 1

    status, body = p24.notify(token, deliver)  # P24 retries: answered 200, nothing changes
    assert status == 200 and json.loads(body)["changed"] is False
    assert order.status_changes.filter(to_status=Order.Status.PAID).count() == 1
    assert len(p24.calls("/transaction/verify")) == 1


def test_start_twice_registers_once(started, p24):
    _order, payment, start, _token = started
    again = get_provider("przelewy24").start(payment)
    assert again.redirect_url == start.redirect_url and len(p24.calls("/transaction/register")) == 1


# --- forged, tampered, mismatched -----------------------------------------------------------------


def test_tampered_notification_is_rejected_and_logged(started, p24, deliver, caplog):
    order, payment, _, token = started
    p24.pay(token)
    with caplog.at_level(logging.WARNING, logger="orders.payments"):
        status, body = p24.notify(token, deliver, statement="hacked")
    assert status == 403 and json.loads(body) == {"error": "invalid signature"}
    assert "invalid signature" in caplog.text
    assert not paid(order, payment) and not p24.calls("/transaction/verify")
    assert PaymentNotification.objects.filter(provider="przelewy24", outcome="invalid signature").exists()


def test_a_notification_signed_with_another_crc_is_forged(started, p24, deliver):
    order, payment, _, token = started
    p24.pay(token)
    p24.crc = "attacker-guess"
    status, _ = p24.notify(token, deliver)
    assert status == 403 and not paid(order, payment)


def test_amount_mismatch_is_logged_and_not_paid(started, p24, deliver, caplog):
    order, payment, _, token = started
    p24.pay(token)
    with caplog.at_level(logging.WARNING, logger="orders.payments"):
        status, body = p24.notify(token, deliver, amount=100, originAmount=100, resign=True)
    assert status == 400 and "amount" in json.loads(body)["error"]
    assert "amount mismatch" in caplog.text and not paid(order, payment)
    assert not p24.calls("/transaction/verify")


def test_another_merchants_notification_is_rejected(started, p24, deliver):
    order, payment, _, token = started
    p24.pay(token)
    status, _ = p24.notify(token, deliver, merchantId=222222, resign=True)
    assert status == 400 and not paid(order, payment)


def test_unknown_session_gets_404_json(started, p24, deliver, client):
    _, _, _, token = started
    body = p24.notification(token, sessionId="PNOSUCHPAYMENT", resign=True)
    response = client.post(WEBHOOK, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 404 and response.json() == {"error": "unknown payment"}


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"sessionId": "x"}'])
def test_malformed_notifications_are_400(store, client, raw):
    response = client.post(WEBHOOK, data=raw, content_type="application/json")
    assert response.status_code == 400 and response.json() == {"error": "malformed body"}


def test_a_notification_for_an_unpaid_transaction_fails_verification_and_changes_nothing(
    started, p24, deliver
):
    order, payment, _, token = started  # the shopper never paid: P24's verify refuses
    status, _ = p24.notify(token, deliver)
    assert status in (400, 502) and not paid(order, payment)


def test_verify_outage_answers_5xx_so_p24_retries_then_the_retry_pays(started, p24, deliver):
    order, payment, _, token = started
    p24.pay(token)
    p24.verify_answer = FakeResponse(503, b"busy")
    status, _ = p24.notify(token, deliver)
    assert status == 502 and not paid(order, payment)
    p24.verify_answer = None
    status, _ = p24.notify(token, deliver)
    assert status == 200 and paid(order, payment)


def test_replayed_notification_after_payment_changes_nothing(started, p24, deliver):
    order, _payment, _, token = started
    p24.pay(token)
    body = json.dumps(p24.notification(token)).encode()
    url = p24.transactions[token].body["urlStatus"]
    assert deliver(url, body, {"Content-Type": "application/json"})[0] == 200
    assert deliver(url, body, {"Content-Type": "application/json"})[0] == 200
    assert order.status_changes.filter(to_status=Order.Status.PAID).count() == 1


# --- register faults ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        FakeResponse(500, b"oops"),
        FakeResponse(503, b'{"error":"down","code":503}'),
        FakeResponse(200, b"{}", delay=1.5),
    ],
)
def test_gateway_down_or_slow_on_register_gives_a_clear_error_and_the_order_waits(
    store, account, p24, settings, answer
):
    settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS = 0.5
    order, payment = place_online_order(store, "przelewy24")
    p24.fail_with = answer
    with pytest.raises(PaymentGatewayError) as caught:
        services.start_payment(order=order, payment=payment)
    assert "try again" in caught.value.message
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT and payment.status == Payment.Status.PENDING
    p24.fail_with = None
    assert services.start_payment(order=order, payment=payment).redirect_url.startswith(p24.url)


def test_a_wrong_crc_is_refused_by_the_gateway_with_its_error_shape(store, account, p24):
    account.set_secrets(crc="wrong")
    account.save()
    order, payment = place_online_order(store, "przelewy24")
    with pytest.raises(PaymentGatewayError) as caught:
        services.start_payment(order=order, payment=payment)
    assert caught.value.status == 400 and "Incorrect sign" in caught.value.detail


def test_no_account_means_a_clear_error(store, p24):
    order, payment = place_online_order(store, "przelewy24")
    with pytest.raises(PaymentGatewayError, match="not available"):
        services.start_payment(order=order, payment=payment)


# --- BLIK ---------------------------------------------------------------------------------------


def test_blik_by_code_registers_with_psu_and_charges(store, account, p24, deliver):
    order, payment = place_online_order(store, "przelewy24")
    provider = get_provider("przelewy24")
    with pytest.raises(PaymentGatewayError, match="6 digits"):
        provider.charge_blik(payment, code="12345", ip="10.0.0.1", user_agent="Firefox")
    assert not p24.requests
    order_id = provider.charge_blik(payment, code="777123", ip="10.0.0.1", user_agent="Firefox")
    token = p24.token_for(payment.reference)
    register = json.loads(p24.calls("/transaction/register")[0].body)
    assert register["additional"] == {"PSU": {"IP": "10.0.0.1", "userAgent": "Firefox"}}
    assert json.loads(p24.calls("/blik/chargeByCode")[0].body) == {"token": token, "blikCode": "777123"}
    assert order_id == p24.transactions[token].order_id
    assert not paid(order, payment)  # only the notification pays
    assert p24.notify(token, deliver)[0] == 200 and paid(order, payment)


# --- refunds ------------------------------------------------------------------------------------


@pytest.fixture
def paid_order(started, p24, deliver):
    order, payment, _, token = started
    p24.pay(token)
    assert p24.notify(token, deliver)[0] == 200
    payment.refresh_from_db()
    return order, payment, token


def test_partial_then_full_refund_round_trip(paid_order, p24, deliver):
    order, payment, token = paid_order
    refund = refund_payment(payment=payment, amount=Decimal("20.00"), reason="zwrot 1 szt.")
    assert refund.status == PaymentRefund.Status.PENDING
    sent = json.loads(p24.calls("/transaction/refund")[0].body)
    assert sent["refunds"] == [
        {
            "orderId": int(payment.gateway_reference),
            "sessionId": payment.reference,
            "amount": 2000,
            "description": "zwrot 1 szt.",
        }
    ]
    assert sent["requestId"] == refund.reference and sent["refundsUuid"] == refund.reference
    assert sent["urlStatus"].endswith(WEBHOOK)

    assert p24.notify_refund(token, deliver)[0] == 200
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == PaymentRefund.Status.SUCCEEDED
    assert order.payment_status == Order.PaymentStatus.PARTIALLY_REFUNDED
    assert p24.notify_refund(token, deliver)[0] == 200  # duplicate: nothing changes
    assert order.notes.filter(text__contains=refund.reference).count() == 2  # requested, completed

    rest = refund_payment(payment=payment)  # the remainder
    assert rest.amount == payment.amount - Decimal("20.00")
    assert p24.notify_refund(token, deliver)[0] == 200
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.REFUNDED and payment.status == Payment.Status.REFUNDED
    with pytest.raises(RefundRefused):
        refund_payment(payment=payment, amount=Decimal("0.01"))


def test_refund_more_than_paid_is_refused_before_calling_the_gateway(paid_order, p24):
    _, payment, _ = paid_order
    with pytest.raises(RefundRefused):
        refund_payment(payment=payment, amount=payment.amount + 1)
    assert not p24.calls("/transaction/refund")


def test_a_rejected_refund_notification_marks_the_refund_failed(paid_order, p24, deliver):
    order, payment, token = paid_order
    refund = refund_payment(payment=payment, amount=Decimal("10.00"))
    assert p24.notify_refund(token, deliver, status=1)[0] == 200
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == PaymentRefund.Status.FAILED and order.payment_status == Order.PaymentStatus.PAID


def test_refund_of_an_unpaid_payment_is_refused(started):
    _, payment, _, _ = started
    with pytest.raises(RefundRefused):
        refund_payment(payment=payment)


def test_lookup_reports_the_gateways_view(paid_order):
    _, payment, _ = paid_order
    looked = get_provider("przelewy24").lookup(payment)
    assert looked.status == Payment.Status.PAID and looked.amount == payment.amount


# --- test connection ------------------------------------------------------------------------------


def test_test_connection_ok_and_bad_key(account, p24):
    provider = get_provider("przelewy24")
    assert provider.test_connection(account).ok
    account.set_secrets(api_key="wrong")
    check = provider.test_connection(account)
    assert not check.ok and "rejected" in check.message
    assert p24.calls("/testAccess")[-1].headers["authorization"].startswith("Basic ")


def test_production_switch_uses_the_production_host(account, p24, settings):
    account.is_sandbox = False
    settings.PRZELEWY24_URL = p24.url
    settings.PRZELEWY24_SANDBOX_URL = "http://127.0.0.1:9"
    assert get_provider("przelewy24").test_connection(account).ok


def test_secrets_are_encrypted_at_rest(account):
    assert "crc-key" not in account.secrets_encrypted and "api-key" not in account.secrets_encrypted
    assert account.secret("crc") == "crc-key"
    assert account.masked_secrets() == {"api_key": "••••", "crc": "••••"}


# --- admin ----------------------------------------------------------------------------------------


def test_admin_test_connection_action_records_the_result(admin_client, account, p24):
    response = admin_client.post(
        "/admin/orders/gatewayaccount/",
        {"action": "test_connection", "_selected_action": [account.pk]},
        follow=True,
    )
    assert response.status_code == 200
    account.refresh_from_db()
    assert account.last_check_ok is True and account.last_checked_at is not None
    assert p24.calls("/testAccess")


def test_admin_form_never_shows_secrets_and_keeps_them_when_left_empty(admin_client, account):
    url = f"/admin/orders/gatewayaccount/{account.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert "crc-key" not in page and "api-key" not in page and "••••" in page
    response = admin_client.post(
        url,
        {
            "store": account.store_id,
            "provider": "przelewy24",
            "is_sandbox": "on",
            "is_active": "on",
            "merchant_id": "111111",
            "pos_id": "111111",
            "api_key": "",
            "crc": "new-crc",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    account.refresh_from_db()
    assert account.secret("api_key") == "api-key" and account.secret("crc") == "new-crc"
    assert "new-crc" not in account.secrets_encrypted


def test_refund_order_gives_back_the_rest_of_the_paid_payments(paid_order, p24, deliver):
    order, payment, _token = paid_order
    refund_payment(payment=payment, amount=Decimal("7.99"))
    refunds = refund_order(order=order, reason="anulowane")
    assert [r.amount for r in refunds] == [Decimal("130.00")]
    assert refund_order(order=order) == []


def test_a_deactivated_account_still_settles_payments_started_before(started, p24, deliver, account):
    order, payment, _, token = started
    account.is_active = False
    account.save()
    p24.pay(token)
    assert p24.notify(token, deliver)[0] == 200 and paid(order, payment)


# --- the storefront's side of a gateway outage -----------------------------------------------------


def test_retry_payment_page_shows_the_gateway_error_instead_of_a_500(store, account, p24, client, settings):
    settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS = 0.5
    order, payment = place_online_order(store, "przelewy24")
    services.payment_failed(payment=payment, reason="declined")
    p24.fail_with = FakeResponse(503, b'{"error":"down","code":503}')
    response = client.post(reverse("orders:order-pay", kwargs={"token": order.token}), follow=True)
    assert response.status_code == 200
    assert "try again" in response.content.decode().lower() or "spróbuj" in response.content.decode().lower()
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT


def test_order_email_renders_while_the_gateway_is_down(store, account, p24, settings):
    from orders.emails import render_email
    from orders.models import OrderEmail

    settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS = 0.5
    order, _payment = place_online_order(store, "przelewy24")
    p24.fail_with = FakeResponse(503, b'{"error":"down","code":503}')
    email = OrderEmail.objects.filter(order=order, kind=OrderEmail.Kind.PLACED).first()
    assert email is not None
    rendered = render_email(email)
    assert order.number in rendered.subject and order.number in rendered.body

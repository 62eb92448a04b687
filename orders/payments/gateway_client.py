"""What the real gateways (Przelewy24, PayU, Stripe) share: one HTTP call with timeouts
and a clear error, minor units, the store's account, the opened session and the notification log.

Calls go through the shop's one outbound client (``shop.outbound``): a request that may have
reached the gateway is never sent again automatically (registering a payment or a refund twice is
worse than telling the shopper or merchant to try again), unless it carries an ``Idempotency-Key``.
"""

from __future__ import annotations

import logging

import httpx
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from shop import outbound
from shop.money import from_grosze, to_grosze

from ..models import GatewayAccount, GatewaySession, Payment, PaymentNotification
from .base import PaymentGatewayError

log = logging.getLogger("orders.payments")

# A gateway's answer (a payment, a refund, a token) is a few kB; anything this big is refused.
GATEWAY_MAX_BYTES = 2 * 1024 * 1024


# Amounts in grosze for the gateways: the one conversion lives in shop.money.
to_minor = to_grosze
from_minor = from_grosze


def account_for(payment: Payment, provider: str, *, active_only: bool = False) -> GatewayAccount:
    """The store's account; starting a payment needs an active one (``active_only``), while
    verifying, capturing, refunding and looking up a payment started earlier do not."""
    account = GatewayAccount.for_payment(payment, provider, active_only=active_only)
    if account is None:
        log.error("%s: store %s has no active gateway account", provider, payment.order.store_id)
        raise PaymentGatewayError(_("This payment method is not available right now. Please choose another."))
    return account


def call(method: str, url: str, *, gateway: str, idempotent: bool | None = None, **kwargs) -> httpx.Response:
    """One HTTP call to a gateway on the shop's outbound client; a timeout, a network error or a
    5xx becomes ``PaymentGatewayError`` with a message fit for a shopper. Redirects are never
    followed. Reads are retried once; a POST only while it certainly did not reach the gateway
    (``maybe_sent`` on the error tells which), even with an ``Idempotency-Key``: a payment or a
    refund whose answer was lost is asked again by its task, with backoff and the same key, so
    the shopper's request never waits through a gateway's outage inside one call."""
    partner = outbound.Partner(
        f"gateway:{gateway}",
        timeout=settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS,
        retries=1,
        backoff=0.3,
        max_backoff=2.0,
        max_bytes=GATEWAY_MAX_BYTES,
        # A 429 goes back to the provider module like any 4xx (it reads the gateway's refusal).
        retry_statuses=outbound.RETRY_STATUSES - {429},
    )
    if idempotent is None and method.upper() not in outbound.IDEMPOTENT_METHODS:
        idempotent = False
    try:
        response = partner.request(method, url, idempotent=idempotent, **kwargs)
    except outbound.OutboundError as exc:
        if exc.kind == "timeout":
            log.warning("%s: %s %s timed out", gateway, method, url)
            error = PaymentGatewayError(
                _("The payment gateway did not answer in time. Please try again in a moment."),
                detail=str(exc),
            )
        elif exc.kind == "status":
            text = exc.response.text[:500] if exc.response is not None else ""
            log.warning("%s: %s %s answered %s: %s", gateway, method, url, exc.status, text)
            error = PaymentGatewayError(
                _("The payment gateway is having problems. Please try again in a moment."),
                status=exc.status,
                detail=text,
            )
        else:
            log.warning("%s: %s %s failed: %s", gateway, method, url, exc)
            error = PaymentGatewayError(
                _("The payment gateway cannot be reached. Please try again in a moment."), detail=str(exc)
            )
        error.maybe_sent = exc.maybe_sent
        raise error from exc
    if response.status_code >= 500:
        log.warning(
            "%s: %s %s answered %s: %s", gateway, method, url, response.status_code, response.text[:500]
        )
        error = PaymentGatewayError(
            _("The payment gateway is having problems. Please try again in a moment."),
            status=response.status_code,
            detail=response.text[:500],
        )
        error.maybe_sent = True
        raise error
    return response


def json_of(response: httpx.Response, *, gateway: str) -> dict:
    try:
        data = response.json()
    except ValueError as exc:
        log.warning("%s: answer is not JSON (%s): %s", gateway, response.status_code, response.text[:300])
        raise PaymentGatewayError(
            _("The payment gateway gave an answer we cannot read."), status=response.status_code
        ) from exc
    return data if isinstance(data, dict) else {"data": data}


def opened_session(payment: Payment) -> GatewaySession | None:
    return GatewaySession.objects.filter(payment=payment).first()


def remember_session(payment: Payment, *, provider: str, token: str, redirect_url: str) -> GatewaySession:
    session, _created = GatewaySession.objects.update_or_create(
        payment=payment, defaults={"provider": provider, "token": token, "redirect_url": redirect_url}
    )
    return session


def return_url(payment: Payment) -> str:
    return payment.order.store.absolute_url(
        reverse("orders:payment-return", kwargs={"ref": payment.reference})
    )


def webhook_url(store, slug: str) -> str:
    return store.absolute_url(reverse("orders:payment-webhook", kwargs={"provider": slug}))


def record(
    provider: str,
    *,
    body: bytes,
    outcome: str,
    payment: Payment | None = None,
    status: str = "",
    signature: str | None = None,
) -> PaymentNotification:
    """Log one notification (valid or not) with what we did about it."""
    if outcome not in ("applied", "no change", "received"):
        log.warning(
            "%s notification: %s (payment %s)", provider, outcome, payment.reference if payment else "-"
        )
    return PaymentNotification.objects.create(
        provider=provider,
        payment=payment,
        signature=signature,
        status=status[:20],
        outcome=outcome[:100],
        payload=body[:2000].decode("utf-8", "replace"),
    )

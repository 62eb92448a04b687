"""What the real gateways (Przelewy24, PayU, Stripe) share: one small httpx call with timeouts
and a clear error, minor units, the store's account, the opened session and the notification log.

No automatic retries here: registering a payment or a refund twice is worse than telling the
shopper or merchant to try again (refunds carry our reference as an idempotency key).
"""

from __future__ import annotations

import logging

import httpx
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from shop.money import from_grosze, to_grosze

from ..models import GatewayAccount, GatewaySession, Payment, PaymentNotification
from .base import PaymentGatewayError

log = logging.getLogger("orders.payments")


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


def call(method: str, url: str, *, gateway: str, **kwargs) -> httpx.Response:
    """One HTTP call to a gateway; a timeout, a network error or a 5xx becomes
    ``PaymentGatewayError`` with a message fit for a shopper. Redirects are never followed."""
    timeout = httpx.Timeout(settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS)
    try:
        response = httpx.request(method, url, timeout=timeout, follow_redirects=False, **kwargs)
    except httpx.TimeoutException as exc:
        log.warning("%s: %s %s timed out", gateway, method, url)
        raise PaymentGatewayError(
            _("The payment gateway did not answer in time. Please try again in a moment."), detail=str(exc)
        ) from exc
    except httpx.HTTPError as exc:
        log.warning("%s: %s %s failed: %s", gateway, method, url, exc)
        raise PaymentGatewayError(
            _("The payment gateway cannot be reached. Please try again in a moment."), detail=str(exc)
        ) from exc
    if response.status_code >= 500:
        log.warning(
            "%s: %s %s answered %s: %s", gateway, method, url, response.status_code, response.text[:500]
        )
        raise PaymentGatewayError(
            _("The payment gateway is having problems. Please try again in a moment."),
            status=response.status_code,
            detail=response.text[:500],
        )
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

"""BLIK by code (Przelewy24 BLIK level 0) on the shop's own payment page.

1. ``blik_pay`` (GET) offers a 6-digit code field for an order awaiting a Przelewy24 payment when
   the store's P24 account has BLIK; "pay another way" goes on to Przelewy24's own page.
2. ``blik_pay`` (POST) checks the code, counts the attempt (per order and per IP), and charges it:
   one code per attempt -- an attempt already registered at P24 (a code charged before, or the
   P24 page opened) is replaced by a fresh one, registered with the payer's IP and user agent.
   A second submit of the same form while a code waits for confirmation charges nothing.
3. ``blik_waiting`` asks the shopper to confirm in the banking app and polls ``order_payment_status``;
   the order becomes paid only through P24's verified notification, as for every online payment.
   P24 notifies successful payments only, so after ``BLIK_CONFIRM_SECONDS`` without one the page
   offers a new code.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from shop import ratelimit

from .. import services
from ..models import GatewayAccount, Order, Payment
from ..payments import get_provider
from ..payments.base import PaymentGatewayError
from ..payments.gateway_client import opened_session
from ..selectors import order_for_token

log = logging.getLogger("orders.payments")

PROVIDER = "przelewy24"
CODE_RE = re.compile(r"^[0-9]{6}$")  # ASCII only: "１２３４５６" is not a BLIK code
RAW_CODE_MAX = 32  # more than any way of typing six digits with spaces or dashes


class BlikRefused(Exception):
    """The code cannot be charged now; ``message`` is for the shopper, ``status`` the HTTP status."""

    def __init__(self, message: str, *, status: int = 400, retry_after: int = 0):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


# --- rules ---------------------------------------------------------------------------------------


def blik_enabled(account: GatewayAccount | None) -> bool:
    """BLIK needs the store's active P24 account with BLIK switched on: its ``blik`` setting (when
    set) wins over the opt-in ``PRZELEWY24_BLIK_ENABLED`` default (BLIK level 0 is a separate
    service a merchant activates at P24)."""
    if account is None or not account.is_active:
        return False
    value = (account.config or {}).get("blik")
    if value is None:
        return settings.PRZELEWY24_BLIK_ENABLED
    return value is True or str(value).lower() in ("1", "true", "yes", "on")


def offers_blik(order: Order) -> bool:
    """Can this order be paid with a BLIK code now?"""
    if (
        order.status != Order.Status.AWAITING_PAYMENT
        or order.payment_status != Order.PaymentStatus.UNPAID
        or order.payment_provider != PROVIDER
        or order.currency != "PLN"
    ):
        return False
    account = GatewayAccount.objects.filter(store_id=order.store_id, provider=PROVIDER).first()
    return blik_enabled(account)


def normalise_code(raw) -> str:
    """Six digits, as typed with spaces or dashes ("123 456"); raises BlikRefused otherwise."""
    text = raw if isinstance(raw, str) else ""
    if not text.strip():
        raise BlikRefused(_("Enter the 6-digit BLIK code from your banking app."))
    if len(text) > RAW_CODE_MAX:
        raise BlikRefused(_("A BLIK code has exactly 6 digits."))
    code = re.sub(r"[\s\-]", "", text)
    if not CODE_RE.match(code):
        raise BlikRefused(_("A BLIK code has exactly 6 digits."))
    return code


def _charged_key(payment: Payment) -> str:
    return f"blik:charged:{payment.pk}"


def _waiting_key(order: Order) -> str:
    return f"blik:waiting:{order.pk}"


def waiting_since(order: Order) -> float | None:
    """When the last code of this order was accepted by P24 (None: no code is waiting)."""
    value = cache.get(_waiting_key(order))
    return float(value) if isinstance(value, int | float) else None


def seconds_left(order: Order) -> int:
    since = waiting_since(order)
    if since is None:
        return 0
    return max(0, int(settings.BLIK_CONFIRM_SECONDS - (time.time() - since)))


def count_attempt(order: Order, ip: str) -> None:
    """One attempt against the order's and the address's limits; raises BlikRefused (429)."""
    window = settings.BLIK_ATTEMPTS_WINDOW_SECONDS
    limits = [
        (f"blik:order:{order.pk}", settings.BLIK_ATTEMPTS_PER_ORDER),
        (f"blik:ip:{ip}", settings.BLIK_ATTEMPTS_PER_IP),
    ]
    verdicts = [ratelimit.check(key, limit=limit, window=window) for key, limit in limits]
    if all(v.allowed for v in verdicts):
        verdicts = [ratelimit.hit(key, limit=limit, window=window) for key, limit in limits]
    wait = max((v.retry_after for v in verdicts if not v.allowed), default=0)
    if wait:
        raise BlikRefused(
            _("Too many BLIK attempts. Please wait %(minutes)s min or pay another way.")
            % {"minutes": max(1, -(-wait // 60))},
            status=429,
            retry_after=wait,
        )


def _attempt_for_code(order: Order) -> Payment:
    """The payment attempt a new code is charged on: the open one if P24 has never seen it, else
    a fresh attempt (one code per attempt; a failed or abandoned P24 registration is not reused)."""
    payment = services.open_payment(order)
    if payment is not None and payment.provider == PROVIDER and opened_session(payment) is None:
        return payment
    try:
        return services.retry_payment(order=order)
    except services.CheckoutError as exc:
        raise BlikRefused(exc.message, status=409) from exc


def _code_key(order: Order) -> str:
    return f"blik:code:{order.pk}"


def _fingerprint(order: Order, code: str) -> str:
    return hashlib.sha256(f"{order.token}:{code}".encode()).hexdigest()


def charge_code(*, order: Order, raw_code, ip: str, user_agent: str, replace: bool = False) -> Payment | None:
    """Charge one BLIK code for ``order``. Returns the attempt charged, or None for a double
    submit: while a code waits for confirmation nothing is charged, unless the shopper asked for a
    new code (``replace``) -- and never the very same code twice (a code works once)."""
    code = normalise_code(raw_code)
    lock = f"blik:lock:{order.pk}"
    if not cache.add(lock, 1, timeout=int(settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS * 3) + 5):
        return None  # the same form submitted twice: the first request is charging the code
    try:
        if cache.get(_code_key(order)) == _fingerprint(order, code):
            return None
        if seconds_left(order) > 0 and not replace:
            return None
        count_attempt(order, ip)
        payment = _attempt_for_code(order)
        provider = get_provider(PROVIDER)
        try:
            provider.charge_blik(payment, code=code, ip=ip, user_agent=user_agent or "unknown")
        except PaymentGatewayError as exc:
            log.info("BLIK code refused for order %s: %s %s", order.number, exc.status, exc.detail[:200])
            if exc.status and 400 <= exc.status < 500:
                raise BlikRefused(
                    _(
                        "The bank did not accept this BLIK code: it may be mistyped or expired. "
                        "Generate a new code in your banking app and enter it again."
                    )
                ) from exc
            raise BlikRefused(exc.message, status=502) from exc
        now = time.time()
        ttl = settings.BLIK_CONFIRM_SECONDS * 2
        cache.set(_charged_key(payment), now, ttl)
        cache.set(_waiting_key(order), now, ttl)
        cache.set(_code_key(order), _fingerprint(order, code), ttl)
        services.extend_payment_hold(order=order)
        return payment
    finally:
        cache.delete(lock)


# --- views ---------------------------------------------------------------------------------------


def _order(request, token: str) -> Order:
    order = order_for_token(store=request.store, token=token)
    if order is None:
        raise Http404
    return order


def _page(request, order: Order, *, error: str = "", status: int = 200, code: str = ""):
    return render(
        request,
        "orders/blik.html",
        {
            "order": order,
            "error": error,
            "code": code,
            "amount": order.amount_due,
            "waiting": seconds_left(order) > 0,
        },
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def blik_pay(request, token: str):
    order = _order(request, token)
    if not offers_blik(order):
        if order.payment_status == Order.PaymentStatus.PAID or order.status != Order.Status.AWAITING_PAYMENT:
            return redirect(order.get_absolute_url())
        messages.info(request, _("BLIK codes cannot be used for this order. Please pay another way."))
        return redirect(order.get_absolute_url())
    if request.method == "GET":
        return _page(request, order)
    if request.POST.get("other"):
        return _pay_elsewhere(request, order)
    try:
        charged = charge_code(
            order=order,
            raw_code=request.POST.get("code", ""),
            ip=ratelimit.client_ip(request),
            user_agent=request.headers.get("User-Agent", "")[:255],
            replace=request.POST.get("replace") == "1",
        )
    except BlikRefused as exc:
        headers = {}
        if exc.status == 429:
            headers["Retry-After"] = str(exc.retry_after)
        response = _page(request, order, error=exc.message, status=exc.status)
        for name, value in headers.items():
            response[name] = value
        return response
    if charged is None:
        messages.info(request, _("Your BLIK code is already waiting for confirmation in your banking app."))
    return redirect("orders:order-blik-waiting", token=order.token)


def _pay_elsewhere(request, order: Order):
    """Przelewy24's own page (transfers, cards, BLIK there) for the open attempt."""
    payment = services.open_payment(order)
    try:
        if payment is None:
            payment = services.retry_payment(order=order)
        started = services.start_payment(order=order, payment=payment)
    except services.CheckoutError as exc:
        messages.error(request, exc.message)
        return redirect(order.get_absolute_url())
    except PaymentGatewayError as exc:
        return _page(request, order, error=exc.message, status=502)
    return redirect(started.redirect_url if started and started.redirect_url else order.get_absolute_url())


@never_cache
@require_GET
def blik_waiting(request, token: str):
    order = _order(request, token)
    paid = order.payment_status == Order.PaymentStatus.PAID
    return render(
        request,
        "orders/blik_waiting.html",
        {
            "order": order,
            "paid": paid,
            "seconds_left": seconds_left(order),
            "can_retry": not paid and offers_blik(order),
            "status_url": reverse("orders:order-payment-status", kwargs={"token": order.token}),
            "poll_ms": int(settings.BLIK_POLL_SECONDS * 1000),
        },
    )


@never_cache
@require_GET
def order_payment_status(request, token: str):
    """What the waiting page polls: the order's payment state as the shop knows it (only verified
    notifications change it); never asks the gateway, so polling costs the gateway nothing."""
    order = (
        Order.objects.filter(store=request.store, token=token)
        .only("pk", "status", "payment_status", "payment_provider", "currency", "store_id", "token")
        .first()
        if token and len(token) <= 64
        else None
    )
    if order is None:
        return JsonResponse({"error": "not found"}, status=404)
    paid = order.payment_status == Order.PaymentStatus.PAID
    left = 0 if paid else seconds_left(order)
    return JsonResponse(
        {
            "status": order.status,
            "status_label": str(order.get_status_display()),
            "payment_status": order.payment_status,
            "paid": paid,
            "waiting": left > 0,
            "seconds_left": left,
            "order_url": order.get_absolute_url(),
        }
    )

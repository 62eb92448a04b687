"""Payment pages: the test gateway's payment page, the browser's return, and gateway webhooks."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import OperationalError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from .. import services
from ..models import Payment
from ..payments import provider_for_webhook
from ..payments.test_gateway import OUTCOMES, schedule_notification

log = logging.getLogger("orders.payments")


@require_http_methods(["GET", "POST"])
def test_gateway_page(request, ref: str):
    """The test gateway's own payment page (it would live on the gateway's domain)."""
    if not settings.TEST_GATEWAY_ENABLED:
        raise Http404
    payment = get_object_or_404(
        Payment.objects.select_related("order__store"), gateway_reference=ref, provider="test_gateway"
    )
    order = payment.order
    if order.store_id != request.store.pk:
        raise Http404
    return_url = reverse("orders:payment-return", kwargs={"ref": payment.reference})
    if request.method == "POST":
        outcome = request.POST.get("outcome", "")
        if outcome in OUTCOMES and payment.status == Payment.Status.PENDING:
            schedule_notification(payment, outcome)
        return redirect(return_url)
    if payment.status == Payment.Status.PENDING:
        services.extend_payment_hold(order=order)
    return render(
        request,
        "orders/gateway.html",
        {"payment": payment, "order": order, "return_url": return_url, "open": payment.status == "pending"},
    )


def payment_return(request, ref: str):
    """Where the gateway sends the browser back. Changes nothing: only notifications do."""
    payment = get_object_or_404(Payment.objects.select_related("order"), reference=ref)
    if payment.order.store_id != request.store.pk:
        raise Http404
    return redirect(payment.order.get_absolute_url())


@csrf_exempt
@require_POST
def payment_webhook(request, provider: str):
    """Server-to-server notifications; every provider verifies its signature first."""
    handler = provider_for_webhook(provider)
    if handler is None:
        return JsonResponse({"error": "unknown provider"}, status=404)
    try:
        return handler.handle_notification(request)
    except OperationalError:
        # A deadlock, a lock timeout or a lost connection rolled the notification back: nothing
        # was applied. Answer 503 so the gateway delivers it again (every gateway retries a
        # non-2xx answer), never 2xx for a payment that stayed unpaid.
        log.exception("payment notification from %s failed in the database; asking for a retry", provider)
        response = JsonResponse({"error": "temporary failure, retry later"}, status=503)
        response["Retry-After"] = "5"
        return response

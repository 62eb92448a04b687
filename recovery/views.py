"""Storefront endpoints of recovery: restore, click, open pixel, unsubscribe, web-push opt-in,
the shopper's time zone. None of them logs anyone in or shows personal data.

Restore and click links count engagement only from a real browser: their GET shows a page and
writes nothing (mail-security scanners fetch every link in a message); the page submits a POST.
"""

from __future__ import annotations

import base64
import json
import logging

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import carts, services, timezones, tokens
from .models import PushSubscription, Reminder

log = logging.getLogger(__name__)

# What the last restore of this session brought back, for the page after the redirect.
RESTORED_KEY = "recovery_restored"
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _cart_url() -> str:
    for name in ("orders:cart", "orders:cart-detail", "orders:basket"):
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return "/koszyk/"


def _continue_page(request, *, purpose: str):
    """The page a restore or click link opens. A plain GET (what mail-security scanners send)
    writes nothing: the page's script submits its CSRF-protected form at once in a real browser,
    and the visible button does the same without JavaScript; only that POST counts."""
    return render(request, "recovery/continue.html", {"purpose": purpose})


@never_cache
@require_http_methods(["GET", "POST"])
def restore(request, token: str):
    try:
        claim = tokens.read_restore_token(token)
    except tokens.TokenExpired:
        return render(request, "recovery/link_problem.html", {"problem": "expired"}, status=410)
    except tokens.TokenInvalid:
        return render(request, "recovery/link_problem.html", {"problem": "invalid"}, status=400)
    if request.method == "GET":
        problem = services.restore_problem(
            store=request.store, tracked_id=claim.tracked_id, cart_id=claim.cart_id
        )
        if problem:
            return render(
                request,
                "recovery/link_problem.html",
                {"problem": problem},
                status=200 if problem == "ordered" else 400,
            )
        return _continue_page(request, purpose="restore")
    result = services.restore_cart(
        request=request,
        store=request.store,
        tracked_id=claim.tracked_id,
        cart_id=claim.cart_id,
        reminder_id=claim.reminder_id,
    )
    if result.already_ordered:
        return render(request, "recovery/link_problem.html", {"problem": "ordered"}, status=200)
    if result.cart is None:
        return render(request, "recovery/link_problem.html", {"problem": "invalid"}, status=400)
    # Post/redirect/get: reloading the result page restores nothing twice.
    request.session[RESTORED_KEY] = {
        "restored": result.restored,
        "gone": result.gone,
        "coupon_code": result.coupon_code,
    }
    return HttpResponseRedirect(reverse("recovery:restored"))


@never_cache
@require_GET
def restored(request):
    """What the last restore in this session brought back (read only)."""
    summary = request.session.get(RESTORED_KEY)
    cart = carts.visitor_cart(request=request, store=request.store)
    if not summary or cart is None:
        return HttpResponseRedirect(_cart_url())
    result = services.RestoreResult(
        cart=cart,
        restored=list(summary.get("restored") or []),
        gone=list(summary.get("gone") or []),
        coupon_applied=bool(summary.get("coupon_code")),
        coupon_code=summary.get("coupon_code") or "",
    )
    return render(
        request,
        "recovery/restored.html",
        {
            "result": result,
            "lines": carts.lines_of(cart),
            "cart_url": _cart_url(),
            "push_enabled": bool(settings.VAPID_PUBLIC_KEY),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def click(request, token: str):
    try:
        reminder_id, path = tokens.read_click_token(token)
    except tokens.TokenInvalid:
        return render(request, "recovery/link_problem.html", {"problem": "invalid"}, status=400)
    if request.method == "GET":
        return _continue_page(request, purpose="click")
    # Only a path on this very store: no scheme, no host, no protocol-relative //evil.example.
    if (
        not path.startswith("/")
        or path.startswith("//")
        or not url_has_allowed_host_and_scheme(path, allowed_hosts={request.get_host()}, require_https=False)
    ):
        path = "/"
    reminder = Reminder.objects.filter(pk=reminder_id, store=request.store).first()
    if reminder is not None:
        services.record_click(reminder_id=reminder.pk)
    return HttpResponseRedirect(path)


@never_cache
def open_pixel(request, token: str):
    try:
        reminder_id = tokens.read_open_token(token)
    except tokens.TokenInvalid:
        reminder_id = None
    if reminder_id is not None:
        services.record_open(reminder_id=reminder_id)
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store, max-age=0"
    return response


@csrf_exempt  # RFC 8058 one-click: the mail client POSTs without our cookie or CSRF token
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    try:
        store_id, email = tokens.read_unsubscribe_token(token)
    except tokens.TokenInvalid:
        return render(request, "recovery/link_problem.html", {"problem": "invalid"}, status=400)
    if store_id != request.store.pk:
        return render(request, "recovery/link_problem.html", {"problem": "invalid"}, status=400)
    if request.method == "POST":
        services.suppress(
            store=request.store,
            email=email,
            source="one-click" if "List-Unsubscribe" in request.POST else "link",
        )
        return render(request, "recovery/unsubscribed.html", {"done": True})
    return render(request, "recovery/unsubscribed.html", {"done": False, "token": token})


@csrf_exempt  # stores only a validated time-zone name for this visitor's own cart
@require_POST
def shopper_timezone(request):
    """Keep the visitor's IANA zone in the session (usually no cart exists yet) and on the cart
    when there is one; ``recovery.timezones`` carries it to a cart created later."""
    name = timezones.valid_zone(request.POST.get("tz"))
    if name is None:
        return JsonResponse({"ok": False}, status=400)
    timezones.remember(request, name)
    return JsonResponse({"ok": True})


@require_GET
def push_key(request):
    return JsonResponse({"publicKey": settings.VAPID_PUBLIC_KEY, "enabled": bool(settings.VAPID_PUBLIC_KEY)})


@require_POST
def push_subscribe(request):
    """Save this browser's push subscription for this visitor's cart (CSRF-protected)."""
    if not settings.VAPID_PUBLIC_KEY:
        return JsonResponse({"ok": False, "error": "disabled"}, status=404)
    try:
        data = json.loads(request.body or b"{}")
        endpoint = str(data["endpoint"])
        keys = data["keys"]
        p256dh, auth = str(keys["p256dh"]), str(keys["auth"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"ok": False, "error": "invalid"}, status=400)
    if not endpoint.startswith("https://") or len(endpoint) > 1000 or len(p256dh) > 200 or len(auth) > 100:
        return JsonResponse({"ok": False, "error": "invalid"}, status=400)
    cart = carts.visitor_cart(request=request, store=request.store)
    email = carts.shopper_email(cart) if cart is not None else ""
    PushSubscription.objects.update_or_create(
        endpoint=endpoint,
        defaults={"store": request.store, "cart": cart, "email": email, "p256dh": p256dh, "auth": auth},
    )
    return JsonResponse({"ok": True})


@require_GET
def push_service_worker(request):
    script = """self.addEventListener('push', function (event) {
  var data = {};
  try { data = event.data.json(); } catch (e) { data = {title: event.data ? event.data.text() : ''}; }
  event.waitUntil(self.registration.showNotification(data.title || '', {body: data.body || '', data: {url: data.url || '/'}}));
});
self.addEventListener('notificationclick', function (event) {
  event.notification.close();
  event.waitUntil(clients.openWindow(event.notification.data.url));
});
"""
    return HttpResponse(script, content_type="application/javascript")

"""Checkout in three short steps: contact (email first), delivery and payment, summary."""

from __future__ import annotations

import time

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from shop.ratelimit import client_ip

from .. import consent, services
from ..forms import CodeForm, ContactForm, DeliveryForm, SummaryForm
from ..models import Order, PaymentMethod, ShippingMethod
from ..payments.base import PaymentGatewayError
from ..services.checkout import checkout_problems, load_for_checkout
from ..services.checkout_limits import count_checkout_attempt
from ..services.payments import is_online
from .common import current_cart

STEP_URLS = {
    "cart": "orders:cart",
    "contact": "orders:checkout",
    "delivery": "orders:checkout-delivery",
    "summary": "orders:checkout-summary",
}
STEPS = ("contact", "delivery", "summary")


def _steps(current: str):
    """The step indicator: (key, label, state) with state done|current|todo."""
    keys = list(STEPS)
    index = keys.index(current)
    labels = {"contact": _("Contact"), "delivery": _("Delivery and payment"), "summary": _("Summary")}
    return [
        (k, labels[k], "done" if i < index else "current" if i == index else "todo")
        for i, k in enumerate(keys)
    ]


def _cart_or_redirect(request, cart=None):
    cart = cart or current_cart(request)
    if cart is None or not cart.lines.exists():
        messages.info(request, _("Your cart is empty."))
        return None, redirect("orders:cart")
    return cart, None


def _known_phone(cart, user) -> str:
    phone = str((cart.checkout or {}).get("phone") or "")
    if not phone and user.is_authenticated:
        phone = user.phone or ""
    return phone


def _consent_questions(request, cart) -> dict[str, str]:
    """{channel: text} of the consent questions this checkout asks, in order."""
    asked = consent.channels_to_ask(request.store, phone=_known_phone(cart, request.user))
    return {channel: consent.wording(request.store, channel).text for channel in asked}


def _client_seq(value) -> int | None:
    try:
        seq = int(value)
    except (TypeError, ValueError):
        return None
    return seq if 0 < seq < 2**62 else None


def _consent_clock() -> int:
    """Milliseconds now: the page numbers its consent events from here (save_checkout_email)."""
    return int(time.time() * 1000)


@require_http_methods(["GET", "POST"])
def checkout_contact(request):
    cart, bounce = _cart_or_redirect(request)
    if bounce:
        return bounce
    questions = _consent_questions(request, cart)
    answers = services.carts.latest_consents(cart=cart)
    clock = _consent_clock()
    initial = {
        "email": cart.email or (request.user.email if request.user.is_authenticated else ""),
        "marketing_consent": cart.marketing_consent,
        "sms_consent": answers.get(consent.SMS, False),
        "push_consent": answers.get(consent.PUSH, False),
        "consent_seq": clock * 1000,
    }
    form = ContactForm(request.POST or None, initial=initial, consent_labels=questions)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_checkout_email(
                cart=cart,
                email=form.cleaned_data["email"],
                marketing_consent=form.cleaned_data["marketing_consent"],
                consents=form.other_consents(),
                client_seq=form.cleaned_data.get("consent_seq") or None,
                user=request.user,
                ip_address=client_ip(request),
            )
        except services.CartError as exc:
            form.add_error("email", exc.message)
        else:
            return redirect("orders:checkout-delivery")
    return render(
        request,
        "orders/checkout/contact.html",
        {"form": form, "steps": _steps("contact"), "cart": cart, "consent_clock": clock},
    )


@require_POST
def checkout_email(request):
    """The email field's blur and the consent checkboxes' change handler: save the address and
    the answers at once. ``consent_seq`` numbers the page's events; a request older than one
    already saved changes nothing (requests can overtake each other)."""
    cart = current_cart(request)
    if cart is None:
        return JsonResponse({"ok": False, "error": _("Your cart is empty.")}, status=404)
    ticked = ("on", "1", "true")
    asked = _consent_questions(request, cart)
    try:
        services.save_checkout_email(
            cart=cart,
            email=request.POST.get("email", ""),
            marketing_consent=request.POST.get("marketing_consent") in ticked,
            consents={
                channel: request.POST.get(f"{channel}_consent") in ticked
                for channel in asked
                if channel != consent.EMAIL
            },
            client_seq=_client_seq(request.POST.get("consent_seq")),
            user=request.user,
            ip_address=client_ip(request),
        )
    except services.CartError as exc:
        return JsonResponse({"ok": False, "error": exc.message}, status=400)
    return JsonResponse({"ok": True})


@require_http_methods(["GET", "POST"])
def checkout_delivery(request):
    cart, bounce = _cart_or_redirect(request)
    if bounce:
        return bounce
    if not cart.email:
        messages.info(request, _("Enter your email address first."))
        return redirect("orders:checkout")
    loaded = load_for_checkout(cart, user=request.user)
    basket = loaded.basket
    methods = list(
        ShippingMethod.objects.filter(store=request.store, is_active=True).prefetch_related("rates")
    )
    from ..pricing import shipping_options

    options = shipping_options(
        methods,
        goods_value=basket.goods_value,
        weight_grams=basket.weight_grams,
        currency=request.store.currency,
    )
    usable = [o.method for o in options if o.available] if basket.needs_shipping else []
    from ..payments.base import disabled_providers

    payments = list(
        PaymentMethod.objects.filter(store=request.store, is_active=True).exclude(
            provider__in=disabled_providers()
        )
    )
    if not basket.needs_shipping:
        payments = [m for m in payments if not m.is_cash_on_delivery]
    max_shipping = max((o.price for o in options if o.available), default=0) if basket.needs_shipping else 0
    gift = loaded.gift_card.balance if loaded.gift_card else 0
    needs_payment = basket.subtotal - basket.discount + max_shipping - gift > 0
    answers = cart.checkout or {}
    initial = {**answers}
    if cart.shipping_method_id:
        initial["shipping_method"] = str(cart.shipping_method_id)
    if cart.payment_method_id:
        initial["payment_method"] = str(cart.payment_method_id)
    if request.user.is_authenticated:
        initial.setdefault("first_name", request.user.first_name)
        initial.setdefault("last_name", request.user.last_name)
        initial.setdefault("phone", request.user.phone)
        # A B2B buyer's company (their customer group membership) is filled in for the invoice.
        for name, value in (loaded.basket.price_list.company if loaded.basket.price_list else {}).items():
            initial.setdefault(name, value)
    sms_asked = consent.SMS in consent.channels_in_use(request.store)
    if sms_asked:
        initial.setdefault("sms_consent", services.carts.latest_consents(cart=cart).get(consent.SMS, False))
    form = DeliveryForm(
        request.POST or None,
        initial=initial,
        needs_shipping=basket.needs_shipping,
        needs_payment=needs_payment,
        shipping_methods=usable,
        payment_methods=payments if needs_payment else [],
        sms_consent_label=consent.wording(request.store, consent.SMS).text if sms_asked else "",
    )
    if request.method == "POST" and form.is_valid():
        services.set_checkout_choices(
            cart=cart,
            shipping_method=form.cleaned_data.get("shipping_method") if basket.needs_shipping else None,
            payment_method=form.cleaned_data.get("payment_method") if needs_payment else None,
            answers=form.answers(),
        )
        if sms_asked and (form.cleaned_data.get("phone") or "").strip():
            services.carts.record_consent(
                cart=cart,
                email=cart.email,
                channel=consent.SMS,
                granted=form.cleaned_data.get("sms_consent", False),
                user=request.user,
                ip_address=client_ip(request),
            )
        return redirect("orders:checkout-summary")
    return render(
        request,
        "orders/checkout/delivery.html",
        {
            "form": form,
            "steps": _steps("delivery"),
            "cart": cart,
            "basket": basket,
            "options": [o for o in options if o.available],
            "payment_methods": payments if needs_payment else [],
            "needs_payment": needs_payment,
        },
    )


@require_http_methods(["GET", "POST"])
def checkout_summary(request):
    cart = current_cart(request)
    if request.method == "POST" and cart is None:
        # A double submit after the first one placed the order: show that order.
        token = request.POST.get("checkout_token", "")
        order = Order.objects.filter(store=request.store, idempotency_key=token).first() if token else None
        if order is not None:
            return _after_placing(request, order)
    cart, bounce = _cart_or_redirect(request, cart)
    if bounce:
        return bounce
    loaded = load_for_checkout(cart, user=request.user)
    problems = [p for p in checkout_problems(loaded) if p[0] != "summary"]
    if problems:
        step, message = problems[0]
        messages.error(request, message)
        return redirect(STEP_URLS[step])
    if loaded.basket.voucher_problem:
        messages.warning(request, loaded.basket.voucher_problem)
    form = SummaryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            count_checkout_attempt(ip=client_ip(request), cart=cart)
            order = services.place_order(
                cart=cart,
                checkout_token=form.cleaned_data["checkout_token"],
                expected_total=form.cleaned_data["expected_total"],
                expected_amount_due=form.cleaned_data["expected_amount_due"],
                user=request.user,
                customer_note=form.cleaned_data["customer_note"],
                accepted_terms=form.cleaned_data["accept_terms"],
            )
        except services.RateLimited as exc:  # a flood: refused before any stock is taken
            messages.error(request, exc.message)
            response = redirect("orders:checkout-summary")
            response["Retry-After"] = str(exc.retry_after)
            return response
        except services.OutOfStock as exc:
            messages.error(request, exc.message)
            return redirect("orders:cart")
        except services.TotalChanged as exc:
            messages.warning(request, exc.message)
            return redirect("orders:checkout-summary")
        except services.CheckoutError as exc:
            messages.error(request, exc.message)
            return redirect(STEP_URLS.get(exc.field or "summary", "orders:checkout-summary"))
        return _after_placing(request, order)
    token = services.issue_checkout_token(cart=cart)
    if request.method == "GET":
        form = SummaryForm(
            initial={
                "checkout_token": token,
                "expected_total": str(loaded.basket.total),
                "expected_amount_due": str(loaded.basket.amount_due),
            }
        )
    return render(
        request,
        "orders/checkout/summary.html",
        {
            "form": form,
            "steps": _steps("summary"),
            "cart": cart,
            "loaded": loaded,
            "basket": loaded.basket,
            "answers": cart.checkout or {},
            "code_form": CodeForm(),
        },
    )


def _after_placing(request, order: Order):
    if order.status == Order.Status.AWAITING_PAYMENT and is_online(order.payment_provider):
        from .blik import offers_blik

        if offers_blik(order):  # our own payment page: a BLIK code, or on to Przelewy24
            return redirect("orders:order-blik", token=order.token)
        payment = services.open_payment(order)
        if payment is not None:
            try:
                started = services.start_payment(order=order, payment=payment)
            except PaymentGatewayError as exc:
                # The order is placed and its stock held: the shopper can retry from the order page.
                messages.error(request, exc.message)
                return redirect(order.get_absolute_url())
            if started and started.redirect_url:
                return redirect(started.redirect_url)
    return redirect(order.get_absolute_url())


def order_detail(request, token: str):
    from ..selectors import order_for_token, order_page

    order = order_for_token(store=request.store, token=token)
    if order is None:
        raise Http404
    from .. import accounts, returns

    context = order_page(order)
    # After-sales for guests, by the same unguessable order token: invoice and quick returns.
    context["invoice"] = accounts.invoice_for(order)
    context["can_return"] = returns.can_request_return(order, context["lines"])
    context["tracking_url"] = _tracking_url(order)
    return render(request, "orders/order.html", context)


def _tracking_url(order) -> str:
    """The carrier's tracking page for a shipped order (no query for an order not shipped yet)."""
    if not order.tracking_number:
        return ""
    from ..carriers import tracking_url_for

    return tracking_url_for(order)


@require_POST
def order_pay(request, token: str):
    """Try again after a failed online payment."""
    from ..selectors import order_for_token

    order = order_for_token(store=request.store, token=token)
    if order is None:
        raise Http404
    from .blik import offers_blik

    if offers_blik(order):  # the shop's payment page: a new BLIK code, or on to Przelewy24
        return redirect("orders:order-blik", token=order.token)
    try:
        payment = services.retry_payment(order=order)
    except services.CheckoutError as exc:
        messages.error(request, exc.message)
        return redirect(order.get_absolute_url())
    try:
        started = services.start_payment(order=order, payment=payment)
    except PaymentGatewayError as exc:
        messages.error(request, exc.message)
        return redirect(order.get_absolute_url())
    return redirect(started.redirect_url if started and started.redirect_url else order.get_absolute_url())

"""The cart page and its forms."""

from __future__ import annotations

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from .. import services
from ..forms import AddToCartForm, CodeForm
from ..models import Voucher
from ..selectors import cart_page, mini_cart_summary
from .common import client_keys, current_cart, safe_next, wants_json


@require_GET
def cart_detail(request):
    cart = current_cart(request)
    page = cart_page(cart, user=request.user)
    return render(request, "orders/cart.html", {"page": page, "code_form": CodeForm()})


def _fail(request, message: str, status: int = 400):
    if wants_json(request):
        return JsonResponse({"ok": False, "error": message}, status=status)
    messages.error(request, message)
    return None


@require_POST
def cart_add(request):
    form = AddToCartForm(request.POST)
    fallback = reverse("orders:cart")
    if not form.is_valid():
        message = next(iter(form.errors.values()))[0]
        return _fail(request, message) or redirect(safe_next(request, fallback))
    try:
        # Check before creating a cart, so junk requests leave no rows behind.
        services.carts.sellable_variant(store_id=request.store.pk, variant_id=form.cleaned_data["variant"])
        cart = current_cart(request, create=True)
        line = services.add_to_cart(
            cart=cart, variant_id=form.cleaned_data["variant"], quantity=form.cleaned_data["quantity"]
        )
    except services.CartError as exc:
        return _fail(request, exc.message) or redirect(safe_next(request, fallback))
    if wants_json(request):
        summary = mini_cart_summary(request)
        return JsonResponse({"ok": True, "quantity": summary.quantity, "line_quantity": line.quantity})
    messages.success(request, _("Added to your cart: %(name)s.") % {"name": line.variant})
    return redirect(safe_next(request, fallback))


@require_POST
def cart_update(request, line_id: int):
    cart = current_cart(request)
    if cart is None:
        messages.error(request, _("This item is not in your cart."))
        return redirect("orders:cart")
    try:
        services.update_line(cart=cart, line_id=line_id, quantity=request.POST.get("quantity"))
    except services.CartError as exc:
        messages.error(request, exc.message)
    return redirect("orders:cart")


@require_POST
def cart_remove(request, line_id: int):
    cart = current_cart(request)
    try:
        if cart is None:
            raise services.CartError(_("This item is not in your cart."))
        services.remove_line(cart=cart, line_id=line_id)
    except services.CartError as exc:
        messages.error(request, exc.message)
    return redirect("orders:cart")


@require_POST
def cart_code(request):
    cart = current_cart(request)
    back = safe_next(request, reverse("orders:cart"))
    form = CodeForm(request.POST)
    if cart is None or not form.is_valid():
        messages.error(request, _("Enter a code."))
        return redirect(back)
    try:
        applied = services.apply_code(
            cart=cart,
            code=form.cleaned_data["code"],
            client_keys=client_keys(request, cart),
            user=request.user,
        )
    except services.RateLimited as exc:
        messages.error(request, exc.message)
        return redirect(back)
    except services.CartError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    if isinstance(applied, Voucher):
        messages.success(request, _("Code %(code)s applied.") % {"code": applied.code})
    else:
        messages.success(request, _("Gift card applied."))
    return redirect(back)


@require_POST
def cart_code_remove(request):
    cart = current_cart(request)
    if cart is not None:
        services.remove_code(cart=cart, what=request.POST.get("what", ""))
    return redirect(safe_next(request, reverse("orders:cart")))

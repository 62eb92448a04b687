"""Log in (with the cart merge) and log out. The account pages themselves live under /konto/."""

from __future__ import annotations

from django.contrib.auth import login, logout
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from shop.auth import LoginForm

from .. import services
from ..selectors import CART_SESSION_KEY
from .common import safe_next


@require_http_methods(["GET", "POST"])
def login_view(request):
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        guest_token = request.session.get(CART_SESSION_KEY)
        user = form.get_user()
        login(request, user)
        cart = services.cart_for_login(store=request.store, user=user, session_token=guest_token)
        if cart is not None:
            request.session[CART_SESSION_KEY] = cart.token
        return redirect(safe_next(request, "/"))
    response = render(request, "orders/login.html", {"form": form, "next": request.GET.get("next", "")})
    if getattr(request, "login_rate_limited", False):  # locked: say so, and when to retry
        response.status_code = 429
        response["Retry-After"] = str(request.login_retry_after)
    return response


@require_POST
def logout_view(request):
    logout(request)
    return redirect("/")

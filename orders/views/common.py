"""Helpers the orders views share."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from shop.ratelimit import client_ip

from ..models import Cart
from ..selectors import CART_SESSION_KEY, cart_for_request
from ..services import get_or_create_cart


def current_cart(request: HttpRequest, *, create: bool = False) -> Cart | None:
    cart = cart_for_request(request)
    if cart is None and create:
        cart = get_or_create_cart(
            store=request.store,
            user=request.user,
            token=request.session.get(CART_SESSION_KEY),
            language=getattr(request, "LANGUAGE_CODE", "pl"),
        )
    if cart is not None and request.session.get(CART_SESSION_KEY) != cart.token:
        request.session[CART_SESSION_KEY] = cart.token
    return cart


def safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def client_keys(request: HttpRequest, cart: Cart | None) -> list[str]:
    keys = [f"ip:{client_ip(request)}"]
    if cart is not None:
        keys.append(f"cart:{cart.pk}")
    if request.session.session_key:
        keys.append(f"session:{request.session.session_key}")
    return keys


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")

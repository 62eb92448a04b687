"""Shopper carts without an account: create, read, change, check out -- all through the orders
services, so stock reservation and no-overselling rules are the storefront's own.

The cart ``token`` (43 random characters) is the only key to a cart: it is never listed, never
guessable, and another shopper's token is simply "not found".
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from shop import ratelimit
from shop.api.errors import ApiError
from shop.api.idempotency import idempotent
from shop.api.permissions import IsCustomer
from shop.api.throttling import ApiKeyRateThrottle, IpRateThrottle, SensitiveRateThrottle
from shop.api.views import PublicView

from .. import selectors, services
from ..consent import EMAIL, wording
from ..models import Cart, Order, PaymentMethod, ShippingMethod
from ..services.checkout_limits import count_checkout_attempt
from .errors import refusals
from .serializers import (
    CartOutput,
    CartUpdateInput,
    CheckoutInput,
    CheckoutOutput,
    CodeInput,
    LineInput,
    LineUpdateInput,
    OrderOutput,
    ShippingChoicesOutput,
)

CART_TAGS = ["carts"]
STRICT_THROTTLES = [IpRateThrottle, ApiKeyRateThrottle, SensitiveRateThrottle]

CHECKOUT_EXAMPLE = {
    "email": "anna@example.com",
    "marketing_consent": False,
    "shipping_method": 1,
    "payment_method": 2,
    "answers": {
        "first_name": "Anna",
        "last_name": "Kowalska",
        "phone": "600 100 200",
        "street": "ul. Długa 5/3",
        "postal_code": "00-950",
        "city": "Warszawa",
    },
}


def _customer(request):
    """The shopper's account when logged in (customer token or session), else None."""
    return request.user if IsCustomer().has_permission(request, None) else None


def load_cart(store, token: str) -> Cart:
    """The guest cart ``token`` names in ``store`` (any status), or 404."""
    cart = None
    if token and len(token) <= 64:
        cart = (
            Cart.objects.select_related("store", "voucher", "gift_card", "payment_method", "shipping_method")
            .filter(store=store, token=token, user__isnull=True)
            .first()
        )
    if cart is None:
        raise ApiError(_("No such cart."), code="not_found", status_code=404)
    return cart


def cart_data(cart: Cart, *, user=None) -> dict:
    cart = load_cart(cart.store, cart.token)  # fresh, with the related rows the page needs
    page = selectors.cart_page(cart, user=user, with_recommendations=False)
    basket = page.basket
    problems = services.checkout_problems(page.loaded) if cart.status == Cart.Status.OPEN else []
    order = (
        Order.objects.filter(cart=cart).values("number", "token").first()
        if cart.status == "ordered"
        else None
    )
    return CartOutput(
        {
            "token": cart.token,
            "status": cart.status,
            "currency": cart.store.currency,
            "email": cart.email,
            "marketing_consent": cart.marketing_consent,
            "consent_text": wording(cart.store, EMAIL).text,
            "shipping_method": cart.shipping_method_id,
            "payment_method": cart.payment_method_id,
            "voucher_code": cart.voucher.code if cart.voucher_id else None,
            "voucher_problem": basket.voucher_problem,
            "gift_card": cart.gift_card.masked_code if cart.gift_card_id else None,
            "answers": cart.checkout or {},
            "needs_shipping": basket.needs_shipping,
            "lines": page.rows,
            "totals": basket,
            "problems": [{"step": s, "message": m} for s, m in problems],
            "order": order,
        }
    ).data


def _method(model, store, pk, field: str):
    if pk is None:
        return None
    found = model.objects.filter(store=store, pk=pk, is_active=True)
    if model is PaymentMethod:
        from ..payments.base import disabled_providers

        found = found.exclude(provider__in=disabled_providers())
    found = found.first()
    if found is None:
        raise ApiError(
            _("Not available in this shop."),
            status_code=400,
            fields={field: [_("Not available in this shop.")]},
        )
    return found


def apply_cart_update(request, cart: Cart, values: dict) -> Cart:
    """Email + consent, delivery and payment choices and checkout answers, via the services."""
    store = cart.store
    user = _customer(request)
    with refusals(), transaction.atomic():
        if "email" in values or "marketing_consent" in values:
            email = values.get("email", cart.email)
            if not email:
                raise ApiError(
                    _("Enter an email address."),
                    status_code=400,
                    fields={"email": [_("This field is required.")]},
                )
            services.save_checkout_email(
                cart=cart,
                email=email,
                marketing_consent=values.get("marketing_consent", cart.marketing_consent),
                user=user,
                ip_address=ratelimit.client_ip(request._request),
            )
        choices = {"shipping_method", "payment_method", "answers"} & set(values)
        if choices:
            shipping = (
                _method(ShippingMethod, store, values["shipping_method"], "shipping_method")
                if "shipping_method" in values
                else cart.shipping_method
            )
            payment = (
                _method(PaymentMethod, store, values["payment_method"], "payment_method")
                if "payment_method" in values
                else cart.payment_method
            )
            answers = {**(cart.checkout or {}), **values.get("answers", {})}
            services.set_checkout_choices(
                cart=cart, shipping_method=shipping, payment_method=payment, answers=answers
            )
    return cart


class CartCreateView(PublicView):
    """Create an empty cart. Its token is the shopper's key to it: keep it secret."""

    throttle_classes = STRICT_THROTTLES

    @extend_schema(tags=CART_TAGS, request=None, responses={201: CartOutput})
    def post(self, request):
        cart = services.get_or_create_cart(store=self.store, language=request._request.LANGUAGE_CODE)
        return Response(cart_data(cart), status=status.HTTP_201_CREATED)


class CartDetailView(PublicView):
    @extend_schema(tags=CART_TAGS, responses=CartOutput)
    def get(self, request, token: str):
        return Response(cart_data(load_cart(self.store, token), user=_customer(request)))

    @extend_schema(
        tags=CART_TAGS,
        request=CartUpdateInput,
        responses=CartOutput,
        examples=[OpenApiExample("contact and delivery", value=CHECKOUT_EXAMPLE, request_only=True)],
    )
    def patch(self, request, token: str):
        cart = load_cart(self.store, token)
        data = CartUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        apply_cart_update(request, cart, data.validated_data)
        return Response(cart_data(cart, user=_customer(request)))


class CartLinesView(PublicView):
    @extend_schema(
        tags=CART_TAGS,
        request=LineInput,
        responses={201: CartOutput},
        examples=[OpenApiExample("add", value={"variant_id": 42, "quantity": 2}, request_only=True)],
    )
    def post(self, request, token: str):
        cart = load_cart(self.store, token)
        data = LineInput(data=request.data)
        data.is_valid(raise_exception=True)
        with refusals():
            services.add_to_cart(
                cart=cart,
                variant_id=data.validated_data["variant_id"],
                quantity=data.validated_data["quantity"],
            )
        return Response(cart_data(cart, user=_customer(request)), status=status.HTTP_201_CREATED)


class CartLineView(PublicView):
    @extend_schema(tags=CART_TAGS, request=LineUpdateInput, responses=CartOutput)
    def patch(self, request, token: str, line_id: int):
        cart = load_cart(self.store, token)
        data = LineUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        with refusals():
            services.update_line(cart=cart, line_id=line_id, quantity=data.validated_data["quantity"])
        return Response(cart_data(cart, user=_customer(request)))

    @extend_schema(tags=CART_TAGS, responses={200: CartOutput})  # the cart without the line
    def delete(self, request, token: str, line_id: int):
        cart = load_cart(self.store, token)
        with refusals():
            services.remove_line(cart=cart, line_id=line_id)
        return Response(cart_data(cart, user=_customer(request)))


class CartVoucherView(PublicView):
    """Apply a voucher or gift card code; wrong codes are counted per IP and cart and, past the
    limit, every code is refused for a while."""

    throttle_classes = STRICT_THROTTLES

    @extend_schema(tags=CART_TAGS, request=CodeInput, responses=CartOutput)
    def post(self, request, token: str):
        cart = load_cart(self.store, token)
        data = CodeInput(data=request.data)
        data.is_valid(raise_exception=True)
        keys = [f"ip:{ratelimit.client_ip(request._request)}", f"cart:{cart.pk}"]
        with refusals():
            services.apply_code(
                cart=cart, code=data.validated_data["code"], client_keys=keys, user=_customer(request)
            )
        return Response(cart_data(cart, user=_customer(request)))

    @extend_schema(
        tags=CART_TAGS,
        parameters=[
            OpenApiParameter("what", str, enum=["voucher", "gift_card"], description="Default: voucher.")
        ],
        responses={200: CartOutput},  # the cart without the code
    )
    def delete(self, request, token: str):
        cart = load_cart(self.store, token)
        what = request.query_params.get("what") or "voucher"
        if what not in ("voucher", "gift_card"):
            raise ApiError(
                _("Use what=voucher or what=gift_card."),
                status_code=400,
                fields={"what": [_("Invalid choice.")]},
            )
        with refusals():
            services.remove_code(cart=cart, what=what)
        return Response(cart_data(cart, user=_customer(request)))


class CartShippingMethodsView(PublicView):
    """Delivery methods with their price for this cart, and the payment methods that go with the
    chosen one."""

    @extend_schema(tags=CART_TAGS, responses=ShippingChoicesOutput)
    def get(self, request, token: str):
        cart = load_cart(self.store, token)
        page = selectors.cart_page(cart, user=_customer(request), with_recommendations=False)
        options = page.basket.shipping_options if page.basket.needs_shipping else []
        payments = selectors.available_payment_methods(self.store, cart.shipping_method)
        return Response(
            ShippingChoicesOutput({"shipping_methods": options, "payment_methods": payments}).data
        )


class CartCheckoutView(PublicView):
    """Place the order: contact, consent, addresses, delivery and payment (each optional if set
    before with PATCH), then ``orders.services.place_order``. Send an ``Idempotency-Key``: a
    retry returns the first order and places nothing new."""

    throttle_classes = STRICT_THROTTLES

    @extend_schema(
        tags=CART_TAGS,
        request=CheckoutInput,
        responses={201: CheckoutOutput, 200: CheckoutOutput},
        parameters=[
            OpenApiParameter("Idempotency-Key", str, location=OpenApiParameter.HEADER, required=False)
        ],
        examples=[OpenApiExample("checkout", value=CHECKOUT_EXAMPLE, request_only=True)],
    )
    def post(self, request, token: str):
        cart = load_cart(self.store, token)
        return idempotent(request=request, scope=f"cart:{cart.pk}", run=lambda: self._checkout(request, cart))

    def _checkout(self, request, cart: Cart):
        data = CheckoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        expected = values.pop("expected_total", None)
        expected_due = values.pop("expected_amount_due", None)
        already = cart.status == Cart.Status.ORDERED
        if not already:
            with refusals():
                count_checkout_attempt(ip=ratelimit.client_ip(request._request), cart=cart)
            apply_cart_update(request, cart, values)
        with refusals():
            order = services.place_order(
                cart=cart,
                expected_total=expected,
                expected_amount_due=expected_due,
                channel=Order.Channel.API,
                user=_customer(request),
            )
            payment = None
            start = (
                services.start_payment(order=order) if order.status == Order.Status.AWAITING_PAYMENT else None
            )
            opened = services.open_payment(order) if start is not None else None
            if start is not None:
                payment = {
                    "provider": opened.provider if opened else order.payment_provider,
                    "redirect_url": start.redirect_url,
                    "instructions": start.instructions,
                }
        order = (
            Order.objects.select_related("shipping_address", "billing_address")
            .prefetch_related("lines")
            .get(pk=order.pk)
        )
        body = {"order": OrderOutput(order, context={"request": request}).data, "payment": payment}
        return Response(body, status=200 if already else 201)

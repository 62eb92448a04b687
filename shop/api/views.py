"""Base classes every API view derives from, the shopper token endpoints, and the JSON 404.

Each base class states who may call a view: :class:`PublicView` (anyone; the store comes from the
Host header), :class:`CustomerView` (a logged-in shopper), :class:`MerchantView` (a merchant API
key with the scope in ``required_scopes``/``required_scope``).
"""

from __future__ import annotations

import re

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from shop.auth import lockout_message

from . import keys
from .errors import ApiError, json_error
from .models import CustomerToken
from .permissions import HasScope, IsCustomer, api_key_of
from .throttling import SensitiveRateThrottle, throttled


class PublicView(GenericAPIView):
    permission_classes = [AllowAny]
    metadata_class = None  # OPTIONS answers 405: the OpenAPI schema describes every endpoint

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        for name in DATE_PARAMETERS:  # the schema's ``format: date``: YYYY-MM-DD, never empty
            raw = request.query_params.get(name)
            if raw is not None and not _is_iso_date(raw):
                raise _bad_query(name, _("Enter a date as YYYY-MM-DD."))
        for name in AMOUNT_PARAMETERS:  # the schema's pattern: a plain amount, or empty for none
            raw = request.query_params.get(name)
            if raw is not None and not re.fullmatch(AMOUNT_QUERY_PATTERN, raw):
                raise _bad_query(name, _("Enter an amount such as 149.00."))

    @property
    def store(self):
        return self.request._request.store


class CustomerView(PublicView):
    permission_classes = [IsCustomer]


class MerchantView(PublicView):
    permission_classes = [HasScope]

    @property
    def api_key(self):
        return api_key_of(self.request)


#: The JSON type each field accepts, as the OpenAPI schema states it (first match wins): DRF
#: would coerce ``0`` to ``"0"`` or ``False`` and ``"5"`` to ``5``; the API takes what it says.
BOOLEAN, INTEGER, AMOUNT, TEXT = "boolean", "integer", "amount", "text"
JSON_TYPES: list[tuple[type, tuple[type, ...], str]] = [
    (serializers.BooleanField, (bool,), BOOLEAN),
    (serializers.IntegerField, (int,), INTEGER),
    (serializers.DecimalField, (str,), AMOUNT),  # money: "149.00", never a binary float
    (serializers.CharField, (str,), TEXT),
    (serializers.ChoiceField, (str,), TEXT),
    (serializers.DateField, (str,), TEXT),
    (serializers.DateTimeField, (str,), TEXT),
]


def json_type_error(field, value) -> str | None:
    """The refusal for ``value`` when it is not the JSON type ``field`` declares, else None."""
    if value is None:
        return None  # DRF's allow_null decides
    for field_class, types, kind in JSON_TYPES:
        if isinstance(field, field_class):
            if kind == AMOUNT and isinstance(value, str):
                from .schema import AMOUNT_PATTERN

                return None if re.fullmatch(AMOUNT_PATTERN, value) else _("Enter an amount such as 149.00.")
            if isinstance(value, types) and not (kind == INTEGER and isinstance(value, bool)):
                return None
            return {
                BOOLEAN: _("Expected true or false."),
                INTEGER: _("Expected a whole number."),
                AMOUNT: _('Expected an amount as a string, e.g. "149.00".'),
                TEXT: _("Expected text in quotes."),
            }[kind]
    return None


class StrictInputMixin:
    """Refuse unknown fields instead of silently ignoring them (a typo is an error), and values of
    another JSON type than the field's (``"customer_note": 0``, ``"is_published": 0``); works for
    nested and per-row serializers too."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(str(k) for k in data if k not in self.fields)
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
            wrong = {}
            for name, field in self.fields.items():
                if name in data and not field.read_only:
                    values = data[name]
                    if isinstance(field, serializers.ListField) and isinstance(values, list):
                        field, checked = field.child, values
                    else:
                        checked = [values]
                    errors = [e for e in (json_type_error(field, v) for v in checked) if e]
                    if errors:
                        wrong[name] = errors[:1]
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


class StrictSerializer(StrictInputMixin, serializers.Serializer):
    pass


# --- Query parameters, exactly as the schema states them ----------------------------------------


DATE_PARAMETERS = ("date_from", "date_to")
AMOUNT_PARAMETERS = ("total_min", "total_max", "price_min", "price_max")
AMOUNT_QUERY_PATTERN = r"^(\d{1,10}(\.\d{1,2})?)?$"


def _is_iso_date(raw: str) -> bool:
    import datetime as dt

    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        return False
    try:
        dt.date.fromisoformat(raw)
    except ValueError:
        return False
    return True


def _bad_query(name: str, message: str):
    return ApiError(message, status_code=400, fields={name: [message]})


def query_bool(request, name: str) -> bool | None:
    """``?name=true`` / ``false`` (the OpenAPI boolean), None when absent; anything else is 400."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise _bad_query(name, _("Use true or false."))
    return raw == "true"


def query_int(request, name: str, *, minimum: int = 1) -> int | None:
    """A whole number from ``minimum`` (the schema's ``minimum``), None when absent; else 400."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) < minimum or int(raw) > 2**63 - 1:
        raise _bad_query(name, _("Enter a whole number from %(minimum)s.") % {"minimum": minimum})
    return int(raw)


# --- Shopper tokens ------------------------------------------------------------------------------


class TokenInput(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class TokenOutput(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Bearer <token>`. Shown once.")
    expires_at = serializers.DateTimeField()


class CustomerTokenView(PublicView):
    """Log a shopper in: email + password -> a bearer token for the ``me/`` endpoints."""

    throttle_classes = [SensitiveRateThrottle]
    authentication_classes: list = []

    @extend_schema(
        request=TokenInput,
        responses={201: TokenOutput},
        tags=["customer"],
        examples=[
            OpenApiExample("login", value={"email": "anna@example.com", "password": "…"}, request_only=True)
        ],
    )
    def post(self, request):
        data = TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request._request, username=data.validated_data["email"], password=data.validated_data["password"]
        )
        locked = lockout_message(request._request)
        if locked:  # with Retry-After, like every 429
            raise throttled(locked, wait=request._request.login_retry_after)
        if user is None or not user.is_active:
            raise ApiError(_("Wrong email or password."), code="authentication_failed", status_code=401)
        token, raw = keys.create_customer_token(store=self.store, user=user)
        return Response(TokenOutput({"token": raw, "expires_at": token.expires_at}).data, status=201)


class CustomerTokenLogoutView(CustomerView):
    """Revoke the token this request was made with."""

    @extend_schema(request=None, responses={204: None}, tags=["customer"])
    def delete(self, request):
        if isinstance(request.auth, CustomerToken):
            keys.revoke_customer_token(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Fallbacks -----------------------------------------------------------------------------------


class ApiRootView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            200: inline_serializer(
                "ApiRoot", {"version": serializers.CharField(), "docs": serializers.CharField()}
            )
        },
        tags=["meta"],
    )
    def get(self, request):
        return Response({"version": "v1", "docs": "/api/docs/"})


def not_found(request, *args, **kwargs):
    """Any unknown path under /api/: 404 in the API's error shape."""
    return json_error(404, "not_found", _("There is no API endpoint at this address."))

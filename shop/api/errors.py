"""The one error shape of the API and the exception handler that produces it.

Every error, whatever raised it, is answered as::

    {"error": {"code": "invalid", "message": "Some fields are invalid.", "fields": {"email": ["..."]}}}

``fields`` maps a field path (``rows.3.price``) to its messages; it is ``{}`` when no field is at
fault. Resource modules raise :class:`ApiError` for refusals from the services (a sold-out item,
a transition the workflow forbids), so the status and code are chosen at the edge while the rule
itself stays in the service.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

log = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """A refusal with a chosen status, code, message and optional per-field messages."""

    def __init__(self, message: str, *, code: str = "invalid", status_code: int = 422, fields=None):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.message = str(message)
        self.fields = fields or {}


class Conflict(ApiError):
    def __init__(self, message: str, *, code: str = "conflict", fields=None):
        super().__init__(message, code=code, status_code=409, fields=fields)


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": str(message), "fields": fields or {}}}


def json_error(status_code: int, code: str, message: str, fields: dict | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, fields), status=status_code)


def flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as ``{"a.0.b": ["message"]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "" if key in ("non_field_errors", "__all__") and not prefix else str(key)
            path = f"{prefix}.{name}" if prefix and name else (name or prefix)
            for k, v in flatten(value, path).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(x, dict | list) for x in detail):
            if detail:
                out.setdefault(prefix, []).extend(str(x) for x in detail)
        else:
            for i, value in enumerate(detail):
                if value:
                    for k, v in flatten(value, f"{prefix}.{i}" if prefix else str(i)).items():
                        out.setdefault(k, []).extend(v)
    elif detail not in (None, ""):
        out.setdefault(prefix, []).append(str(detail))
    return out


def _validation_message(fields: dict[str, list[str]]) -> str:
    if list(fields) == [""]:
        return fields[""][0]
    return _("Some fields are invalid.")


def _convert(exc):
    """Django and database exceptions as DRF exceptions (or None when unknown)."""
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        return ApiError(_("The request body is too large."), code="too_large", status_code=413)
    if isinstance(exc, SuspiciousOperation):
        return ApiError(_("The request was refused."), code="bad_request", status_code=400)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        return exceptions.ValidationError(detail)
    if isinstance(exc, ProtectedError):
        return Conflict(_("This object is still in use and cannot be deleted."), code="protected")
    if isinstance(exc, IntegrityError):
        log.warning("IntegrityError answered as 409", exc_info=exc)
        return Conflict(_("The request conflicts with the current state. Please try again."))
    return exc


CODES = {
    exceptions.ParseError: "parse_error",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def api_exception_handler(exc, context):
    exc = _convert(exc)
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's 500 handling (JSON for /api/, see middleware) takes over
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
    if isinstance(exc, ApiError):
        body = error_body(exc.error_code, exc.message, exc.fields)
    elif isinstance(exc, exceptions.Throttled):
        from .throttling import throttled_message

        wait = int(headers["Retry-After"]) if "Retry-After" in headers else None
        body = error_body("throttled", throttled_message(wait))
    elif isinstance(exc, exceptions.ValidationError):
        fields = flatten(exc.detail)
        body = error_body("invalid", _validation_message(fields), {k: v for k, v in fields.items() if k})
    else:
        code = next((c for cls, c in CODES.items() if isinstance(exc, cls)), None)
        if code is None:
            code = exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.default_detail)
        body = error_body(code, detail)
    set_rollback()
    return Response(body, status=exc.status_code or status.HTTP_400_BAD_REQUEST, headers=headers)

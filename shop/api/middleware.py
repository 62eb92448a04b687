"""Keep the API's promise of one error shape for what happens before or around DRF's views.

For paths under ``/api/`` this middleware (placed before ``StoreMiddleware``):

* refuses addresses (path and query) longer than ``API_MAX_URL_BYTES`` with 414, and bodies
  larger than ``API_MAX_BODY_BYTES`` with 413, before anything reads them (gunicorn runs with
  ``--limit-request-line 8190`` so such addresses reach Django and get the JSON shape);
* rewrites any non-JSON error response (unknown store host, Django's 404/400/403 pages) into
  ``{"error": {...}}`` with the same status;
* answers an unexpected exception with a JSON 500 (logged with its traceback) instead of the
  storefront's HTML error page.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext as _

from .errors import json_error

log = logging.getLogger("shop.api")

MESSAGES = {
    400: ("bad_request", "The request could not be understood."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    413: ("too_large", "The request body is too large."),
    414: ("uri_too_long", "The address is too long. Send long input in a JSON body."),
    429: ("throttled", "Too many requests."),
}


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


class ApiErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_api_path(request.path):
            return self.get_response(request)
        if len(request.get_full_path().encode()) > settings.API_MAX_URL_BYTES:
            return json_error(
                414, "uri_too_long", _("The address is too long. Send long input in a JSON body.")
            )
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error(400, "bad_request", _("Invalid Content-Length header."))
        if length > settings.API_MAX_BODY_BYTES:
            return json_error(413, "too_large", _("The request body is too large."))
        if length:
            try:
                request.body  # noqa: B018  (read once: size-checked, and replayable for idempotency)
            except RequestDataTooBig:
                return json_error(413, "too_large", _("The request body is too large."))
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if response.status_code >= 400 and not content_type.startswith(
            ("application/json", "application/problem+json", "application/vnd.oai.openapi")
        ):
            code, message = MESSAGES.get(response.status_code, ("error", "The request failed."))
            if response.status_code >= 500:
                code, message = "server_error", "Something went wrong on our side. Please try again."
            new = json_error(response.status_code, code, _(message))
            for header in ("Retry-After", "WWW-Authenticate", "Allow"):
                if header in response:
                    new[header] = response[header]
            return new
        return response

    def process_exception(self, request, exception):
        if not is_api_path(request.path):
            return None
        log.exception("Unhandled API error on %s %s", request.method, request.path)
        return json_error(500, "server_error", _("Something went wrong on our side. Please try again."))

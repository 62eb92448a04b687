"""Content-Security-Policy and Permissions-Policy on every response (docs/configuration.md, "Security").

Each request gets a fresh random nonce (``request.csp_nonce``; templates read ``{{ csp_nonce }}``
through ``shop.context_processors.store``). Storefront pages allow scripts from the shop itself
and from scripts carrying that nonce: the shop's inline scripts, the store's custom JavaScript
(``Store.custom_js``, rendered with the nonce in base.html) and nothing else inline -- a product
name or feed text that smuggles ``<script>`` or ``onerror=`` into a page runs nothing. The hosts of
the marketing tags (Google Analytics/Ads, Meta Pixel, Trusted Shops or the review widget) are
added only when the store has that tag switched on; consent.js still loads them only after the
shopper agreed (the banner's "Accept" loads them on the same page, so the hosts cannot wait for
the consent cookie). The InPost map's host is added when the store has a Geowidget token.

The admin and the API's documentation pages (Swagger UI, ReDoc) get the back-office policy: the
same, except that inline scripts are allowed there (Swagger UI's configuration script and a few
inline handlers of admin pages); no shopper or feed text is rendered unescaped on them.

``CSP_ENFORCE=false`` sends the policy as ``Content-Security-Policy-Report-Only``; with
``CSP_REPORT_URI`` set (default ``/csp-report/``) browsers report violations there and
``csp_report`` logs them.
"""

from __future__ import annotations

import json
import logging
import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

log = logging.getLogger(__name__)

# Hosts each marketing tag needs, per Google's, Meta's and Trusted Shops' CSP guides.
GOOGLE_ANALYTICS = {
    "script": ["https://www.googletagmanager.com", "https://*.googletagmanager.com"],
    "connect": [
        "https://*.google-analytics.com",
        "https://*.analytics.google.com",
        "https://*.googletagmanager.com",
    ],
    "frame": [],
}
GOOGLE_ADS = {
    "script": [
        "https://www.googletagmanager.com",
        "https://www.googleadservices.com",
        "https://www.google.com",
        "https://googleads.g.doubleclick.net",
    ],
    "connect": [
        "https://www.google.com",
        "https://googleads.g.doubleclick.net",
        "https://pagead2.googlesyndication.com",
        "https://www.googleadservices.com",
    ],
    "frame": ["https://td.doubleclick.net", "https://www.googletagmanager.com"],
}
META_PIXEL = {
    "script": ["https://connect.facebook.net"],
    "connect": ["https://www.facebook.com", "https://connect.facebook.net"],
    "frame": ["https://www.facebook.com"],
}
TRUSTED_SHOPS = {
    "script": ["https://widgets.trustedshops.com"],
    "connect": ["https://*.trustedshops.com"],
    "frame": ["https://*.trustedshops.com"],
}
INPOST_MAP_HOSTS = ["https://*.inpost.pl", "https://*.easypack24.net"]
# Where the checkout's POST may lead: the payment gateways redirect the shopper's form
# submission to their pages (browsers apply form-action to those redirects).
GATEWAY_HOSTS = ["https://*.przelewy24.pl", "https://*.payu.com", "https://checkout.stripe.com"]

PERMISSIONS_POLICY = {
    "accelerometer": "()",
    "camera": "()",
    "display-capture": "()",
    "gyroscope": "()",
    "hid": "()",
    "magnetometer": "()",
    "microphone": "()",
    "midi": "()",
    "payment": "()",
    "serial": "()",
    "usb": "()",
}
BACK_OFFICE_PREFIXES = ("/admin/", "/api/docs/", "/api/redoc/")
REPORT_MAX_BYTES = 16 * 1024
NON_HTML_POLICY = "default-src 'none'; frame-ancestors 'none'"


def origin(url: str) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def _marketing_hosts(request) -> dict[str, list[str]]:
    hosts: dict[str, list[str]] = {"script": [], "connect": [], "frame": []}
    if getattr(request, "store", None) is None:
        return hosts
    from integrations.marketing import selectors

    config = selectors.request_config(request)
    if not config.get("enabled"):
        return hosts
    chosen = []
    if config.get("ga4"):
        chosen.append(GOOGLE_ANALYTICS)
    if config.get("ads"):
        chosen.append(GOOGLE_ADS)
    if config.get("pixel"):
        chosen.append(META_PIXEL)
    if config.get("trustedShops"):
        chosen.append(TRUSTED_SHOPS)
    for tag in chosen:
        for kind, values in tag.items():
            hosts[kind].extend(values)
    widget = origin(config.get("widgetUrl") or "")
    if widget and not config.get("trustedShops"):
        for kind in hosts:
            hosts[kind].append(widget)
    return hosts


def _unique(values) -> str:
    return " ".join(dict.fromkeys(v for v in values if v))


def build_policy(request, nonce: str, *, back_office: bool = False) -> str:
    tags = _marketing_hosts(request) if not back_office else {"script": [], "connect": [], "frame": []}
    script = ["'self'", "'unsafe-inline'"] if back_office else ["'self'", f"'nonce-{nonce}'"]
    style, connect, frame, font = ["'self'", "'unsafe-inline'"], ["'self'"], ["'self'"], ["'self'", "data:"]
    script += tags["script"] + list(settings.CSP_EXTRA_SCRIPT_SRC)
    connect += tags["connect"] + list(settings.CSP_EXTRA_CONNECT_SRC)
    frame += tags["frame"] + list(settings.CSP_EXTRA_FRAME_SRC)
    if settings.INPOST_GEOWIDGET_TOKEN and not back_office:
        geo = origin(settings.INPOST_GEOWIDGET_URL)
        script.append(geo)
        style.append(geo)
        font.append(geo)
        connect += [geo, *INPOST_MAP_HOSTS]
    form_action = ["'self'", *GATEWAY_HOSTS]
    for url in (
        settings.PRZELEWY24_URL,
        settings.PRZELEWY24_SANDBOX_URL,
        settings.PAYU_URL,
        settings.PAYU_SANDBOX_URL,
    ):
        form_action.append(origin(url))
    directives = [
        "default-src 'self'",
        f"script-src {_unique(script)}",
        f"style-src {_unique(style)}",
        # Product pictures and descriptions may show images from the merchant's CDN; images run no code.
        "img-src 'self' data: blob: https:",
        f"font-src {_unique(font)}",
        f"connect-src {_unique(connect)}",
        f"frame-src {_unique(frame)}",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        f"form-action {_unique(form_action)}",
        "frame-ancestors 'none'",
    ]
    if settings.CSP_REPORT_URI:
        directives.append(f"report-uri {settings.CSP_REPORT_URI}")
    return "; ".join(directives)


def permissions_policy() -> str:
    features = dict(PERMISSIONS_POLICY)
    # The InPost map offers "find lockers near me": the page itself (not a frame) may ask.
    features["geolocation"] = "(self)" if settings.INPOST_GEOWIDGET_TOKEN else "()"
    return ", ".join(f"{name}={allow}" for name, allow in sorted(features.items()))


class SecurityHeadersMiddleware:
    """Adds the nonce to the request and the two policies to the response (unless a view set them)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(18)
        response = self.get_response(request)
        back_office = request.path.startswith(BACK_OFFICE_PREFIXES)
        header = "Content-Security-Policy" if settings.CSP_ENFORCE else "Content-Security-Policy-Report-Only"
        if (
            "Content-Security-Policy" not in response
            and "Content-Security-Policy-Report-Only" not in response
        ):
            if response.get("Content-Type", "").startswith("text/html"):
                response[header] = build_policy(request, request.csp_nonce, back_office=back_office)
            else:
                # JSON, files, feeds: nothing in them may run or be framed; no store settings read.
                response[header] = NON_HTML_POLICY
        if "Permissions-Policy" not in response:
            response["Permissions-Policy"] = permissions_policy()
        return response


@csrf_exempt
@require_POST
def csp_report(request):
    """Browsers' violation reports (application/csp-report): logged, never stored; 204 always."""
    body = request.read(REPORT_MAX_BYTES + 1)
    if len(body) > REPORT_MAX_BYTES:
        return HttpResponse(status=413)
    try:
        report = json.loads(body or b"{}").get("csp-report") or {}
    except (ValueError, AttributeError):
        return HttpResponse(status=400)
    if isinstance(report, dict):
        log.warning(
            "CSP violation: %s blocked %s on %s",
            str(report.get("violated-directive") or report.get("effective-directive") or "?")[:200],
            str(report.get("blocked-uri") or "?")[:300],
            str(report.get("document-uri") or "?")[:300],
        )
    return HttpResponse(status=204)

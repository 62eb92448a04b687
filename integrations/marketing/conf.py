"""Tunables of the marketing tags, each overridable in Django settings (``MARKETING_*``).

They live here with their defaults so the tags work without touching ``shop/settings.py``;
``docs/integrations.md`` lists them.
"""

from __future__ import annotations

from django.conf import settings

DEFAULTS = {
    # Name of the first-party cookie holding the shopper's choice.
    "MARKETING_CONSENT_COOKIE": "koszyk_consent",
    # Bump when the banner's categories or wording change: every stored choice is asked again.
    "MARKETING_CONSENT_VERSION": 1,
    # How long a choice is kept (the banner asks again afterwards).
    "MARKETING_CONSENT_MAX_AGE_DAYS": 365,
    # Google Consent Mode's wait_for_update (milliseconds).
    "MARKETING_CONSENT_WAIT_FOR_UPDATE_MS": 500,
    # Hosts a generic review-widget script may be loaded from (https only, exact host or a
    # subdomain of it).
    "MARKETING_REVIEW_WIDGET_HOSTS": [
        "widgets.trustedshops.com",
        "integrations.etrusted.com",
        "trustmate.io",
        "ceneo.pl",
    ],
    # Seconds a store's tag settings stay in the cache (saving them clears it at once).
    "MARKETING_SETTINGS_CACHE_SECONDS": 3600,
    # A purchase is reported only on a thank-you page seen within this many hours of placing the
    # order (an old order link opened weeks later is not this visit's sale).
    "MARKETING_PURCHASE_WINDOW_HOURS": 48,
    # Consent choices kept as proof (days), and how many a browser (IP) may record per hour.
    "MARKETING_CONSENT_LOG_RETENTION_DAYS": 1095,
    "MARKETING_CONSENT_LOG_RATE_LIMIT": 30,
    # Most events carried from a cart change to the next page (a flood of POSTs cannot grow the
    # session without bound).
    "MARKETING_MAX_PENDING_EVENTS": 10,
    # Most items listed in one event (GA4 accepts up to 200 items per event).
    "MARKETING_MAX_EVENT_ITEMS": 200,
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])

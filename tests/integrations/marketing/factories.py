"""Factories for the marketing tags (other models come from the catalog/orders/shop factories)."""

from __future__ import annotations

import factory

from integrations.marketing.models import MarketingSettings
from tests.shop.factories import StoreFactory

GA4 = "G-TEST123456"
ADS = "AW-123456789"
ADS_LABEL = "AbC-dEf_123"
PIXEL = "1234567890123456"
TSID = "X" + "0123456789ABCDEF" * 2


class MarketingSettingsFactory(factory.django.DjangoModelFactory):
    """A store with every tag switched on and valid ids."""

    class Meta:
        model = MarketingSettings
        django_get_or_create = ("store",)

    store = factory.SubFactory(StoreFactory)
    ga4_enabled = True
    ga4_measurement_id = GA4
    google_ads_enabled = True
    google_ads_conversion_id = ADS
    google_ads_purchase_label = ADS_LABEL
    meta_pixel_enabled = True
    meta_pixel_id = PIXEL
    review_widget_enabled = True
    trusted_shops_id = TSID


def consent_cookie(*, analytics: bool, marketing: bool, version: str = "1.1") -> str:
    """The cookie value consent.js writes."""
    return f"v={version}&a={int(analytics)}&m={int(marketing)}&t=1763880000"

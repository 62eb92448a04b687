"""System checks for production (``manage.py check --deploy``) beyond Django's own."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def test_gateway_off_in_production(app_configs=None, **kwargs):
    if not settings.TEST_GATEWAY_ENABLED:
        return []
    return [
        Warning(
            "TEST_GATEWAY_ENABLED is on: shoppers who pick a test-gateway payment method can mark "
            "their own orders paid.",
            hint="Unset TEST_GATEWAY_ENABLED (it defaults to off without DEBUG) and offer a real "
            "gateway (docs/payments.md).",
            id="koszyk.W001",
        )
    ]


@register(Tags.security, deploy=True)
def technical_404_off_in_production(app_configs=None, **kwargs):
    if not (settings.DEBUG and settings.DEBUG_TECHNICAL_404):
        return []
    return [
        Warning(
            "DEBUG_TECHNICAL_404 is on: unknown addresses show every URL pattern of the shop.",
            hint="Unset DEBUG_TECHNICAL_404 (and DEBUG) in production.",
            id="koszyk.W002",
        )
    ]

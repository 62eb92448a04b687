"""Consent per channel, as recovery sees it.

Orders asks the questions at checkout (``orders.consent``: one unticked checkbox per channel the
store uses, each with its own versioned text) and keeps every answer (``ConsentRecord`` with its
``channel``). Recovery tells orders which channels it uses (:func:`channels_in_use`, registered in
``RecoveryConfig.ready``) and, at every send, asks for the answer of the step's channel
(``recovery.carts.consent_answer``): a step never uses a channel the shopper did not agree to.
"""

from __future__ import annotations

from django.conf import settings

from .models import Step


def channels_in_use(store) -> set[str]:
    """Channels of the active steps of the store's active campaigns that can really send now
    (SMS needs a provider, web push VAPID keys)."""
    from .channels import sms_configuration_problem

    used = set(
        Step.objects.filter(campaign__store=store, campaign__is_active=True, is_active=True)
        .values_list("channel", flat=True)
        .distinct()
    )
    if "sms" in used and sms_configuration_problem():
        used.discard("sms")
    if "push" in used and not (settings.VAPID_PUBLIC_KEY and settings.VAPID_PRIVATE_KEY):
        used.discard("push")
    return used

"""What a reminder's ``reason`` code means, for the merchant (the admin never shows the code)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

REASONS = {
    "campaign_paused": _("campaign paused"),
    "frequency_cap": _("too many messages lately (frequency cap)"),
    "quiet_hours": _("quiet hours"),
    "waiting_previous_step": _("waiting for the previous step"),
    "holdout": _("holdout group (no messages)"),
    "max_steps": _("step limit reached"),
    "no_consent": _("no consent for this channel"),
    "no_phone": _("no phone number"),
    "no_push_subscription": _("no web push subscription"),
    "sms_not_configured": _("SMS not configured"),
    "suppressed": _("address on the suppression list"),
    "cart_active": _("the shopper came back to the cart"),
    "cart_reminded": _("cart already reminded"),
    "cart_recovered": _("cart recovered"),
    "cart_ordered": _("cart ordered"),
    "cart_cancelled": _("order cancelled"),
    "cart_lost": _("cart lost"),
    "cart_opted_out": _("shopper opted out"),
    "cart_changed": _("the cart changed"),
    "cart_empty": _("the cart is empty"),
    "sold_out": _("everything in the cart is sold out"),
    "ordered": _("the shopper ordered"),
    "ordered_since": _("the shopper ordered since"),
    "error": _("sending error"),
    "provider_refused": _("refused by the provider"),
    "provider_unavailable": _("provider unavailable"),
    "provider_unknown": _("unknown provider"),
    "render_error": _("template error"),
    "retry": _("to be retried"),
    "too_many_attempts": _("too many attempts"),
    "lease_expired": _("send lease expired"),
    "worker_died_after_handoff": _("worker died after the hand-off"),
    "resend_requested": _("resend requested"),
    "written_off": _("written off"),
    "erased": _("shopper's data erased"),
    "expired": _("expired"),
    "purged": _("old data purged"),
}


def reason_label(code: str) -> str:
    if not code:
        return "—"
    return str(REASONS.get(code, code.replace("_", " ")))

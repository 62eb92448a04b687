"""``{% recovery_push_optin %}``: the web-push opt-in for cart reminders, shown only where it makes
sense (the cart and checkout pages) and only when VAPID keys are configured."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.template.loader import render_to_string

register = template.Library()

PATHS = ("/koszyk/", "/zamowienie/")


@register.simple_tag(takes_context=True)
def recovery_push_optin(context) -> str:
    request = context.get("request")
    if not settings.VAPID_PUBLIC_KEY or request is None or not request.path.startswith(PATHS):
        return ""
    return render_to_string("recovery/push_optin.html", request=request)

"""Channels a reminder can go out on: email, SMS, web push.

Every channel turns a rendered :class:`OutgoingMessage` into a provider message id, or raises:

- :class:`TransientError`: the provider did not take the message (connection refused, SMTP 4xx,
  HTTP 5xx/429); the reminder is retried with backoff and keeps its place in the sequence;
- :class:`PermanentError`: it will never work (address refused, invalid number); the reminder
  fails with the reason;
- :class:`AmbiguousError`: the provider may have taken it (connection lost mid-send); the
  reminder becomes ``unknown`` and is never sent again -- unless the channel's resubmission is
  idempotent (SMSAPI with ``idx`` + ``check_idx``), in which case it is retried safely.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _


class ChannelError(Exception):
    reason = "error"


class TransientError(ChannelError):
    reason = "provider_unavailable"


class PermanentError(ChannelError):
    reason = "provider_refused"


class AmbiguousError(ChannelError):
    reason = "provider_unknown"


@dataclass
class OutgoingMessage:
    to: str
    subject: str
    text: str
    html: str = ""
    sender: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    # Stable per reminder: providers that deduplicate on it make a resubmission harmless.
    idempotency_key: str = ""
    url: str = ""  # push: what a click on the notification opens
    extra: dict = field(default_factory=dict)


def sms_configuration_problem() -> str | None:
    """Why SMS cannot be used with the current settings, or None."""
    provider = settings.RECOVERY_SMS_PROVIDER
    if not provider:
        return _("No SMS provider is configured (RECOVERY_SMS_PROVIDER is empty).")
    if provider == "console":
        return None
    if provider == "smsapi":
        if not settings.SMSAPI_TOKEN:
            return _("SMSAPI needs SMSAPI_TOKEN in the settings.")
        return None
    return _("Unknown SMS provider %(name)s; use 'smsapi' or 'console'.") % {"name": provider}


def channel_for(name: str):
    from .email import EmailChannel
    from .push import PushChannel
    from .sms import SmsChannel

    return {"email": EmailChannel, "sms": SmsChannel, "push": PushChannel}[name]()

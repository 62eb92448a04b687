"""The consent questions asked at checkout: one per channel (e-mail, SMS, web push).

Each channel has its own wording and version: the store's own text when the merchant wrote one
(:class:`~orders.models.ConsentText`, Polish and English, a new version with every edit), else
the built-in text below with its version. Every answer is stored with the exact text shown and
that version (:class:`~orders.models.ConsentRecord`). Change a built-in version whenever its
wording changes.

Which channels a store really uses is known by the apps that send messages (recovery): they
register a function with :func:`register_channels_source` (orders never imports them). E-mail is
always asked; SMS only when a sender uses it and the shopper gave a phone number; web push only
when a sender uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext as _

EMAIL, SMS, PUSH = "email", "sms", "push"
CHANNELS = (EMAIL, SMS, PUSH)

# The built-in wording's versions. The e-mail text is the one every answer before per-channel
# consent was given to.
CONSENT_VERSION = "2026-11-01"
BUILTIN_VERSIONS = {EMAIL: CONSENT_VERSION, SMS: "2026-12-07", PUSH: "2026-12-07"}


def consent_text(store_name: str) -> str:
    """The built-in e-mail consent text (also asked at registration)."""
    return _(
        "I agree that %(store)s may send me emails about my unfinished cart and about offers. "
        "I can withdraw my consent at any time with the link in every message."
    ) % {"store": store_name}


def builtin_text(channel: str, store_name: str) -> str:
    if channel == SMS:
        return _(
            "I agree that %(store)s may send me text messages (SMS) about my unfinished cart to "
            "the phone number I give. I can withdraw my consent at any time with the link in every "
            "message."
        ) % {"store": store_name}
    if channel == PUSH:
        return _(
            "I agree that %(store)s may show me notifications in this browser about my unfinished "
            "cart. I can withdraw my consent at any time in the browser's settings."
        ) % {"store": store_name}
    return consent_text(store_name)


@dataclass(frozen=True)
class Wording:
    channel: str
    text: str
    version: str


def wording(store, channel: str, language: str | None = None) -> Wording:
    """What the shopper is shown for ``channel`` in ``language`` (default: the active one)."""
    from .models import ConsentText

    language = language or translation.get_language() or "pl"
    own = ConsentText.objects.filter(store=store, channel=channel).first()
    if own is not None:
        return Wording(channel, own.text_for(language), own.version)
    with translation.override(language):
        return Wording(channel, builtin_text(channel, store.name), BUILTIN_VERSIONS[channel])


_channel_sources: dict[str, Callable] = {}


def register_channels_source(name: str, fn: Callable) -> None:
    """``fn(store) -> set of channel names`` the app sends marketing messages on."""
    _channel_sources[name] = fn


def channels_in_use(store) -> set[str]:
    """Channels this store sends on: e-mail always, plus what the registered senders use."""
    used = {EMAIL}
    for fn in _channel_sources.values():
        used |= {c for c in fn(store) if c in CHANNELS}
    return used


def channels_to_ask(store, *, phone: str = "") -> list[str]:
    """The channels the checkout asks about, in order: SMS only with a phone number."""
    used = channels_in_use(store)
    return [c for c in CHANNELS if c in used and (c != SMS or phone.strip())]

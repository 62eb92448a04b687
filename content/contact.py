"""The contact form: spam checks without a third-party captcha, the message kept for the admin and
forwarded by e-mail after commit.

A bot is told apart by three signs, each refused with a message a person understands (the form
comes back with everything they wrote): a filled hidden field (the honeypot), a form token that is
missing, forged, younger than ``MIN_SECONDS`` (no person writes a message that fast) or older than
``MAX_SECONDS``, and more than ``MAX_LINKS`` links in the message. An address is limited to
``RATE_LIMIT`` messages an hour (shop/ratelimit.py).
"""

from __future__ import annotations

import logging
import re
import time

from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shop import events, ratelimit

from .models import ContactMessage

log = logging.getLogger(__name__)

SALT = "content.contact"
MIN_SECONDS = 3
MAX_SECONDS = 2 * 3600
MAX_LINKS = 2
RATE_LIMIT = 5
RATE_WINDOW = 3600
_LINK = re.compile(r"(https?://|www\.|\[url)", re.IGNORECASE)


class ContactRefused(Exception):
    def __init__(self, message: str, *, retry_after: int = 0):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def issue_token(*, store) -> str:
    """The signed moment the form was shown, for this store."""
    return signing.dumps({"s": store.pk, "t": time.time()}, salt=SALT, compress=False)


def check_token(*, store, token: str) -> None:
    try:
        data = signing.loads(token or "", salt=SALT)
        shown_at = float(data["t"])
        if data["s"] != store.pk:
            raise ValueError
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise ContactRefused(
            _("We could not check the form. Please send the message again from this page.")
        ) from None
    age = time.time() - shown_at
    if age < MIN_SECONDS:
        raise ContactRefused(
            _(
                "The form was sent too quickly to be filled in by a person. Please wait a moment and send it again."
            )
        )
    if age > MAX_SECONDS:
        raise ContactRefused(
            _("The form has been open for too long. Please send the message again: it is still filled in.")
        )


def check_content(*, message: str, honeypot: str) -> None:
    if honeypot:
        raise ContactRefused(
            _(
                "The message looks automated (a hidden field was filled in), so it was not sent. Please write to us by e-mail."
            )
        )
    if len(_LINK.findall(message)) > MAX_LINKS:
        raise ContactRefused(
            _("The message has too many links (at most %(n)d). Please remove some and send it again.")
            % {"n": MAX_LINKS}
        )


def submit(*, store, name: str, email: str, subject: str, message: str, ip: str, token: str, honeypot: str):
    """Check and keep one message; it is e-mailed to the shop after commit."""
    check_content(message=message, honeypot=honeypot)
    check_token(store=store, token=token)
    verdict = ratelimit.hit(f"contact:ip:{store.pk}:{ip}", limit=RATE_LIMIT, window=RATE_WINDOW)
    if not verdict.allowed:
        raise ContactRefused(
            _("You have sent several messages already.")
            + " "
            + ratelimit.try_again_message(verdict.retry_after),
            retry_after=verdict.retry_after,
        )
    with transaction.atomic():
        row = ContactMessage.objects.create(
            store=store, name=name, email=email, subject=subject, message=message, ip_address=ip[:64]
        )
        from .tasks import forward_contact_message

        transaction.on_commit(lambda: events.safe_delay(forward_contact_message, row.pk))
    return row


def recipient(store) -> str:
    return store.support_email or store.sender_email


def forward(message_id: int) -> bool:
    """E-mail one kept message to the shop (once; the row is locked while sending)."""
    with transaction.atomic():
        row = (
            ContactMessage.objects.select_for_update(of=("self",))
            .select_related("store")
            .filter(pk=message_id, emailed_at__isnull=True)
            .first()
        )
        if row is None:
            return False
        store = row.store
        with translation.override(store.default_language or "pl"):
            subject = _("Contact form: %(subject)s") % {"subject": row.subject}
            body = _(
                "From: %(name)s <%(email)s>\n\n%(message)s\n\n-- \nSent from the contact form of %(shop)s."
            ) % {
                "name": row.name,
                "email": row.email,
                "message": row.message,
                "shop": store.name,
            }
        EmailMessage(
            subject=subject.replace("\n", " ")[:200],
            body=body,
            from_email=store.sender,
            to=[recipient(store)],
            reply_to=[row.email],
        ).send()
        row.emailed_at = timezone.now()
        row.save(update_fields=["emailed_at"])
    return True


@transaction.atomic
def mark_read(*, messages, read: bool = True) -> int:
    return messages.update(is_read=read)

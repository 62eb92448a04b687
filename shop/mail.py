"""The embedded default's email backend: every message is written as an ``.eml`` file to
``MAIL_DIR`` (``var/mail/``) and can be read in the admin (Shop -> Outbox)."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

_lock = threading.Lock()


class MailboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        directory = Path(settings.MAIL_DIR)
        directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            path = directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            with _lock:
                path.write_bytes(message.message().as_bytes(linesep="\n"))
            sent += 1
        return sent


@dataclass
class StoredMail:
    name: str
    subject: str
    to: str
    sender: str
    date: str
    text: str
    html: str


_SAFE_NAME = re.compile(r"^[0-9T]+-[0-9a-f]{8}\.eml$")


def list_mailbox(limit: int = 200) -> list[StoredMail]:
    directory = Path(settings.MAIL_DIR)
    if not directory.exists():
        return []
    files = sorted(directory.glob("*.eml"), reverse=True)[:limit]
    return [read_mail(p.name) for p in files]


def read_mail(name: str) -> StoredMail:
    """Read one stored message; ``name`` must be a bare file name we wrote (no paths)."""
    if not _SAFE_NAME.match(name):
        raise FileNotFoundError(name)
    path = Path(settings.MAIL_DIR) / name
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text = html = ""
    for part in msg.walk():
        if part.get_content_maintype() == "multipart":
            continue
        if part.get_content_type() == "text/plain" and not text:
            text = part.get_content()
        elif part.get_content_type() == "text/html" and not html:
            html = part.get_content()
    return StoredMail(
        name=name,
        subject=str(msg["Subject"] or ""),
        to=str(msg["To"] or ""),
        sender=str(msg["From"] or ""),
        date=str(msg["Date"] or ""),
        text=text,
        html=html,
    )

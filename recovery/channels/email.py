"""Email through Django's email backend (any SMTP server or ESP), with connection reuse.

One connection per worker thread is kept open between messages. Before reusing a connection that
sat idle longer than RECOVERY_SMTP_IDLE_CHECK_SECONDS it is probed with NOOP, so a connection the
server dropped is noticed *before* a message is handed over (a drop during DATA is ambiguous).
"""

from __future__ import annotations

import contextlib
import smtplib
import threading
import time

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid

from . import AmbiguousError, OutgoingMessage, PermanentError, TransientError


class _Connections(threading.local):
    connection = None
    last_used = 0.0


_local = _Connections()


def _smtp_of(connection):
    return getattr(connection, "connection", None)


def close_connection() -> None:
    if _local.connection is not None:
        # Closing a dead socket may raise anything; the connection is gone either way.
        with contextlib.suppress(Exception):
            _local.connection.close()
    _local.connection = None


def _connection():
    conn = _local.connection
    if conn is not None and time.monotonic() - _local.last_used > settings.RECOVERY_SMTP_IDLE_CHECK_SECONDS:
        smtp = _smtp_of(conn)
        if smtp is not None:
            try:
                code, _msg = smtp.noop()
                if code != 250:
                    close_connection()
            except (smtplib.SMTPException, OSError):
                close_connection()
    if _local.connection is None:
        conn = get_connection(fail_silently=False)
        try:
            conn.open()
        except smtplib.SMTPResponseException as exc:
            raise TransientError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientError(f"cannot connect: {exc}") from exc
        _local.connection = conn
    return _local.connection


def build_email(message: OutgoingMessage, *, connection=None) -> EmailMultiAlternatives:
    domain = message.sender.rsplit("@", 1)[-1].strip("> ") if "@" in message.sender else "localhost"
    headers = {"Message-ID": make_msgid(domain=domain), **message.headers}
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        from_email=message.sender or settings.DEFAULT_FROM_EMAIL,
        to=[message.to],
        headers=headers,
        connection=connection,
    )
    if message.html:
        email.attach_alternative(message.html, "text/html")
    return email


class EmailChannel:
    name = "email"
    resubmit_is_idempotent = False

    def send(self, message: OutgoingMessage) -> str:
        connection = _connection()
        email = build_email(message, connection=connection)
        try:
            sent = connection.send_messages([email])
        except smtplib.SMTPRecipientsRefused as exc:
            close_connection()
            raise PermanentError(f"recipient refused: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            # The server answered: 4xx = not taken, try later; 5xx = refused for good.
            if 400 <= exc.smtp_code < 500:
                close_connection()
                raise TransientError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
            close_connection()
            raise PermanentError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
            close_connection()
            raise AmbiguousError(f"connection lost while sending: {exc}") from exc
        _local.last_used = time.monotonic()
        if not sent:
            raise TransientError("the email backend did not send the message")
        return email.extra_headers["Message-ID"]

"""Invoices to KSeF: which go, the FA(3) XML frozen at issue, sending with retries, offline mode.

Lifecycle of a :class:`~orders.models.KsefSubmission` (one per invoice, created in the
transaction that issues the invoice, see :func:`prepare`):

- ``not_applicable``: the store does not use KSeF, or a consumer invoice the store keeps outside.
- ``pending``: the XML is built and XSD-valid, not sent yet (the PDF prints KOD I with OFFLINE).
- ``offline``: the first attempt found KSeF down (or refusing): the invoice stands as issued in
  offline mode; it must reach KSeF by ``offline_deadline`` (the next business day after the issue
  date, the shortest of the statutory deadlines), and is retried with backoff until then and after.
- ``sent``: KSeF took it and is still processing: its status is checked again later.
- ``accepted``: KSeF number and UPO stored; the PDF is re-rendered with the number under KOD I.
- ``rejected``: KSeF refused the invoice (reason stored), or it could not be built (missing
  seller data, unsupported currency or rate): the merchant has to act.

Sending holds no lock while talking to KSeF: an attempt is claimed by moving ``next_attempt_at``
forward (a lease), and the session/invoice references are saved as soon as KSeF took the invoice,
so a crash afterwards checks that invoice's status rather than sending it again (and if it is sent
again, KSeF's "duplicate" answer carries the original KSeF number, which is taken as accepted).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from shop.crypto import decrypt_secrets, encrypt_secrets

from ..models import Invoice, KsefSettings, KsefSubmission
from . import fa3, qr
from .client import KsefConnection, KsefError, KsefUnavailable

log = logging.getLogger(__name__)

State = KsefSubmission.State
PURPOSE = "ksef"
LEASE = timedelta(minutes=10)


# --- Configuration ------------------------------------------------------------------------------------


def default_environment() -> str:
    return settings.KSEF_ENVIRONMENT or "test"


def environment_of(conf: KsefSettings | None) -> str:
    return (conf.environment if conf and conf.environment else "") or default_environment()


def set_secrets(conf: KsefSettings, *, token: str | None = None, offline_key_pem: str | None = None) -> None:
    """Store the KSeF token / the offline certificate's private key encrypted (``None`` keeps,
    ``""`` clears)."""
    current = decrypt_secrets(conf.secrets, purpose=PURPOSE)
    if token is not None:
        current["token"] = token.strip()
    if offline_key_pem is not None:
        current["offline_key_pem"] = offline_key_pem.strip()
    conf.secrets = encrypt_secrets(current, purpose=PURPOSE)
    conf.save(update_fields=["secrets", "updated_at"])


def secrets_of(conf: KsefSettings) -> dict[str, str]:
    return decrypt_secrets(conf.secrets, purpose=PURPOSE)


def store_settings(store) -> KsefSettings | None:
    return KsefSettings.objects.filter(store=store).first()


# --- Deadlines ----------------------------------------------------------------------------------------


def _easter(year: int) -> date:
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 19 * m) // 433
    month = (h + m - 7 * n + 90) // 25
    return date(year, month, (h + m - 7 * n + 33 * month + 19) % 32)


def polish_holidays(year: int) -> set[date]:
    """Public holidays (dni ustawowo wolne od pracy), including 24 December from 2025."""
    easter = _easter(year)
    fixed = [(1, 1), (1, 6), (5, 1), (5, 3), (8, 15), (11, 1), (11, 11), (12, 25), (12, 26)]
    days = {date(year, m, d) for m, d in fixed}
    if year >= 2025:
        days.add(date(year, 12, 24))
    days |= {easter, easter + timedelta(days=1), easter + timedelta(days=49), easter + timedelta(days=60)}
    return days


def next_business_day(day: date) -> date:
    nxt = day + timedelta(days=1)
    while nxt.weekday() >= 5 or nxt in polish_holidays(nxt.year):
        nxt += timedelta(days=1)
    return nxt


def backoff(attempts: int) -> timedelta:
    base = settings.KSEF_RETRY_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


# --- At issue -------------------------------------------------------------------------------------------


def issue_date(invoice: Invoice) -> date:
    return timezone.localtime(invoice.issued_at, invoice.store.zone).date()


def prepare(invoice: Invoice) -> KsefSubmission:
    """The invoice's submission, decided and (when it goes to KSeF) built now: called in the
    transaction that issues the invoice, so the XML -- whose hash the QR code carries -- is
    frozen with it. Idempotent."""
    existing = KsefSubmission.objects.filter(invoice=invoice).first()
    if existing is not None:
        return existing
    conf = store_settings(invoice.store)
    submission = KsefSubmission(invoice=invoice, environment=environment_of(conf))
    has_tax_id = bool((invoice.buyer or {}).get("tax_id"))
    if conf is None or not conf.enabled:
        submission.state = State.NOT_APPLICABLE
        submission.reason = "KSeF is not enabled for this store."
    elif not has_tax_id and not conf.b2c_in_ksef:
        submission.state = State.NOT_APPLICABLE
        submission.reason = "Consumer invoice: the store issues these outside KSeF."
    else:
        try:
            xml = fa3.build_invoice_xml(
                invoice, place_of_issue=conf.place_of_issue, exemption_basis=conf.exemption_basis
            )
        except fa3.Fa3Error as exc:
            submission.state = State.REJECTED
            submission.reason = f"Not sent: {exc}"
        else:
            submission.state = State.PENDING
            submission.xml = xml.decode("utf-8")
            submission.invoice_hash = qr.invoice_hash(xml)
            submission.next_attempt_at = timezone.now()
    submission.save()
    if submission.state == State.PENDING:
        submission_id = submission.pk
        transaction.on_commit(lambda: _enqueue(submission_id))
    return submission


def _enqueue(submission_id: int) -> None:
    from shop import events

    from .tasks import submit_to_ksef

    events.safe_delay(submit_to_ksef, submission_id)


# --- Sending --------------------------------------------------------------------------------------------


def _claim(submission_id: int, *, force: bool) -> KsefSubmission | None:
    now = timezone.now()
    with transaction.atomic():
        sub = (
            KsefSubmission.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("invoice__store")
            .filter(pk=submission_id)
            .first()
        )
        if sub is None or not (sub.is_open or _missing_upo(sub)):
            return None
        if not force and sub.next_attempt_at and sub.next_attempt_at > now:
            return None  # another worker holds the lease, or it is not due yet
        sub.attempts += 1
        sub.next_attempt_at = now + LEASE
        sub.save(update_fields=["attempts", "next_attempt_at", "updated_at"])
        return sub


def _missing_upo(sub: KsefSubmission) -> bool:
    """Accepted, but the UPO could not be fetched yet (it is asked for again later)."""
    return sub.state == State.ACCEPTED and not sub.upo and bool(sub.invoice_reference)


def connection_for(sub: KsefSubmission) -> KsefConnection:
    conf = store_settings(sub.invoice.store)
    token = secrets_of(conf).get("token", "") if conf else ""
    if not token:
        raise KsefError("No KSeF token is set for this store.")
    # The context is the seller on the invoice (frozen at issue), which must match Podmiot1's NIP.
    nip = fa3.normalise_nip((sub.invoice.seller or {}).get("tax_id", "") or sub.invoice.store.company_tax_id)
    return KsefConnection(environment=sub.environment or environment_of(conf), token=token, nip=nip)


def submit(submission_id: int, *, force: bool = False) -> KsefSubmission | None:
    """One attempt: send the invoice (or check the one already sent). Safe to run twice."""
    sub = _claim(submission_id, force=force)
    if sub is None:
        return KsefSubmission.objects.filter(pk=submission_id).first()
    try:
        conn = connection_for(sub)
        if sub.invoice_reference:
            status, upo = conn.check(sub.session_reference, sub.invoice_reference)
        else:

            def on_sent(session_ref: str, invoice_ref: str) -> None:
                KsefSubmission.objects.filter(pk=sub.pk).update(
                    session_reference=session_ref, invoice_reference=invoice_ref, updated_at=timezone.now()
                )
                sub.session_reference, sub.invoice_reference = session_ref, invoice_ref

            result = conn.submit(sub.xml.encode("utf-8"), offline=sub.offline, on_sent=on_sent)
            status, upo = result.status, result.upo
    except KsefError as exc:
        return _failed(sub, exc)
    return _answered(sub, status, upo)


def _failed(sub: KsefSubmission, exc: KsefError) -> KsefSubmission:
    now = timezone.now()
    updates = {
        "last_error": f"{'KSeF unavailable' if isinstance(exc, KsefUnavailable) else 'KSeF refused'}: {exc}"[
            :2000
        ],
        "next_attempt_at": now + backoff(sub.attempts),
    }
    went_offline = sub.state == State.PENDING
    if went_offline:
        # Not in KSeF yet: the invoice stands as issued in offline mode.
        updates.update(
            state=State.OFFLINE, offline=True, offline_deadline=next_business_day(issue_date(sub.invoice))
        )
    for name, value in updates.items():
        setattr(sub, name, value)
    sub.save(update_fields=[*updates, "updated_at"])
    if went_offline:
        _rerender(sub.invoice)  # the offline note (and KOD II, with an offline certificate)
    log.warning("KSeF: invoice %s not sent (attempt %s): %s", sub.invoice.number, sub.attempts, exc)
    return sub


def _answered(sub: KsefSubmission, status, upo: str) -> KsefSubmission:
    now = timezone.now()
    was_accepted = sub.state == State.ACCEPTED
    if status.accepted:
        acquired = parse_datetime(status.acquisition_date) if status.acquisition_date else None
        sub.state = State.ACCEPTED
        sub.ksef_number = status.ksef_number
        sub.acquired_at = sub.acquired_at or acquired or now
        sub.upo = upo or sub.upo
        sub.reason = "" if status.code == 200 else status.reason
        sub.last_error = ""
        # Without its UPO yet (KSeF answered the status but not the receipt): ask again later.
        sub.next_attempt_at = now + backoff(1) if _missing_upo(sub) and status.code == 200 else None
    elif status.processing:
        sub.state = State.SENT
        sub.next_attempt_at = now + backoff(1)
    else:
        sub.state = State.REJECTED
        sub.reason = status.reason[:4000]
        sub.next_attempt_at = None
    sub.save()
    if sub.state == State.ACCEPTED and not was_accepted:
        _rerender(sub.invoice)
    elif sub.state == State.REJECTED:
        log.error("KSeF rejected invoice %s: %s", sub.invoice.number, sub.reason)
    return sub


def _rerender(invoice: Invoice) -> None:
    """Print a rendered PDF again when what it says about KSeF changed: the KSeF number under
    KOD I once accepted, the offline note (and KOD II) once offline. KOD I's link never changes."""
    from orders import invoices

    if invoice.pdf:
        try:
            invoices.render_pdf(invoice=invoice, force=True)
        except Exception:  # the next download renders it; never lose the KSeF answer for a PDF
            log.exception("KSeF: re-rendering invoice %s failed", invoice.number)


def due_submission_ids(now: datetime | None = None, limit: int = 200) -> list[int]:
    now = now or timezone.now()
    open_or_missing_upo = Q(state__in=[State.PENDING, State.SENT, State.OFFLINE]) | Q(
        state=State.ACCEPTED, upo=""
    )
    return list(
        KsefSubmission.objects.filter(open_or_missing_upo, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def overdue(now: datetime | None = None):
    """Offline invoices past their deadline (the admin lists them; the law's clock is running)."""
    today = timezone.localdate(now or timezone.now())
    return KsefSubmission.objects.filter(state=State.OFFLINE, offline_deadline__lt=today)


# --- For the PDF ----------------------------------------------------------------------------------------


def pdf_context(invoice: Invoice) -> dict | None:
    """What the PDF prints for KSeF: KOD I (label: the KSeF number, else OFFLINE) and, on an
    offline invoice with an offline certificate configured, KOD II (CERTYFIKAT)."""
    sub = KsefSubmission.objects.filter(invoice=invoice).first()
    if sub is None or sub.state in (State.NOT_APPLICABLE, State.REJECTED) or not sub.invoice_hash:
        return None
    seller_nip = fa3.normalise_nip((invoice.seller or {}).get("tax_id", ""))
    url = qr.invoice_url(
        environment=sub.environment,
        seller_nip=seller_nip,
        issue_date=issue_date(invoice),
        xml_hash=sub.invoice_hash,
    )
    context = {
        "state": sub.state,
        "ksef_number": sub.ksef_number,
        "label": sub.ksef_number or "OFFLINE",
        "url": url,
        "qr": qr.png_data_uri(url),
        "offline": sub.offline,
        "certificate_qr": None,
    }
    if sub.offline:
        conf = store_settings(invoice.store)
        key = secrets_of(conf).get("offline_key_pem", "") if conf else ""
        if conf and key and conf.offline_certificate_serial:
            try:
                cert_url = qr.certificate_url(
                    environment=sub.environment,
                    seller_nip=seller_nip,
                    certificate_serial=conf.offline_certificate_serial,
                    xml_hash=sub.invoice_hash,
                    private_key_pem=key,
                )
            except ValueError:
                log.exception("KSeF: KOD II for invoice %s could not be signed", invoice.number)
            else:
                context["certificate_qr"] = qr.png_data_uri(cert_url)
                context["certificate_url"] = cert_url
    return context

"""Dispatching and sending reminders: the claim, the rules re-checked under it, the send.

Life of a reminder: planned -> (claim) sending -> sent | failed | planned again (provider
outage, with backoff) | unknown (the worker died after handing the message to a provider that
cannot tell us whether it took it). Skipped reminders carry the rule that stopped them.

The claim is ``SELECT ... FOR UPDATE SKIP LOCKED`` on the reminder row inside a transaction that
then locks the cart row (waiting for a checkout of that cart in flight, which locks it first) and
the shopper's lock (waiting for a checkout by the same address on any cart), and re-checks every
rule against the cart itself -- its status, its own last activity, orders since that activity,
whether anything in it can still be bought; it sets status=sending with a lease
(``sending_until``). A second worker, a retried task or a duplicated beat tick finds the row
locked or no longer planned and does nothing.

Just before the hand-off the same checks run again under the same locks, and ``handoff_at`` is
written only while this worker still holds its claim (status ``sending`` with its own attempt
number): a worker whose lease expired and was taken over sends nothing. See docs/recovery.md,
"When a worker dies mid-send".
"""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders.models import Cart

from .. import carts
from ..channels import AmbiguousError, PermanentError, TransientError, channel_for
from ..messages import NoTemplate, compose
from ..models import PushSubscription, Reminder, Step, Suppression, TrackedCart
from .detection import cancel_planned

log = logging.getLogger(__name__)

ACTIVE_STATUSES = (Reminder.Status.SENDING, Reminder.Status.SENT, Reminder.Status.UNKNOWN)
CART_BUSY_RETRY_SECONDS = 5


# --- Quiet hours ----------------------------------------------------------------------------------


def parse_quiet_hours(spec: str) -> tuple[time, time] | None:
    spec = (spec or "").strip()
    if not spec:
        return None
    start, end = spec.split("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def quiet_hours_end(now: datetime, zone: zoneinfo.ZoneInfo, spec: str | None = None) -> datetime | None:
    """If ``now`` is inside quiet hours in ``zone``, the UTC moment they end; else None."""
    window = parse_quiet_hours(settings.RECOVERY_QUIET_HOURS if spec is None else spec)
    if window is None:
        return None
    start, end = window
    local = now.astimezone(zone)
    t = local.time()
    if start == end:
        return None
    if start > end:  # over midnight, e.g. 21:00-08:00
        if t >= start:
            day = local.date() + timedelta(days=1)
        elif t < end:
            day = local.date()
        else:
            return None
    else:
        if not (start <= t < end):
            return None
        day = local.date()
    return datetime.combine(day, end, tzinfo=zone).astimezone(zoneinfo.ZoneInfo("UTC"))


def _zone_for(tracked: TrackedCart) -> zoneinfo.ZoneInfo:
    for name in (tracked.shopper_timezone, tracked.store.timezone):
        if name:
            try:
                return zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
    return zoneinfo.ZoneInfo("Europe/Warsaw")


# --- Dispatch -------------------------------------------------------------------------------------


def _default_enqueue(reminder_id: int) -> None:
    from shop.events import safe_delay

    from ..tasks import send_reminder_task

    safe_delay(send_reminder_task, reminder_id)


def dispatch_due(*, now=None, batch_size: int | None = None, enqueue=None) -> int:
    """Queue every due reminder, in batches, holding at most one batch of ids in memory.

    Each batch is taken with FOR UPDATE SKIP LOCKED (parallel dispatchers split the work) and
    pushed RECOVERY_QUEUE_LEASE_SECONDS into the future, so a queued reminder is not queued again
    unless its task is lost; the send task's claim is what guarantees a single send anyway.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.RECOVERY_BATCH_SIZE
    enqueue = enqueue or _default_enqueue
    lease = now + timedelta(seconds=settings.RECOVERY_QUEUE_LEASE_SECONDS)
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                Reminder.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(
                    status=Reminder.Status.PLANNED,
                    next_attempt_at__lte=now,
                    step__campaign__is_active=True,
                )
                .order_by("next_attempt_at", "pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            Reminder.objects.filter(pk__in=ids).update(next_attempt_at=lease)
        # Enqueued after the batch committed (the task must see the pushed-back time).
        for reminder_id in ids:
            enqueue(reminder_id)
        total += len(ids)
        if len(ids) < batch_size:
            break
    return total


# --- The claim ------------------------------------------------------------------------------------


@dataclass
class Decision:
    action: str  # send | skip | defer
    reason: str = ""
    until: datetime | None = None
    recipient: str = ""
    push_subscription_id: int | None = None
    email: str = ""


def _has_consent(*, cart: Cart, email: str, tracked: TrackedCart, channel: str = "email") -> bool:
    """Consent is per channel: the shopper's answer to that channel's own question."""
    answer = carts.consent_answer(cart=cart, email=email, channel=channel)
    if answer is True:
        return True
    if answer is False or channel != "email":
        # An explicit refusal beats the existing-customer rule, which covers e-mail only: SMS
        # and web push need the shopper's own yes to that channel's text.
        return False
    campaign = tracked.campaign
    return bool(
        campaign
        and campaign.existing_customer_rule
        and carts.ordered_before(store_id=cart.store_id, email=email, before=tracked.abandoned_at)
    )


def _locked_cart(tracked: TrackedCart) -> Cart | None:
    """The tracked cart, row-locked (FOR UPDATE, waiting): checkout locks the same row first, so
    a claim waits for an order being placed from this cart and then sees it ordered."""
    return (
        Cart.objects.select_for_update(of=("self",))
        .select_related("user", "store")
        .filter(pk=tracked.cart_id)
        .first()
    )


def _cart_check(tracked: TrackedCart, cart: Cart | None) -> str:
    """What stops a reminder, judged from the cart itself (not from ``tracked.state``, which
    follows the cart only when its events have been handled); "" when nothing does. Call with the
    cart row locked; takes the shopper's lock too."""
    if cart is None or cart.status != Cart.Status.OPEN:
        return "cart_ordered"
    # The shopper came back: the cart's own last activity is later than the moment detection
    # judged it idle (the cart_updated event may still be waiting in a queue).
    if tracked.activity_at is None or cart.last_activity_at > tracked.activity_at:
        return "cart_changed"
    email = tracked.email or carts.shopper_email(cart)
    # Waits for a checkout by this address in flight on any cart (it holds the same lock).
    carts.shopper_lock(store_id=cart.store_id, email=email)
    if carts.ordered_since(
        store_id=cart.store_id, email=email, user_id=cart.user_id, since=tracked.activity_at
    ):
        return "ordered_since"
    if not cart.lines.exists():
        return "cart_empty"
    if not carts.has_anything_buyable(cart):
        return "sold_out"
    return ""


def _decide(reminder: Reminder, now: datetime) -> Decision:
    tracked = reminder.tracked
    step = reminder.step
    campaign = step.campaign
    if tracked.state in (
        TrackedCart.State.RECOVERED,
        TrackedCart.State.ORDERED,
        TrackedCart.State.LOST,
        TrackedCart.State.OPTED_OUT,
        TrackedCart.State.ACTIVE,
    ):
        return Decision("skip", f"cart_{tracked.state}")
    if tracked.is_holdout:
        return Decision("skip", "holdout")
    if not campaign.is_active:
        return Decision("defer", "campaign_paused", until=now + timedelta(hours=1))
    cart = _locked_cart(tracked)
    stop = _cart_check(tracked, cart)
    if stop:
        return Decision("skip", stop)
    email = tracked.email or carts.shopper_email(cart)
    if email and Suppression.objects.filter(store_id=cart.store_id, email=email).exists():
        return Decision("skip", "suppressed")
    if not email or not _has_consent(cart=cart, email=email, tracked=tracked, channel=step.channel):
        return Decision("skip", "no_consent")
    sent = (
        Reminder.objects.filter(tracked=tracked, status__in=ACTIVE_STATUSES).exclude(pk=reminder.pk).count()
    )
    if sent >= campaign.step_limit:
        return Decision("skip", "max_steps")
    earlier = (
        Reminder.objects.filter(
            tracked=tracked,
            step__position__lt=step.position,
            status__in=[Reminder.Status.PLANNED, Reminder.Status.SENDING],
        )
        .order_by("next_attempt_at")
        .first()
    )
    if earlier is not None:
        wait_until = max(earlier.next_attempt_at, earlier.sending_until or now, now) + timedelta(seconds=1)
        return Decision("defer", "waiting_previous_step", until=wait_until)
    recipient, push_id = email, None
    if step.channel == "sms":
        recipient = tracked.phone or carts.shopper_phone(cart)
        from ..channels import sms_configuration_problem

        if not recipient:
            return Decision("skip", "no_phone")
        if sms_configuration_problem():
            return Decision("skip", "sms_not_configured")
    elif step.channel == "push":
        sub = (
            PushSubscription.objects.filter(store_id=cart.store_id, cart_id=cart.pk).order_by("-pk").first()
            or PushSubscription.objects.filter(store_id=cart.store_id, email=email).order_by("-pk").first()
        )
        if sub is None:
            return Decision("skip", "no_push_subscription")
        recipient, push_id = sub.endpoint[:254], sub.pk
    quiet_end = quiet_hours_end(now, _zone_for(tracked))
    if quiet_end is not None:
        return Decision("defer", "quiet_hours", until=quiet_end)
    # The shopper's lock, held since _cart_check, serialises claims for one address too (the
    # frequency cap spans carts and workers).
    cap = timedelta(hours=settings.RECOVERY_FREQUENCY_CAP_HOURS)
    if cap:
        last = (
            Reminder.objects.filter(
                store_id=cart.store_id, recipient=email, status__in=ACTIVE_STATUSES, claimed_at__gt=now - cap
            )
            .exclude(pk=reminder.pk)
            .order_by("-claimed_at")
            .first()
        )
        if last is not None:
            return Decision("defer", "frequency_cap", until=last.claimed_at + cap)
    return Decision("send", recipient=recipient, push_subscription_id=push_id, email=email)


def _after_stop(tracked: TrackedCart, reason: str, now: datetime) -> None:
    """What a stopped reminder means for its cart and the cart's other planned reminders."""
    if reason == "suppressed":
        TrackedCart.objects.filter(pk=tracked.pk).update(state=TrackedCart.State.OPTED_OUT)
        cancel_planned(tracked_ids=[tracked.pk], reason="suppressed")
    elif reason in ("ordered_since", "cart_ordered"):
        TrackedCart.objects.filter(
            pk=tracked.pk, state__in=[TrackedCart.State.ABANDONED, TrackedCart.State.REMINDED]
        ).update(state=TrackedCart.State.ORDERED, ordered_at=now)
        cancel_planned(tracked_ids=[tracked.pk], reason=reason)
    elif reason == "cart_changed":
        # What handling cart_updated does: active again, unsent steps cancelled (planned again
        # when the cart is abandoned again).
        TrackedCart.objects.filter(
            pk=tracked.pk, state__in=[TrackedCart.State.ABANDONED, TrackedCart.State.REMINDED]
        ).update(state=TrackedCart.State.ACTIVE, activity_at=None, updated_at=now)
        cancel_planned(tracked_ids=[tracked.pk], reason="cart_changed")


def _backoff(attempts: int) -> timedelta:
    seconds = settings.RECOVERY_RETRY_BASE_SECONDS * (2 ** max(0, attempts - 1))
    return timedelta(seconds=min(seconds, settings.RECOVERY_RETRY_MAX_SECONDS))


def send_reminder(*, reminder_id: int, now=None) -> str:
    """Claim, re-check, send. Returns what happened (for logs and tests)."""
    now = now or timezone.now()
    with transaction.atomic():
        reminder = (
            Reminder.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("tracked__store", "tracked__campaign", "step__campaign", "variant", "store")
            .filter(pk=reminder_id, status=Reminder.Status.PLANNED)
            .first()
        )
        if reminder is None:
            return "not_claimable"
        # Then its tracked cart, without waiting: whoever holds it (the order handler, the
        # cart_updated handler, detection) locks the cart's reminders after it, so waiting here
        # could deadlock. Busy now: try again shortly, with the state that work leaves.
        tracked = (
            TrackedCart.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("store", "campaign")
            .filter(pk=reminder.tracked_id)
            .first()
        )
        if tracked is None:
            reminder.next_attempt_at = now + timedelta(seconds=CART_BUSY_RETRY_SECONDS)
            reminder.save(update_fields=["next_attempt_at", "updated_at"])
            return "deferred:cart_busy"
        reminder.tracked = tracked
        decision = _decide(reminder, now)
        if decision.action == "skip":
            reminder.status = Reminder.Status.SKIPPED
            reminder.reason = decision.reason
            reminder.save(update_fields=["status", "reason", "updated_at"])
            log.info("Reminder %s skipped: %s", reminder.pk, decision.reason)
            _after_stop(tracked, decision.reason, now)
            return decision.reason
        if decision.action == "defer":
            reminder.next_attempt_at = decision.until
            reminder.reason = decision.reason
            reminder.save(update_fields=["next_attempt_at", "reason", "updated_at"])
            return f"deferred:{decision.reason}"
        reminder.status = Reminder.Status.SENDING
        reminder.reason = ""
        reminder.attempts += 1
        reminder.claimed_at = now
        reminder.sending_until = now + timedelta(seconds=settings.RECOVERY_SEND_LEASE_SECONDS)
        reminder.handoff_at = None
        reminder.recipient = decision.email  # the frequency cap counts per address, across channels
        step: Step = reminder.step
        if step.incentive_kind and reminder.voucher_id is None:
            reminder.voucher = carts.create_voucher(
                store=reminder.store,
                kind=step.incentive_kind,
                value=step.incentive_value,
                expires_at=now + timedelta(days=step.incentive_expiry_days or 1),
            )
        reminder.save()
    return _deliver(reminder, decision)


def _deliver(reminder: Reminder, decision: Decision) -> str:
    tracked = reminder.tracked
    cart = Cart.objects.select_related("store", "user").get(pk=tracked.cart_id)
    try:
        message = compose(
            step=reminder.step,
            variant=reminder.variant,
            cart=cart,
            tracked=tracked,
            reminder=reminder,
            voucher=reminder.voucher,
            language=tracked.language or cart.store.default_language,
            to=decision.recipient,
            push_subscription_id=decision.push_subscription_id,
        )
    except (NoTemplate, Exception) as exc:  # a broken template must never become a send loop
        log.exception("Reminder %s could not be rendered", reminder.pk)
        _finish(reminder, status=Reminder.Status.FAILED, reason="render_error", error=exc)
        return "render_error"
    stop = _hand_off(reminder)
    if stop:
        return stop
    channel = channel_for(reminder.channel)
    try:
        provider_id = channel.send(message)
    except TransientError as exc:
        return _retry_or_fail(reminder, exc)
    except AmbiguousError as exc:
        if channel.resubmit_is_idempotent:
            return _retry_or_fail(reminder, exc)
        _finish(reminder, status=Reminder.Status.UNKNOWN, reason=exc.reason, error=exc)
        return "unknown"
    except PermanentError as exc:
        _finish(reminder, status=Reminder.Status.FAILED, reason=exc.reason, error=exc)
        return "failed"
    now = timezone.now()
    updated = _claimed(reminder).update(
        status=Reminder.Status.SENT,
        sent_at=now,
        provider_message_id=(provider_id or "")[:200],
        sending_until=None,
        last_error="",
        updated_at=now,
    )
    if not updated:
        # Handed over, then the lease expired and the reaper wrote it off as unknown: it did go.
        log.warning("Reminder %s was sent after its lease expired", reminder.pk)
        Reminder.objects.filter(pk=reminder.pk).exclude(status=Reminder.Status.SENDING).update(
            status=Reminder.Status.SENT,
            sent_at=now,
            provider_message_id=(provider_id or "")[:200],
            sending_until=None,
        )
    TrackedCart.objects.filter(pk=tracked.pk, state=TrackedCart.State.ABANDONED).update(
        state=TrackedCart.State.REMINDED, updated_at=now
    )
    return "sent"


def _claimed(reminder: Reminder):
    """The reminder row, only while this worker's claim still holds it: status ``sending`` and
    the attempt number this claim set (a reaped-and-reclaimed row has a higher one)."""
    return Reminder.objects.filter(pk=reminder.pk, status=Reminder.Status.SENDING, attempts=reminder.attempts)


def _hand_off(reminder: Reminder) -> str:
    """Last look before the provider call; "" means go. Under the cart's and the shopper's locks
    the cart is checked again (an order placed, the shopper back, nothing left to buy since the
    claim) and ``handoff_at`` is written only if this worker still holds the claim."""
    tracked = reminder.tracked
    now = timezone.now()
    with transaction.atomic():
        cart = _locked_cart(tracked)
        stop = _cart_check(tracked, cart)
        if stop:
            if _claimed(reminder).update(
                status=Reminder.Status.SKIPPED, reason=stop, sending_until=None, updated_at=now
            ):
                log.info("Reminder %s stopped before the hand-off: %s", reminder.pk, stop)
                _after_stop(tracked, stop, now)
                return stop
            return "lease_lost"
        if not _claimed(reminder).update(handoff_at=now, updated_at=now):
            # The lease expired before the hand-off and the reaper gave the row back (or another
            # worker has it now): sending here could send twice.
            log.warning("Reminder %s lost its claim before the hand-off; not sent", reminder.pk)
            return "lease_lost"
    return ""


def _finish(reminder: Reminder, *, status: str, reason: str, error: Exception) -> None:
    _claimed(reminder).update(
        status=status,
        reason=reason[:40],
        last_error=f"{type(error).__name__}: {error}"[:2000],
        sending_until=None,
        updated_at=timezone.now(),
    )


def _retry_or_fail(reminder: Reminder, exc: Exception) -> str:
    if reminder.attempts >= settings.RECOVERY_MAX_ATTEMPTS:
        _finish(reminder, status=Reminder.Status.FAILED, reason="too_many_attempts", error=exc)
        return "failed"
    now = timezone.now()
    _claimed(reminder).update(
        status=Reminder.Status.PLANNED,
        reason="retry",
        next_attempt_at=now + _backoff(reminder.attempts),
        sending_until=None,
        handoff_at=None,
        last_error=f"{type(exc).__name__}: {exc}"[:2000],
        updated_at=now,
    )
    log.warning("Reminder %s will be retried: %s", reminder.pk, exc)
    return "retry"


def reap_expired_leases(*, now=None) -> dict[str, int]:
    """Reminders whose worker died mid-send (lease expired).

    - never handed to the provider (``handoff_at`` empty): back to planned, sent later;
    - handed over on a channel whose resubmission is idempotent (SMSAPI idx/check_idx): back to
      planned -- the provider itself refuses a second copy and confirms the first;
    - handed over on email or web push: ``unknown``, never sent again (at most once).
    """
    now = now or timezone.now()
    counts = {"replanned": 0, "unknown": 0}
    with transaction.atomic():
        stale = list(
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(status=Reminder.Status.SENDING, sending_until__lt=now)
            .only("pk", "channel", "handoff_at")[:1000]
        )
        for reminder in stale:
            idempotent = channel_for(reminder.channel).resubmit_is_idempotent
            if reminder.handoff_at is None or idempotent:
                Reminder.objects.filter(pk=reminder.pk).update(
                    status=Reminder.Status.PLANNED,
                    reason="lease_expired",
                    next_attempt_at=now,
                    sending_until=None,
                    handoff_at=None,
                    updated_at=now,
                )
                counts["replanned"] += 1
            else:
                Reminder.objects.filter(pk=reminder.pk).update(
                    status=Reminder.Status.UNKNOWN,
                    reason="worker_died_after_handoff",
                    sending_until=None,
                    updated_at=now,
                )
                counts["unknown"] += 1
    return counts

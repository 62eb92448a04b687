"""Abandonment detection and reminder planning.

A cart is abandoned when it is open, has at least one line and an email (or an account) and saw
no activity for RECOVERY_IDLE_MINUTES, and its shopper (same address or account) placed no order
since that activity -- on any cart, e.g. on another device. The scan walks open carts in (last_activity_at, id) order
from a stored cursor, in batches of RECOVERY_BATCH_SIZE, over a partial index on open carts
(migration 0002), so one run costs the carts that became idle since the last run, not the table.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.db.models.functions import Lower
from django.utils import timezone

from orders.models import Cart, CartLine, ConsentRecord, Order

from ..models import Campaign, DetectionCursor, Reminder, Suppression, TrackedCart
from .campaigns import ensure_default_campaign

CURSOR = "abandonment"
# Tracked carts announced as ``cart.abandoned`` when a scan finds them idle.
ANNOUNCED_STATES = (TrackedCart.State.ABANDONED, TrackedCart.State.REMINDED, TrackedCart.State.OPTED_OUT)
_rng = random.Random()


@dataclass
class DetectionResult:
    scanned: int = 0
    abandoned: int = 0
    planned: int = 0
    batches: int = 0


def _candidates(after: tuple, cutoff, limit: int):
    after_at, after_id = after
    return (
        Cart.objects.filter(status=Cart.Status.OPEN, last_activity_at__lte=cutoff)
        .filter(Q(last_activity_at__gt=after_at) | Q(last_activity_at=after_at, pk__gt=after_id))
        .filter(~Q(email="") | Q(user__isnull=False))
        .filter(Exists(CartLine.objects.filter(cart=OuterRef("pk"))))
        .order_by("last_activity_at", "pk")
        .values(
            "pk",
            "store_id",
            "email",
            "user__email",
            "user_id",
            "last_activity_at",
            "language",
            "marketing_consent",
            "consent_at",
        )[:limit]
    )


def detect_abandoned(
    *, now=None, batch_size: int | None = None, max_batches: int | None = None
) -> DetectionResult:
    """Find newly abandoned carts and plan their reminders. Safe to run twice at once: every batch
    holds the cursor row's lock, so batches of parallel runs take turns; a later run re-reads the
    same carts and skips them (each tracked row remembers the activity moment it was evaluated
    for), and tracked rows are inserted with ON CONFLICT DO NOTHING (the time-zone view may
    create one for the same cart meanwhile)."""
    now = now or timezone.now()
    batch_size = batch_size or settings.RECOVERY_BATCH_SIZE
    cutoff = now - timedelta(minutes=settings.RECOVERY_IDLE_MINUTES)
    lookback = now - timedelta(days=settings.RECOVERY_LOOKBACK_DAYS)
    cursor, _ = DetectionCursor.objects.get_or_create(name=CURSOR)
    start = lookback
    if cursor.activity_at is not None:
        start = max(
            lookback, cursor.activity_at - timedelta(minutes=settings.RECOVERY_DETECTION_OVERLAP_MINUTES)
        )
    position = (start, 0)
    result = DetectionResult()
    campaigns_cache: dict[int, list[Campaign]] = {}
    while max_batches is None or result.batches < max_batches:
        rows = list(_candidates(position, cutoff, batch_size))
        if not rows:
            break
        result.batches += 1
        result.scanned += len(rows)
        with transaction.atomic():
            # Parallel runs (a duplicated beat tick, a manual run) take turns per batch.
            locked = DetectionCursor.objects.select_for_update().get(pk=cursor.pk)
            cursor.activity_at = locked.activity_at
            abandoned, planned = _process_batch(rows, now=now, campaigns_cache=campaigns_cache)
            result.abandoned += abandoned
            result.planned += planned
            last = rows[-1]
            position = (last["last_activity_at"], last["pk"])
            if cursor.activity_at is None or position[0] >= cursor.activity_at:
                DetectionCursor.objects.filter(pk=cursor.pk).update(
                    activity_at=position[0], cart_id=position[1]
                )
                cursor.activity_at = position[0]
        if len(rows) < batch_size:
            break
    return result


def _campaigns_for(store_id: int, cache: dict) -> list[Campaign]:
    if store_id not in cache:
        if not Campaign.objects.filter(store_id=store_id).exists():
            from shop.models import Store

            ensure_default_campaign(store=Store.objects.get(pk=store_id))
        cache[store_id] = list(
            Campaign.objects.filter(store_id=store_id, is_active=True)
            .prefetch_related("steps__variants")
            .order_by("priority", "pk")
        )
    return cache[store_id]


def _pick_variant(step):
    variants = list(step.variants.all())
    if not variants:
        return None
    return _rng.choices(variants, weights=[v.weight for v in variants], k=1)[0]


def _process_batch(rows: list[dict], *, now, campaigns_cache: dict) -> tuple[int, int]:
    cart_ids = [r["pk"] for r in rows]
    tracked_by_cart = {t.cart_id: t for t in TrackedCart.objects.filter(cart_id__in=cart_ids)}
    todo = []
    for r in rows:
        t = tracked_by_cart.get(r["pk"])
        if t is not None and t.activity_at == r["last_activity_at"]:
            continue  # already evaluated at this activity moment (overlap or a parallel run)
        if t is not None and t.state in (TrackedCart.State.RECOVERED, TrackedCart.State.ORDERED):
            continue
        todo.append(r)
    if not todo:
        return 0, 0
    ids = [r["pk"] for r in todo]
    lines: dict[int, list] = {}
    for cart_id, variant_id, quantity, price in CartLine.objects.filter(cart_id__in=ids).values_list(
        "cart_id", "variant_id", "quantity", "variant__price"
    ):
        lines.setdefault(cart_id, []).append((variant_id, quantity, price))
    emails = {(r["email"] or r["user__email"] or "").strip().lower() for r in todo} - {""}
    store_ids = {r["store_id"] for r in todo}
    suppressed = set(
        Suppression.objects.filter(store_id__in=store_ids, email__in=emails).values_list("store_id", "email")
    )
    # Every address's latest order in the store: "returning" for the segment, and "bought since
    # the cart's last activity" (on another cart or device), which ends the cart's sequence.
    last_order_by_email = {
        (row["store_id"], row["e"]): row["last"]
        for row in Order.objects.annotate(e=Lower("email"))
        .filter(store_id__in=store_ids, e__in=emails)
        .values("store_id", "e")
        .annotate(last=Max("created_at"))
    }
    customers = set(last_order_by_email)
    user_ids = {r["user_id"] for r in todo if r["user_id"]}
    last_order_by_user = {}
    if user_ids:
        last_order_by_user = {
            (row["store_id"], row["user_id"]): row["last"]
            for row in Order.objects.filter(store_id__in=store_ids, user_id__in=user_ids)
            .values("store_id", "user_id")
            .annotate(last=Max("created_at"))
        }
    refusals = set()
    for store_id, email, granted in (
        ConsentRecord.objects.annotate(e=Lower("email"))
        .filter(store_id__in=store_ids, e__in=emails, purpose="marketing")
        .order_by("store_id", "e", "created_at", "pk")
        .values_list("store_id", "e", "granted")
    ):
        # ordered oldest first: the last answer seen wins
        if granted:
            refusals.discard((store_id, email))
        else:
            refusals.add((store_id, email))

    idle = timedelta(minutes=settings.RECOVERY_IDLE_MINUTES)
    new_tracked, changed_tracked = [], []
    plans: list[tuple[TrackedCart, Campaign]] = []
    bought_elsewhere: list[tuple[TrackedCart, dict, object]] = []
    not_abandoned = 0
    for r in todo:
        email = (r["email"] or r["user__email"] or "").strip().lower()
        bought = max(
            (
                moment
                for moment in (
                    last_order_by_email.get((r["store_id"], email)),
                    last_order_by_user.get((r["store_id"], r["user_id"])),
                )
                if moment is not None and moment >= r["last_activity_at"]
            ),
            default=None,
        )
        if bought is not None:
            # Never after a purchase: the shopper bought (on another cart) after this cart's
            # last activity, so it was not abandoned. No row for a cart never tracked (a later
            # change makes it a candidate again); a tracked one stops as "ordered".
            not_abandoned += 1
            t = tracked_by_cart.get(r["pk"])
            if t is not None:
                bought_elsewhere.append((t, r, bought))
            continue
        cart_lines = lines.get(r["pk"], [])
        value = sum((Decimal(price) * qty for _v, qty, price in cart_lines), Decimal("0"))
        returning = (r["store_id"], email) in customers
        campaign = None
        for c in _campaigns_for(r["store_id"], campaigns_cache):
            if c.min_cart_value is not None and value < c.min_cart_value:
                continue
            if c.segment == Campaign.Segment.NEW and returning:
                continue
            if c.segment == Campaign.Segment.RETURNING and not returning:
                continue
            campaign = c
            break
        consent = bool(r["marketing_consent"]) and (r["store_id"], email) not in refusals
        if not consent and campaign is not None and campaign.existing_customer_rule:
            consent = (
                returning
                and (r["store_id"], email) not in refusals
                and not (r["consent_at"] is not None and not r["marketing_consent"])
            )
        is_suppressed = (r["store_id"], email) in suppressed
        t = tracked_by_cart.get(r["pk"])
        if t is None:
            t = TrackedCart(cart_id=r["pk"], store_id=r["store_id"], created_at=now)
            new_tracked.append(t)
            holdout_roll = True
        else:
            changed_tracked.append(t)
            holdout_roll = t.campaign_id != (campaign.pk if campaign else None)
        t.campaign = campaign
        t.email = email
        t.language = r["language"] or "pl"
        t.activity_at = r["last_activity_at"]
        t.abandoned_at = r["last_activity_at"] + idle
        t.cart_value = value
        t.snapshot = [{"variant": v, "quantity": q, "price": str(p)} for v, q, p in cart_lines]
        if holdout_roll:
            t.is_holdout = bool(
                campaign and campaign.holdout_percent and _rng.random() * 100 < campaign.holdout_percent
            )
        t.is_reachable = bool(campaign and consent and not is_suppressed and email)
        if is_suppressed:
            t.state = TrackedCart.State.OPTED_OUT
        elif t.state != TrackedCart.State.REMINDED:
            t.state = TrackedCart.State.ABANDONED
        if campaign is not None and t.is_reachable and not t.is_holdout:
            plans.append((t, campaign))
    if bought_elsewhere:
        # Reminders first, then the tracked rows: the same lock order as the send claim.
        cancel_planned(tracked_ids=[t.pk for t, _r, _b in bought_elsewhere], reason="ordered_since")
        for t, r, bought in bought_elsewhere:
            TrackedCart.objects.filter(pk=t.pk).exclude(
                state__in=[TrackedCart.State.RECOVERED, TrackedCart.State.ORDERED]
            ).update(
                state=TrackedCart.State.ORDERED,
                ordered_at=bought,
                activity_at=r["last_activity_at"],
                updated_at=now,
            )
    if new_tracked:
        # ON CONFLICT DO NOTHING: a row made meanwhile for the same cart (the time-zone view)
        # is not an error; it is updated below like any row seen before.
        TrackedCart.objects.bulk_create(new_tracked, ignore_conflicts=True)
        stored = {
            row.cart_id: row
            for row in TrackedCart.objects.filter(cart_id__in=[t.cart_id for t in new_tracked])
        }
        for t in new_tracked:
            row = stored[t.cart_id]
            t.pk = row.pk
            if row.activity_at != t.activity_at or row.state != t.state:
                changed_tracked.append(t)  # someone else's row: our evaluation wins
    if changed_tracked:
        TrackedCart.objects.bulk_update(
            changed_tracked,
            [
                "campaign",
                "email",
                "language",
                "activity_at",
                "abandoned_at",
                "cart_value",
                "snapshot",
                "is_holdout",
                "is_reachable",
                "state",
                "updated_at",
            ],
        )
    from .publishing import publish_abandoned  # webhooks' cart.abandoned (attribution's module)

    announced = {t.pk: t for t in (*new_tracked, *changed_tracked) if t.state in ANNOUNCED_STATES}
    publish_abandoned(announced.values())
    return len(todo) - not_abandoned, _plan_reminders(plans, now=now)


def _plan_reminders(plans: list[tuple[TrackedCart, Campaign]], *, now) -> int:
    if not plans:
        return 0
    tracked_ids = [t.pk for t, _c in plans]
    existing = {}
    for rem in Reminder.objects.filter(tracked_id__in=tracked_ids):
        existing[(rem.tracked_id, rem.step_id)] = rem
    to_create, to_replan = [], []
    for t, campaign in plans:
        steps = [s for s in campaign.steps.all() if s.is_active]
        steps.sort(key=lambda s: s.position)
        for step in steps[: campaign.step_limit]:
            due = t.abandoned_at + step.scaled_delay
            rem = existing.get((t.pk, step.pk))
            if rem is None:
                to_create.append(
                    Reminder(
                        tracked=t,
                        step=step,
                        variant=_pick_variant(step),
                        store_id=t.store_id,
                        channel=step.channel,
                        due_at=due,
                        next_attempt_at=due,
                    )
                )
            elif rem.status == Reminder.Status.SKIPPED and rem.reason == "cart_changed":
                rem.status = Reminder.Status.PLANNED
                rem.reason = ""
                rem.due_at = due
                rem.next_attempt_at = due
                to_replan.append(rem)
    Reminder.objects.bulk_create(to_create, ignore_conflicts=True)
    if to_replan:
        Reminder.objects.bulk_update(
            to_replan, ["status", "reason", "due_at", "next_attempt_at", "updated_at"]
        )
    return len(to_create) + len(to_replan)


def cancel_planned(*, tracked_ids, reason: str) -> int:
    return Reminder.objects.filter(tracked_id__in=tracked_ids, status=Reminder.Status.PLANNED).update(
        status=Reminder.Status.SKIPPED, reason=reason, updated_at=timezone.now()
    )


@transaction.atomic
def reset_cart_activity(*, cart_id: int) -> bool:
    """A cart changed: it is active again and its unsent reminders are cancelled. When it is
    abandoned again, the reminders not yet sent are planned again (sent ones never repeat)."""
    tracked = (
        TrackedCart.objects.select_for_update()
        .filter(cart_id=cart_id, state__in=[TrackedCart.State.ABANDONED, TrackedCart.State.REMINDED])
        .first()
    )
    if tracked is None:
        return False
    cart = Cart.objects.filter(pk=cart_id).first()
    if cart is None or cart.status != Cart.Status.OPEN:
        return False  # ordered or merged: the order event decides
    tracked.state = TrackedCart.State.ACTIVE
    tracked.activity_at = None
    tracked.save(update_fields=["state", "activity_at", "updated_at"])
    cancel_planned(tracked_ids=[tracked.pk], reason="cart_changed")
    return True


def handle_cart_updated(event) -> None:
    cart_id = event.payload.get("cart_id") or event.payload.get("cart")
    if cart_id:
        reset_cart_activity(cart_id=int(cart_id))


def expire_stale(*, now=None) -> int:
    """Abandoned carts older than RECOVERY_CART_EXPIRY_DAYS are lost; their reminders stop."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.RECOVERY_CART_EXPIRY_DAYS)
    ids = list(
        TrackedCart.objects.filter(
            state__in=[TrackedCart.State.ABANDONED, TrackedCart.State.REMINDED], abandoned_at__lt=cutoff
        ).values_list("pk", flat=True)[:10000]
    )
    if ids:
        with transaction.atomic():
            TrackedCart.objects.filter(pk__in=ids).update(state=TrackedCart.State.LOST, updated_at=now)
            cancel_planned(tracked_ids=ids, reason="expired")
    return len(ids)

"""Which carts are followed, every message planned for them, and what shoppers did with it."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.models import Store

from .campaigns import MONEY, Campaign, Channel, Step, StepVariant


class TrackedCart(models.Model):
    """One row per cart that recovery has ever looked at: its state and how it ended.

    ``email``, ``phone`` and ``timezone`` are copies kept for the send-time checks (frequency
    cap, suppression) and for export; they are blanked by the retention purge and by erasure.
    """

    class State(models.TextChoices):
        ACTIVE = "active", _("active (shopping)")
        ABANDONED = "abandoned", _("abandoned")
        REMINDED = "reminded", _("reminded")
        RECOVERED = "recovered", _("recovered")
        ORDERED = "ordered", _("ordered without a reminder")
        CANCELLED = "cancelled", _("order cancelled")
        LOST = "lost", _("lost")
        OPTED_OUT = "opted_out", _("opted out")

    class Attribution(models.TextChoices):
        VIA_LINK = "via_link", _("via restore link")
        AFTER_CLICK = "after_click", _("after a click")

    cart = models.OneToOneField(
        "orders.Cart", null=True, blank=True, on_delete=models.SET_NULL, related_name="recovery"
    )
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="tracked_carts")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="tracked_carts"
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ACTIVE)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    language = models.CharField(_("language"), max_length=8, default="pl")
    shopper_timezone = models.CharField(_("shopper's time zone"), max_length=64, blank=True)
    # The cart's last_activity_at this row was evaluated for (the detector skips a cart it has
    # already seen at the same activity moment).
    activity_at = models.DateTimeField(_("cart activity seen"), null=True, blank=True)
    abandoned_at = models.DateTimeField(_("abandoned at"), null=True, blank=True)
    cart_value = models.DecimalField(_("value when abandoned"), **MONEY, default=0)
    currency = models.CharField(max_length=3, default="PLN")
    # [{"variant": id, "quantity": n, "price": "12.34"}] at abandonment: price drops are
    # measured against it.
    snapshot = models.JSONField(default=list, blank=True)
    is_holdout = models.BooleanField(_("holdout (control group)"), default=False)
    is_reachable = models.BooleanField(
        _("reachable"), default=False, help_text=_("Had consent and a channel.")
    )
    clicked_at = models.DateTimeField(_("last click"), null=True, blank=True)
    restored_at = models.DateTimeField(_("last restore"), null=True, blank=True)
    recovered_order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recovered_via = models.CharField(_("recovered"), max_length=12, choices=Attribution.choices, blank=True)
    recovered_at = models.DateTimeField(_("recovered at"), null=True, blank=True)
    recovered_revenue = models.DecimalField(_("recovered revenue"), **MONEY, null=True, blank=True)
    ordered_at = models.DateTimeField(_("ordered at"), null=True, blank=True)
    purged_at = models.DateTimeField(_("personal data purged at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-abandoned_at", "-pk"]
        verbose_name = _("tracked cart")
        verbose_name_plural = _("tracked carts")
        indexes = [
            models.Index(fields=["store", "abandoned_at"], name="tracked_store_abandoned_idx"),
            models.Index(fields=["store", "email"], condition=~Q(email=""), name="tracked_email_idx"),
            models.Index(
                fields=["abandoned_at"], condition=Q(purged_at__isnull=True), name="tracked_unpurged_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{_('cart')} #{self.cart_id or '-'} · {self.get_state_display()}"


class Reminder(models.Model):
    """One message planned for one tracked cart and one step, ever.

    The unique (tracked cart, step) constraint plus the claim (planned -> sending under a row
    lock) make a second send impossible: two workers, a retried task or a duplicated beat tick
    all find the row already claimed.
    """

    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("skipped")
        UNKNOWN = "unknown", _("unknown (worker died during hand-off)")

    tracked = models.ForeignKey(TrackedCart, on_delete=models.CASCADE, related_name="reminders")
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="reminders")
    variant = models.ForeignKey(
        StepVariant, null=True, blank=True, on_delete=models.SET_NULL, related_name="reminders"
    )
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PLANNED)
    reason = models.CharField(_("reason"), max_length=40, blank=True)
    due_at = models.DateTimeField(_("due at"))
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sending_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    handoff_at = models.DateTimeField(_("handed to provider at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    provider_message_id = models.CharField(_("provider message id"), max_length=200, blank=True)
    voucher = models.ForeignKey(
        "orders.Voucher", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_error = models.TextField(_("last error"), blank=True)
    opened_at = models.DateTimeField(_("first opened"), null=True, blank=True)
    clicked_at = models.DateTimeField(_("first clicked"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tracked", "step__position"]
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        constraints = [
            models.UniqueConstraint(fields=["tracked", "step"], name="reminder_once_per_cart_step"),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(sending_until__isnull=False),
                name="reminder_sending_has_lease",
            ),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="planned"), name="reminder_due_idx"),
            models.Index(fields=["sending_until"], condition=Q(status="sending"), name="reminder_lease_idx"),
            models.Index(fields=["store", "recipient", "claimed_at"], name="reminder_recipient_idx"),
            models.Index(fields=["store", "sent_at"], name="reminder_sent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.tracked} · {self.step.position if self.step_id else '?'} · {self.status}"


class Restore(models.Model):
    """A restore link used: which cart it filled (attribution 'via link' looks here)."""

    tracked = models.ForeignKey(TrackedCart, on_delete=models.CASCADE, related_name="restores")
    reminder = models.ForeignKey(Reminder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    cart = models.ForeignKey("orders.Cart", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("restore")
        verbose_name_plural = _("restores")
        indexes = [models.Index(fields=["cart"], name="restore_cart_idx")]

    def __str__(self) -> str:
        return f"{self.tracked} -> {_('cart')} #{self.cart_id}"


class TrackingEvent(models.Model):
    """Opens, clicks, restores and orders, with their time (the dashboard counts these)."""

    class Kind(models.TextChoices):
        OPEN = "open", _("opened")
        CLICK = "click", _("clicked")
        RESTORE = "restore", _("restored")
        ORDER = "order", _("ordered")

    tracked = models.ForeignKey(TrackedCart, on_delete=models.CASCADE, related_name="events")
    reminder = models.ForeignKey(
        Reminder, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        indexes = [models.Index(fields=["tracked", "kind"], name="tracking_event_kind_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.created_at:%Y-%m-%d %H:%M}"


class DetectionCursor(models.Model):
    """Where the abandonment scan stopped: (last_activity_at, cart id) of the last cart seen."""

    name = models.CharField(max_length=40, unique=True)
    activity_at = models.DateTimeField(null=True, blank=True)
    cart_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.activity_at} / {self.cart_id}"

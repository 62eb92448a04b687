"""Campaigns: which abandoned carts get which messages, when, on which channel, with what."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.models import Store

MONEY = {"max_digits": 12, "decimal_places": 2}


class Channel(models.TextChoices):
    EMAIL = "email", _("email")
    SMS = "sms", _("SMS")
    PUSH = "push", _("web push")


class Campaign(models.Model):
    """An ordered list of steps sent to abandoned carts that meet the conditions."""

    class Segment(models.TextChoices):
        ALL = "all", _("all shoppers")
        NEW = "new", _("new shoppers (no earlier order)")
        RETURNING = "returning", _("returning customers")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="recovery_campaigns")
    name = models.CharField(_("name"), max_length=120)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("A paused campaign plans nothing new and sends nothing.")
    )
    priority = models.PositiveIntegerField(
        _("priority"),
        default=100,
        help_text=_("When several campaigns match a cart, the lowest number wins."),
    )
    min_cart_value = models.DecimalField(_("minimum cart value"), **MONEY, null=True, blank=True)
    segment = models.CharField(
        _("customer segment"), max_length=10, choices=Segment.choices, default=Segment.ALL
    )
    holdout_percent = models.PositiveSmallIntegerField(
        _("holdout (control group) %"),
        default=0,
        validators=[MaxValueValidator(50)],
        help_text=_("This share of matching abandoned carts receives nothing, to measure true lift."),
    )
    max_steps = models.PositiveSmallIntegerField(
        _("maximum messages per cart"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Empty: the RECOVERY_MAX_STEPS_PER_CART setting."),
    )
    existing_customer_rule = models.BooleanField(
        _("remind existing customers without explicit consent"),
        default=False,
        help_text=_(
            "Off by default. When on, a shopper who placed an earlier order in this store may be reminded "
            "without a consent tick (the merchant confirms a legal basis exists). An explicit refusal "
            "or an unsubscribe always wins."
        ),
    )
    is_default = models.BooleanField(_("created by default"), default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["store", "priority", "pk"]
        verbose_name = _("recovery campaign")
        verbose_name_plural = _("recovery campaigns")
        permissions = [("view_recovery_dashboard", _("Can view the cart recovery dashboard"))]
        constraints = [
            models.CheckConstraint(condition=Q(holdout_percent__lte=50), name="campaign_holdout_at_most_50"),
            models.CheckConstraint(
                condition=Q(min_cart_value__isnull=True) | Q(min_cart_value__gte=0),
                name="campaign_min_value_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def step_limit(self) -> int:
        return self.max_steps or settings.RECOVERY_MAX_STEPS_PER_CART


class Step(models.Model):
    """One message of a campaign, sent ``delay`` after the cart was abandoned."""

    class Incentive(models.TextChoices):
        NONE = "", _("no incentive")
        PERCENTAGE = "percentage", _("percentage discount")
        FIXED = "fixed", _("fixed amount off")
        FREE_SHIPPING = "free_shipping", _("free shipping")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("position"), default=1, validators=[MinValueValidator(1)])
    delay = models.DurationField(
        _("delay after abandonment"),
        default=timedelta(hours=1),
        help_text=_("E.g. 01:00:00 for one hour, 1 00:00:00 for a day."),
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    incentive_kind = models.CharField(
        _("incentive"), max_length=16, choices=Incentive.choices, default=Incentive.NONE, blank=True
    )
    incentive_value = models.DecimalField(
        _("incentive value"),
        **MONEY,
        null=True,
        blank=True,
        help_text=_("Percent (1-100) or amount; empty for free shipping."),
    )
    incentive_expiry_days = models.PositiveSmallIntegerField(
        _("coupon valid for (days after sending)"), null=True, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["campaign", "position"]
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "position"], name="step_position_per_campaign"),
            models.CheckConstraint(
                condition=Q(incentive_kind="")
                | Q(incentive_kind="free_shipping", incentive_expiry_days__gte=1)
                | Q(
                    incentive_kind="percentage",
                    incentive_value__gte=1,
                    incentive_value__lte=100,
                    incentive_expiry_days__gte=1,
                )
                | Q(incentive_kind="fixed", incentive_value__gt=0, incentive_expiry_days__gte=1),
                name="step_incentive_sensible",
            ),
        ]

    def __str__(self) -> str:
        from shop.durations import humanize_duration

        return f"{self.campaign} · {self.position} ({self.get_channel_display()}, {humanize_duration(self.delay)})"

    @property
    def scaled_delay(self) -> timedelta:
        """The delay multiplied by RECOVERY_DELAY_SCALE (demo and tests shrink hours to seconds)."""
        return self.delay * settings.RECOVERY_DELAY_SCALE

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.delay is not None and self.delay < timedelta(0):
            errors["delay"] = _("The delay cannot be negative.")
        kind = self.incentive_kind or ""
        value = self.incentive_value
        if kind == self.Incentive.PERCENTAGE and (
            value is None or not Decimal("1") <= value <= Decimal("100")
        ):
            errors["incentive_value"] = _("A percentage discount must be between 1 and 100.")
        if kind == self.Incentive.FIXED and (value is None or value <= 0):
            errors["incentive_value"] = _("A fixed discount must be an amount above zero.")
        if kind == self.Incentive.FREE_SHIPPING and value not in (None, Decimal("0")):
            errors["incentive_value"] = _("Free shipping takes no value; leave it empty.")
        if kind == "" and value not in (None, Decimal("0")):
            errors["incentive_value"] = _("Choose an incentive kind or leave the value empty.")
        if kind and (self.incentive_expiry_days is None or self.incentive_expiry_days < 1):
            errors["incentive_expiry_days"] = _("A coupon must be valid for at least one day.")
        if self.channel == Channel.SMS:
            from recovery.channels import sms_configuration_problem

            problem = sms_configuration_problem()
            if problem:
                errors["channel"] = problem
        if self.channel == Channel.PUSH and not (settings.VAPID_PUBLIC_KEY and settings.VAPID_PRIVATE_KEY):
            errors["channel"] = _("Web push needs VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY in the settings.")
        if errors:
            raise ValidationError(errors)
        if kind == "":
            self.incentive_value = None
            self.incentive_expiry_days = None


class StepVariant(models.Model):
    """An A/B variant of a step; carts are split between a step's variants by ``weight``."""

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(_("name"), max_length=60)
    weight = models.PositiveIntegerField(_("traffic weight"), default=50, validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["step", "pk"]
        verbose_name = _("A/B variant")
        verbose_name_plural = _("A/B variants")
        constraints = [
            models.UniqueConstraint(fields=["step", "name"], name="variant_name_per_step"),
            models.CheckConstraint(condition=Q(weight__gte=1), name="variant_weight_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.step} · {self.name}"


class StepTemplate(models.Model):
    """The words of a step in one language (and optionally for one A/B variant).

    Bodies are Django templates over the documented variables (docs/recovery.md); they are
    compiled and test-rendered on save, so a typo is an admin error and never a failing send.
    """

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="templates")
    variant = models.ForeignKey(
        StepVariant, null=True, blank=True, on_delete=models.CASCADE, related_name="templates"
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject / push title"), max_length=200)
    html_body = models.TextField(_("HTML body"), blank=True, help_text=_("Email only."))
    text_body = models.TextField(_("plain-text body"), help_text=_("Email text part, SMS text, push body."))

    class Meta:
        ordering = ["step", "variant", "language"]
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [
            models.UniqueConstraint(
                fields=["step", "language"],
                condition=Q(variant__isnull=True),
                name="template_per_step_language",
            ),
            models.UniqueConstraint(
                fields=["variant", "language"],
                condition=Q(variant__isnull=False),
                name="template_per_variant_language",
            ),
        ]

    def __str__(self) -> str:
        suffix = f" [{self.variant.name}]" if self.variant_id else ""
        return f"{self.step} · {self.language}{suffix}"

    def clean(self) -> None:
        from recovery.templating import validate_template_fields

        if self.variant_id and self.step_id and self.variant.step_id != self.step_id:
            raise ValidationError({"variant": _("This variant belongs to another step.")})
        validate_template_fields(
            subject=self.subject,
            html_body=self.html_body,
            text_body=self.text_body,
            channel=self.step.channel if self.step_id else Channel.EMAIL,
        )

"""KSeF (the national e-invoice system): a store's connection and each invoice's submission."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.models import Store


class KsefSettings(models.Model):
    """How a store sends its invoices to KSeF. The KSeF token (and the optional offline
    certificate's private key) are stored encrypted (``shop.crypto``, purpose ``"ksef"``)."""

    class Environment(models.TextChoices):
        TEST = "test", _("test (api-test)")
        DEMO = "demo", _("pre-production (api-demo)")
        PROD = "prod", _("production")

    store = models.OneToOneField(Store, on_delete=models.CASCADE, related_name="ksef_settings")
    enabled = models.BooleanField(_("send invoices to KSeF"), default=False)
    environment = models.CharField(
        _("KSeF environment"),
        max_length=8,
        choices=Environment.choices,
        blank=True,
        help_text=_("Empty: the KSEF_ENVIRONMENT setting."),
    )
    b2c_in_ksef = models.BooleanField(
        _("send invoices for consumers too"),
        default=True,
        help_text=_(
            "Invoices for buyers without a tax id. The VAT act requires them in KSeF as well; "
            "switch off only while your obligation has not started."
        ),
    )
    place_of_issue = models.CharField(_("place of issue"), max_length=120, blank=True)
    exemption_basis = models.CharField(
        _("legal basis of the VAT exemption"),
        max_length=200,
        blank=True,
        help_text=_("Printed for exempt (zw) positions, e.g. art. 43 ust. 1 pkt 29 ustawy o VAT."),
    )
    offline_certificate_serial = models.CharField(
        _("offline certificate serial number"),
        max_length=64,
        blank=True,
        help_text=_(
            "KSeF certificate of type Offline, for the second QR code (CERTYFIKAT) on offline invoices."
        ),
    )
    secrets = models.TextField(blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("KSeF connection")
        verbose_name_plural = _("KSeF connections")

    def __str__(self) -> str:
        return f"KSeF: {self.store}"


class KsefSubmission(models.Model):
    """One invoice on its way to KSeF: the FA(3) XML frozen at issue, and what KSeF answered."""

    class State(models.TextChoices):
        NOT_APPLICABLE = "not_applicable", _("outside KSeF")
        PENDING = "pending", _("waiting to be sent")
        SENT = "sent", _("sent, waiting for KSeF")
        ACCEPTED = "accepted", _("accepted by KSeF")
        REJECTED = "rejected", _("rejected (see the reason)")
        OFFLINE = "offline", _("issued offline, to be sent")

    invoice = models.OneToOneField(
        "orders.Invoice", on_delete=models.PROTECT, related_name="ksef_submission", verbose_name=_("invoice")
    )
    state = models.CharField(_("KSeF state"), max_length=16, choices=State.choices, default=State.PENDING)
    xml = models.TextField(_("FA(3) XML"), blank=True)
    invoice_hash = models.CharField(_("SHA-256 of the XML"), max_length=44, blank=True)
    environment = models.CharField(max_length=8, blank=True)
    offline = models.BooleanField(_("offline mode"), default=False)
    offline_deadline = models.DateField(_("send to KSeF by"), null=True, blank=True)
    session_reference = models.CharField(_("session reference"), max_length=40, blank=True)
    invoice_reference = models.CharField(_("invoice reference"), max_length=40, blank=True)
    ksef_number = models.CharField(_("KSeF number"), max_length=36, blank=True)
    acquired_at = models.DateTimeField(_("KSeF number assigned at"), null=True, blank=True)
    upo = models.TextField(_("UPO (official receipt)"), blank=True)
    reason = models.TextField(_("reason"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("KSeF submission")
        verbose_name_plural = _("KSeF submissions")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["pending", "sent", "offline"]),
                name="ksef_submission_open_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state="accepted") | ~Q(ksef_number=""), name="ksef_accepted_has_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice.number}: {self.get_state_display()}"

    @property
    def is_open(self) -> bool:
        return self.state in (self.State.PENDING, self.State.SENT, self.State.OFFLINE)

"""Models of marketing tags: what a store measures (per store, edited in the admin) and which
orders have already been reported as a purchase (so a reload never counts a sale twice)."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Strict patterns: the values end up inside JavaScript and script URLs, so anything that is not
# exactly the documented shape (quotes, angle brackets, spaces, slashes) is refused outright.
GA4_ID = RegexValidator(
    r"\AG-[A-Z0-9]{4,16}\Z", _("Enter a GA4 measurement ID like G-AB12CD34EF (capital letters and digits).")
)
ADS_ID = RegexValidator(r"\AAW-[0-9]{6,15}\Z", _("Enter a Google Ads conversion ID like AW-123456789."))
ADS_LABEL = RegexValidator(
    r"\A[A-Za-z0-9_-]{4,64}\Z",
    _("Enter the conversion label exactly as Google Ads shows it (letters, digits, - and _)."),
)
PIXEL_ID = RegexValidator(r"\A[0-9]{5,20}\Z", _("Enter the Meta Pixel ID: digits only."))
TSID = RegexValidator(
    r"\AX[A-F0-9]{32}\Z", _("Enter the Trusted Shops ID (TSID): X followed by 32 characters 0-9 and A-F.")
)
_SAFE_URL_CHARS = re.compile(r"\A[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]+\Z")


def settings_cache_key(store_id: int) -> str:
    return f"marketing:tags:{store_id}"


def host_allowed(host: str, allowed: list[str]) -> bool:
    host = (host or "").lower().rstrip(".")
    return any(host == a or host.endswith("." + a) for a in (h.lower() for h in allowed))


def validate_review_widget_url(value: str) -> None:
    """An https script URL on an allow-listed host, without credentials or odd characters."""
    if not value:
        return
    if len(value) > 500 or not _SAFE_URL_CHARS.match(value) or "'" in value:
        raise ValidationError(_("The address contains characters that are not allowed in a script URL."))
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValidationError(_("The widget script must be an https:// address."))
    if parts.username or parts.password or (parts.port not in (None, 443)):
        raise ValidationError(_("The address must not contain a user name, password or port."))
    allowed = settings.MARKETING_REVIEW_WIDGET_HOSTS
    if not host_allowed(parts.hostname, allowed):
        raise ValidationError(
            _("Scripts from %(host)s are not allowed. Allowed hosts: %(allowed)s.")
            % {"host": parts.hostname, "allowed": ", ".join(allowed)}
        )


def validate_privacy_url(value: str) -> None:
    """A path on this shop ("/polityka-prywatnosci/") or an https address."""
    if not value:
        return
    if len(value) > 300 or not _SAFE_URL_CHARS.match(value) or "'" in value:
        raise ValidationError(_("The address contains characters that are not allowed."))
    if value.startswith("/") and not value.startswith("//"):
        return
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise ValidationError(_("Enter a path on this shop (starting with /) or an https:// address."))


class MarketingSettings(models.Model):
    """The analytics, advertising and review tags of one store.

    Nothing configured here is loaded before the shopper agrees in the cookie banner: Google's tag
    needs "analytics" (GA4) or "marketing" (Google Ads) consent, Meta Pixel and review widgets
    need "marketing" consent. User-provided data (email, phone) is never sent to any of them.
    """

    store = models.OneToOneField(
        "shop.Store", on_delete=models.CASCADE, related_name="marketing_tags", verbose_name=_("store")
    )
    ga4_enabled = models.BooleanField(_("Google Analytics 4 on"), default=False)
    ga4_measurement_id = models.CharField(
        _("GA4 measurement ID"), max_length=20, blank=True, validators=[GA4_ID], help_text="G-XXXXXXXXXX"
    )
    google_ads_enabled = models.BooleanField(_("Google Ads conversions on"), default=False)
    google_ads_conversion_id = models.CharField(
        _("Google Ads conversion ID"),
        max_length=20,
        blank=True,
        validators=[ADS_ID],
        help_text="AW-123456789",
    )
    google_ads_purchase_label = models.CharField(
        _("purchase conversion label"),
        max_length=64,
        blank=True,
        validators=[ADS_LABEL],
        help_text=_("The label after the slash in send_to: AW-123456789/<label>."),
    )
    meta_pixel_enabled = models.BooleanField(_("Meta Pixel on"), default=False)
    meta_pixel_id = models.CharField(_("Meta Pixel ID"), max_length=20, blank=True, validators=[PIXEL_ID])
    review_widget_enabled = models.BooleanField(_("review widget on"), default=False)
    trusted_shops_id = models.CharField(
        _("Trusted Shops ID (TSID)"), max_length=33, blank=True, validators=[TSID]
    )
    review_widget_url = models.CharField(
        _("other review widget script"),
        max_length=500,
        blank=True,
        validators=[validate_review_widget_url],
        help_text=_("An https script address from an allowed review service (e.g. TrustMate, Ceneo)."),
    )
    privacy_policy_url = models.CharField(
        _("privacy policy link"),
        max_length=300,
        blank=True,
        validators=[validate_privacy_url],
        help_text=_("Shown in the cookie banner: a path on this shop or an https:// address."),
    )
    consent_revision = models.PositiveSmallIntegerField(
        _("consent revision"),
        default=1,
        help_text=_("Raise it to ask every shopper for their cookie choice again (e.g. after adding a tag)."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("marketing tags")
        verbose_name_plural = _("marketing tags")
        permissions = [("manage_marketing_tags", _("Can change the marketing tags of a store"))]

    def __str__(self) -> str:
        return str(self.store)

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        self._forget_cached()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        self._forget_cached()
        return result

    def clean(self) -> None:
        errors = {}
        if self.ga4_enabled and not self.ga4_measurement_id:
            errors["ga4_measurement_id"] = _("Enter the measurement ID or switch Google Analytics off.")
        if self.google_ads_enabled and not self.google_ads_conversion_id:
            errors["google_ads_conversion_id"] = _("Enter the conversion ID or switch Google Ads off.")
        if self.google_ads_purchase_label and not self.google_ads_conversion_id:
            errors["google_ads_purchase_label"] = _("A conversion label needs a conversion ID.")
        if self.meta_pixel_enabled and not self.meta_pixel_id:
            errors["meta_pixel_id"] = _("Enter the Pixel ID or switch Meta Pixel off.")
        if self.review_widget_enabled and not (self.trusted_shops_id or self.review_widget_url):
            errors["trusted_shops_id"] = _(
                "Enter a Trusted Shops ID or another widget's script address, or switch the widget off."
            )
        if errors:
            raise ValidationError(errors)

    @property
    def any_enabled(self) -> bool:
        return bool(
            (self.ga4_enabled and self.ga4_measurement_id)
            or (self.google_ads_enabled and self.google_ads_conversion_id)
            or (self.meta_pixel_enabled and self.meta_pixel_id)
            or (self.review_widget_enabled and (self.trusted_shops_id or self.review_widget_url))
        )

    def _forget_cached(self) -> None:
        key = settings_cache_key(self.store_id)

        def forget():
            try:
                cache.delete(key)
            except Exception:  # a cache outage must not fail the save; the entry expires anyway
                logging.getLogger(__name__).warning("Could not clear the cached marketing tags %s", key)

        forget()
        transaction.on_commit(forget)
        # Whole catalog pages are cached for visitors without cookies, banner and tag
        # configuration included: they must be rebuilt with the new tags.
        from catalog.pagecache import bump

        bump(self.store_id)


class PurchaseReport(models.Model):
    """An order whose purchase event was handed to the shopper's browser with consent given.

    The unique order makes the hand-over happen once: a reload of the thank-you page (or its
    automatic refresh while a payment is pending) finds the row and sends nothing.
    """

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="+")
    reported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("reported purchase")
        verbose_name_plural = _("reported purchases")

    def __str__(self) -> str:
        return str(self.order_id)


class ConsentLog(models.Model):
    """Proof of one cookie choice (GDPR art. 7(1): the shop must be able to show the consent):
    which banner version, which categories, when. No IP address, user agent or account is
    stored; the random consent id in the shopper's own cookie is the only link to a browser."""

    store = models.ForeignKey(
        "shop.Store", on_delete=models.CASCADE, related_name="+", verbose_name=_("store")
    )
    consent_id = models.CharField(_("consent ID"), max_length=40)
    version = models.CharField(_("banner version"), max_length=20)
    analytics = models.BooleanField(_("analytics"))
    marketing = models.BooleanField(_("marketing"))
    created_at = models.DateTimeField(_("chosen at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("cookie consent")
        verbose_name_plural = _("cookie consents")
        indexes = [models.Index(fields=["store", "consent_id"], name="mkt_consent_store_id_idx")]

    def __str__(self) -> str:
        return f"{self.consent_id} {self.created_at:%Y-%m-%d %H:%M}"

"""Admin: a store's marketing tags, editable only with the ``manage_marketing_tags`` permission.

Every id is checked against its strict documented shape (the values end up in script URLs and
JavaScript), review-widget scripts only from allow-listed hosts.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from shop.admin_mixins import ReadOnlyAdminMixin

from .models import ConsentLog, MarketingSettings

MANAGE = "integrations_marketing.manage_marketing_tags"


class MarketingSettingsForm(forms.ModelForm):
    class Meta:
        model = MarketingSettings
        fields = [
            "store",
            "ga4_enabled",
            "ga4_measurement_id",
            "google_ads_enabled",
            "google_ads_conversion_id",
            "google_ads_purchase_label",
            "meta_pixel_enabled",
            "meta_pixel_id",
            "review_widget_enabled",
            "trusted_shops_id",
            "review_widget_url",
            "privacy_policy_url",
            "consent_revision",
        ]

    def _upper(self, name: str) -> str:
        return (self.cleaned_data.get(name) or "").strip().upper()

    def clean_ga4_measurement_id(self):
        return self._upper("ga4_measurement_id")

    def clean_google_ads_conversion_id(self):
        return self._upper("google_ads_conversion_id")

    def clean_trusted_shops_id(self):
        return self._upper("trusted_shops_id")


@admin.register(MarketingSettings)
class MarketingSettingsAdmin(admin.ModelAdmin):
    form = MarketingSettingsForm
    list_display = (
        "store",
        "ga4_enabled",
        "google_ads_enabled",
        "meta_pixel_enabled",
        "review_widget_enabled",
        "updated_at",
    )
    list_filter = ("ga4_enabled", "google_ads_enabled", "meta_pixel_enabled", "review_widget_enabled")
    list_select_related = ("store",)
    readonly_fields = ("updated_at",)
    fieldsets = (
        (None, {"fields": ("store",)}),
        (_("Google Analytics 4"), {"fields": ("ga4_enabled", "ga4_measurement_id")}),
        (
            _("Google Ads"),
            {"fields": ("google_ads_enabled", "google_ads_conversion_id", "google_ads_purchase_label")},
        ),
        (_("Meta (Facebook) Pixel"), {"fields": ("meta_pixel_enabled", "meta_pixel_id")}),
        (_("Review widget"), {"fields": ("review_widget_enabled", "trusted_shops_id", "review_widget_url")}),
        (
            _("Cookie banner"),
            {
                "fields": ("privacy_policy_url", "consent_revision", "updated_at"),
                "description": _(
                    "Tags load only after the shopper agrees in the cookie banner. Email addresses "
                    "and other data the shopper typed are never sent to these services."
                ),
            },
        ),
    )

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or request.user.has_perm(MANAGE)

    def has_add_permission(self, request):
        return request.user.has_perm(MANAGE)

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm(MANAGE)

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm(MANAGE)


@admin.register(ConsentLog)
class ConsentLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Proofs of cookie choices: read-only; search by the consent ID a shopper quotes."""

    list_display = ("created_at", "store", "consent_id", "version", "analytics", "marketing")
    list_filter = ("store", "analytics", "marketing", "version")
    search_fields = ("=consent_id",)
    date_hierarchy = "created_at"
    list_select_related = ("store",)
    show_full_result_count = False

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or request.user.has_perm(MANAGE)

"""Admin for API keys and webhooks: keys and webhook secrets are shown once, at creation."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from shop.admin_mixins import ReadOnlyAdminMixin

from . import keys
from .models import ApiKey, Scope, WebhookDelivery, WebhookEvent, WebhookSubscription
from .webhooks import services as webhooks


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = ApiKey
        fields = ["store", "name", "scopes", "revoked"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = [
        "name",
        "store",
        "masked",
        "scope_list",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked",
    ]
    list_filter = ["store", "revoked"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["masked", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["store", "name", "scopes"]
        return [
            "store",
            "name",
            "masked",
            "scopes",
            "revoked",
            "revoked_at",
            "created_by",
            "created_at",
            "last_used_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "store"] if obj else self.readonly_fields

    @admin.display(description=_("key"))
    def masked(self, obj):
        return f"ksk_{obj.prefix}_…"

    @admin.display(description=_("scopes"))
    def scope_list(self, obj):
        return ", ".join(obj.scopes or [])

    def save_model(self, request, obj, form, change):
        if change:
            if obj.revoked and not obj.revoked_at:
                keys.revoke_api_key(api_key=obj)
            obj.scopes = keys.clean_scopes(form.cleaned_data.get("scopes"))
            super().save_model(request, obj, form, change)
            return
        key, raw = keys.create_api_key(
            store=obj.store, name=obj.name, scopes=form.cleaned_data.get("scopes"), created_by=request.user
        )
        obj.pk = key.pk
        obj.__dict__.update({k: v for k, v in key.__dict__.items() if not k.startswith("_")})
        messages.warning(
            request,
            format_html(
                "{} <code style='user-select:all'>{}</code>",
                _("Copy the new API key now: it will not be shown again."),
                raw,
            ),
        )

    @admin.action(description=_("Revoke selected keys"))
    def revoke(self, request, queryset):
        for key in queryset:
            keys.revoke_api_key(api_key=key)
        self.message_user(request, _("Keys revoked."))


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=1000, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("events"), choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookSubscription
        fields = ["store", "url", "description", "events", "active"]

    def clean_url(self):
        from django.core.exceptions import ValidationError

        try:
            return webhooks.clean_url(self.cleaned_data["url"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["url"]) from exc


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["url", "store", "event_list", "active", "failure_count", "disabled_at", "secret_hint"]
    list_filter = ["store", "active"]
    search_fields = ["url", "description"]
    readonly_fields = [
        "secret_hint",
        "failure_count",
        "failing_since",
        "disabled_at",
        "disabled_reason",
        "created_by",
        "created_at",
    ]
    actions = ["rotate_secret", "enable"]

    @admin.display(description=_("events"))
    def event_list(self, obj):
        return ", ".join(obj.events or [])

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        sub, secret = webhooks.create_subscription(
            store=obj.store,
            url=obj.url,
            events=form.cleaned_data["events"],
            description=obj.description,
            created_by=request.user,
        )
        obj.pk = sub.pk
        obj.__dict__.update({k: v for k, v in sub.__dict__.items() if not k.startswith("_")})
        self._show_secret(request, secret)

    def _show_secret(self, request, secret):
        messages.warning(
            request,
            format_html(
                "{} <code style='user-select:all'>{}</code>",
                _("Copy the signing secret now: it will not be shown again."),
                secret,
            ),
        )

    @admin.action(description=_("Rotate the signing secret"))
    def rotate_secret(self, request, queryset):
        for sub in queryset:
            self._show_secret(request, webhooks.rotate_secret(subscription=sub))

    @admin.action(description=_("Switch back on (after fixing the receiver)"))
    def enable(self, request, queryset):
        for sub in queryset:
            webhooks.enable(subscription=sub)
        self.message_user(request, _("Subscriptions switched on."))


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    read_only_deletable = True
    list_display = [
        "event_type",
        "event_id",
        "subscription",
        "status",
        "attempts",
        "response_code",
        "created_at",
        "next_attempt_at",
    ]
    list_filter = ["status", "event_type", "subscription__store"]
    search_fields = ["event_id", "subscription__url"]
    list_select_related = ["subscription"]
    readonly_fields = [
        "subscription",
        "event_id",
        "event_type",
        "payload",
        "status",
        "attempts",
        "response_code",
        "response_body",
        "last_error",
        "next_attempt_at",
        "created_at",
        "delivered_at",
    ]
    actions = ["resend"]

    @admin.action(description=_("Resend now"), permissions=["view"])
    def resend(self, request, queryset):
        for delivery in queryset:
            webhooks.resend(delivery=delivery)
        self.message_user(request, _("%(n)d deliveries queued again.") % {"n": queryset.count()})

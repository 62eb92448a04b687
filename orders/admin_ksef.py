"""Admin for KSeF: each store's connection (the token is typed into a password field, stored
encrypted and never shown back) and every invoice's submission state (read-only; "Send to KSeF
now" retries the selected ones)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from shop.crypto import mask

from .ksef import services as ksef
from .models import KsefSettings, KsefSubmission

State = KsefSubmission.State


class KsefSettingsForm(forms.ModelForm):
    token = forms.CharField(
        label=_("KSeF token"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Generated in KSeF with the right to issue invoices. Leave empty to keep the stored one."
        ),
    )
    offline_key_pem = forms.CharField(
        label=_("offline certificate private key (PEM)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}),
        help_text=_("Only for the second QR code on offline invoices. Leave empty to keep the stored one."),
    )

    class Meta:
        model = KsefSettings
        fields = [
            "store",
            "enabled",
            "environment",
            "b2c_in_ksef",
            "place_of_issue",
            "exemption_basis",
            "offline_certificate_serial",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = ksef.secrets_of(self.instance) if self.instance.pk and self.instance.secrets else {}
        if stored.get("token"):
            self.fields["token"].help_text = _("Stored: %(masked)s. Leave empty to keep it.") % {
                "masked": mask(stored["token"])
            }

    def clean_offline_key_pem(self):
        value = (self.cleaned_data.get("offline_key_pem") or "").strip()
        if value and "PRIVATE KEY" not in value:
            raise forms.ValidationError(
                _("Paste the private key in PEM format (-----BEGIN PRIVATE KEY-----).")
            )
        return value

    def clean(self):
        data = super().clean()
        stored = ksef.secrets_of(self.instance) if self.instance.pk and self.instance.secrets else {}
        if data.get("enabled") and not (data.get("token") or stored.get("token")):
            self.add_error("token", _("A KSeF token is needed to send invoices."))
        store = data.get("store")
        if data.get("enabled") and store is not None and not store.company_tax_id:
            self.add_error(
                "enabled", _("Set the store's company NIP first: KSeF identifies the seller by it.")
            )
        return data


@admin.register(KsefSettings)
class KsefSettingsAdmin(admin.ModelAdmin):
    form = KsefSettingsForm
    list_display = ("store", "enabled", "environment_label", "b2c_in_ksef", "updated_at")
    list_filter = ("enabled", "environment")

    @admin.display(description=_("KSeF environment"))
    def environment_label(self, obj):
        return obj.get_environment_display() or ksef.default_environment()

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        token = form.cleaned_data.get("token") or None
        key = form.cleaned_data.get("offline_key_pem") or None
        if token is not None or key is not None:
            ksef.set_secrets(obj, token=token, offline_key_pem=key)


@admin.action(description=_("Send to KSeF now"), permissions=["change"])
def send_now(modeladmin, request, queryset):
    sent = 0
    for sub in queryset.filter(state__in=[State.PENDING, State.SENT, State.OFFLINE]):
        ksef.submit(sub.pk, force=True)
        sent += 1
    modeladmin.message_user(request, _("%(n)d invoices sent to KSeF again.") % {"n": sent}, messages.INFO)


def state_badge(sub: KsefSubmission | None):
    if sub is None:
        return "—"
    colours = {
        State.ACCEPTED: "#1a7f37",
        State.REJECTED: "#cf222e",
        State.OFFLINE: "#9a6700",
        State.PENDING: "#57606a",
        State.SENT: "#0969da",
        State.NOT_APPLICABLE: "#57606a",
    }
    text = sub.get_state_display()
    if sub.state == State.ACCEPTED:
        text = f"{text}: {sub.ksef_number}"
    elif sub.state == State.OFFLINE and sub.offline_deadline:
        overdue = sub.offline_deadline < timezone.localdate()
        text = f"{text} ({_('overdue since') if overdue else _('by')} {sub.offline_deadline:%Y-%m-%d})"
    return format_html('<span style="color:{}">{}</span>', colours.get(sub.state, "#57606a"), text)


@admin.register(KsefSubmission)
class KsefSubmissionAdmin(admin.ModelAdmin):
    list_display = ("invoice", "state_display", "ksef_number", "offline_deadline", "attempts", "updated_at")
    list_filter = ("state", "offline", "environment")
    search_fields = ("=invoice__number", "=ksef_number", "=invoice__order__number")
    list_select_related = ("invoice",)
    actions = [send_now]
    fields = (
        "invoice",
        "state",
        "ksef_number",
        "acquired_at",
        "environment",
        "offline",
        "offline_deadline",
        "reason",
        "last_error",
        "attempts",
        "next_attempt_at",
        "session_reference",
        "invoice_reference",
        "invoice_hash",
        "xml",
        "upo",
    )

    @admin.display(description=_("KSeF state"), ordering="state")
    def state_display(self, obj):
        return state_badge(obj)

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class InvoiceKsefMixin:
    """The KSeF column and field of the invoice admin."""

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("ksef_submission")

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "ksef_state"]

    @admin.display(description=_("KSeF"))
    def ksef_state(self, obj):
        try:
            sub = obj.ksef_submission
        except KsefSubmission.DoesNotExist:
            return state_badge(None)
        url = reverse("admin:orders_ksefsubmission_change", args=[sub.pk])
        return format_html('<a href="{}">{}</a>', url, state_badge(sub))

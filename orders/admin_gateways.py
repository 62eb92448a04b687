"""Admin for payment gateway accounts (per store, sandbox or production) and refunds.

Secrets are typed into password fields and stored encrypted; the form never renders them back
(it shows ``••••1234``), and an empty secret field keeps the stored value. "Test connection"
calls each selected gateway with the stored credentials on the configured host.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import GatewayAccount, PaymentRefund
from .payments import get_provider

FIELD_LABELS = {
    "merchant_id": _("Merchant ID"),
    "pos_id": _("POS ID"),
    "client_id": _("OAuth client ID"),
    "api_key": _("API key (reports key)"),
    "crc": _("CRC key"),
    "client_secret": _("OAuth client secret"),
    "second_key": _("second key (MD5)"),
    "secret_key": _("secret API key"),
    "webhook_secret": _("webhook signing secret"),
}
PUBLIC = sorted({f for fields in GatewayAccount.PUBLIC_FIELDS.values() for f in fields})
SECRET = sorted({f for fields in GatewayAccount.SECRET_FIELDS.values() for f in fields})


def _public(name: str) -> forms.CharField:
    return forms.CharField(label=FIELD_LABELS[name], required=False)


def _secret(name: str) -> forms.CharField:
    return forms.CharField(
        label=FIELD_LABELS[name],
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class GatewayAccountForm(forms.ModelForm):
    merchant_id = _public("merchant_id")
    pos_id = _public("pos_id")
    client_id = _public("client_id")
    api_key = _secret("api_key")
    crc = _secret("crc")
    client_secret = _secret("client_secret")
    second_key = _secret("second_key")
    secret_key = _secret("secret_key")
    webhook_secret = _secret("webhook_secret")
    blik = forms.BooleanField(
        label=_("BLIK by code in the shop (Przelewy24)"),
        required=False,
        help_text=_("Only when BLIK is switched on for your Przelewy24 account (a separate service at P24)."),
    )

    class Meta:
        model = GatewayAccount
        fields = ["store", "provider", "is_sandbox", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        masked = self.instance.masked_secrets() if self.instance.pk else {}
        for name in PUBLIC:
            self.fields[name].initial = self.instance.config.get(name, "")
        self.fields["blik"].initial = bool(
            (self.instance.config or {}).get("blik", settings.PRZELEWY24_BLIK_ENABLED)
        )
        for name in SECRET:
            if masked.get(name):
                self.fields[name].help_text = _("Stored: %(masked)s. Leave empty to keep it.") % {
                    "masked": masked[name]
                }

    def clean(self):
        data = super().clean()
        provider = data.get("provider")
        if not provider:
            return data
        stored = self.instance.secrets() if self.instance.pk and self.instance.secrets_encrypted else {}
        for name in GatewayAccount.PUBLIC_FIELDS[provider]:
            if name != "pos_id" and not data.get(name):
                self.add_error(name, _("Required for this gateway."))
        for name in GatewayAccount.SECRET_FIELDS[provider]:
            if not data.get(name) and not stored.get(name):
                self.add_error(name, _("Required for this gateway."))
        if provider == GatewayAccount.Provider.PRZELEWY24:
            for name in ("merchant_id", "pos_id"):
                if data.get(name) and not data[name].strip().isdigit():
                    self.add_error(name, _("Przelewy24 ids are numbers."))
        return data

    def save(self, commit=True):
        account = super().save(commit=False)
        provider = self.cleaned_data["provider"]
        account.config = {
            n: self.cleaned_data[n].strip()
            for n in GatewayAccount.PUBLIC_FIELDS[provider]
            if self.cleaned_data.get(n)
        }
        if provider == GatewayAccount.Provider.PRZELEWY24:
            account.config["blik"] = bool(self.cleaned_data.get("blik"))
        account.set_secrets(
            **{n: self.cleaned_data.get(n, "").strip() for n in GatewayAccount.SECRET_FIELDS[provider]}
        )
        if commit:
            account.save()
        return account


@admin.register(GatewayAccount)
class GatewayAccountAdmin(admin.ModelAdmin):
    form = GatewayAccountForm
    list_display = ["provider", "store", "is_sandbox", "is_active", "last_check_ok", "last_checked_at"]
    list_filter = ["provider", "is_sandbox", "is_active", "store"]
    readonly_fields = ["last_checked_at", "last_check_ok", "last_check_message"]
    actions = ["test_connection"]

    def get_fields(self, request, obj=None):
        return [
            "store",
            "provider",
            "is_sandbox",
            "is_active",
            *PUBLIC,
            "blik",
            *SECRET,
            *self.readonly_fields,
        ]

    @admin.action(description=_("Test connection"), permissions=["change"])
    def test_connection(self, request, queryset):
        for account in queryset:
            check = get_provider(account.provider).test_connection(account)
            account.last_checked_at = timezone.now()
            account.last_check_ok = check.ok
            account.last_check_message = str(check.message)[:255]
            account.save(update_fields=["last_checked_at", "last_check_ok", "last_check_message"])
            self.message_user(
                request,
                f"{account.store}: {account}: {check.message}",
                messages.SUCCESS if check.ok else messages.ERROR,
            )


@admin.register(PaymentRefund)
class PaymentRefundAdmin(admin.ModelAdmin):
    list_display = ["reference", "order", "amount", "currency", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["reference", "gateway_reference", "order__number"]
    raw_id_fields = ["payment", "order"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False


# --- Refunding an order from its admin page ------------------------------------------------------


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label=_("amount"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text=_("Empty: everything that can still be refunded."),
    )
    reason = forms.CharField(label=_("reason"), max_length=255, required=False)

    def __init__(self, *args, limit: Decimal, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit = limit

    def clean_amount(self):
        amount = self.cleaned_data.get("amount")
        if amount is not None and amount > self.limit:
            raise forms.ValidationError(
                _("At most %(limit)s can be refunded online.") % {"limit": self.limit}
            )
        return amount


def no_online_refund_reasons(order) -> list[str]:
    """Why nothing of ``order`` can be refunded through a gateway, one sentence per payment, so
    the refund page tells the merchant the true reason (and what to do instead)."""
    from .models import Payment, PaymentMethod

    taken = list(
        order.payments.filter(status__in=[Payment.Status.PAID, Payment.Status.REFUNDED]).order_by("pk")
    )
    if not taken:
        return [str(_("No payment of this order has been paid, so there is no money to give back."))]
    reasons = []
    for payment in taken:
        if payment.provider == PaymentMethod.Provider.TEST_GATEWAY:
            reason = _(
                "%(amount)s %(currency)s was paid through the test gateway, which moves no real money "
                "and cannot refund it: if the shopper is owed money, send it yourself and mark it "
                "refunded by hand (on the order's return: “Mark as refunded”)."
            )
        elif payment.provider in (
            PaymentMethod.Provider.BANK_TRANSFER,
            PaymentMethod.Provider.CASH_ON_DELIVERY,
        ):
            reason = _(
                "%(amount)s %(currency)s was paid by bank transfer or cash on delivery, which no "
                "gateway can take back: send the money back by bank transfer and record it on the return."
            )
        elif payment.provider == Payment.GIFT_CARD:
            reason = _("%(amount)s %(currency)s was paid with a gift card: its balance is not refunded here.")
        else:
            try:
                get_provider(payment.provider)
            except KeyError:
                reason = _("%(amount)s %(currency)s was paid on the marketplace: refund it there.")
            else:
                reason = _("%(amount)s %(currency)s paid online has already been refunded in full.")
        reasons.append(str(reason) % {"amount": payment.amount, "currency": payment.currency})
    return reasons


class OrderRefundMixin:
    """A "Refund" page on the order: full or partial, through the order's online payments
    (``orders.payments.refunds.refund_order``), with the order's refunds listed. Needs the
    "add refund" permission; what no gateway can take back is explained, not attempted."""

    def get_urls(self):
        wrap = self.admin_site.admin_view
        extra = [path("<int:pk>/refund/", wrap(self.refund_view), name="orders_order_refund")]
        return extra + super().get_urls()

    def _can_refund(self, request) -> bool:
        return request.user.has_perm("orders.add_paymentrefund")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        extra_context["can_refund"] = self._can_refund(request)
        return super().change_view(request, object_id, form_url, extra_context)

    def refund_view(self, request, pk: int):
        from .payments.base import PaymentGatewayError
        from .payments.refunds import RefundRefused, online_payments, refund_order, refundable_online

        order = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self._can_refund(request):
            raise PermissionDenied
        payments = online_payments(order)
        limit = refundable_online(order, payments)
        form = RefundForm(request.POST if request.method == "POST" else None, limit=limit)
        if request.method == "POST" and form.is_valid():
            if limit <= 0:
                messages.error(request, _("Nothing on this order can be refunded online."))
            else:
                try:
                    made = refund_order(
                        order=order,
                        amount=form.cleaned_data["amount"],
                        reason=form.cleaned_data["reason"]
                        or _("Refund by %(user)s") % {"user": request.user},
                    )
                except (RefundRefused, PaymentGatewayError) as exc:
                    messages.error(request, exc.message)
                else:
                    for refund in made:
                        level = (
                            messages.ERROR
                            if refund.status == PaymentRefund.Status.FAILED
                            else messages.SUCCESS
                        )
                        self.message_user(
                            request,
                            _("Refund %(ref)s of %(amount)s %(currency)s: %(status)s. %(message)s")
                            % {
                                "ref": refund.reference,
                                "amount": refund.amount,
                                "currency": refund.currency,
                                "status": refund.get_status_display(),
                                "message": refund.message,
                            },
                            level,
                        )
                    return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Refund order %(number)s") % {"number": order.number},
            "order": order,
            "form": form,
            "limit": limit,
            "payments": payments,
            "no_refund_reasons": [] if payments and limit > 0 else no_online_refund_reasons(order),
            "refunds": order.payment_refunds.select_related("payment", "return_request"),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "orders/admin/order_refund.html", context)

"""Admin for payment gateway accounts (per store, sandbox or production) and refunds.

The account form is built from each gateway's own field declarations
(``orders.external_accounts``): secrets are typed into password fields and stored encrypted; the
form never renders them back (it shows ``••••1234``), and an empty secret field keeps the stored
value. "Test connection" calls each selected gateway with the stored credentials on the
configured host and records the outcome on the account.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from .external_accounts import ExternalAccountAdminMixin
from .models import GatewayAccount, PaymentRefund
from .payments import get_provider

GATEWAY_FIELDS = ["store", "provider", "is_sandbox", "is_active"]


@admin.register(GatewayAccount)
class GatewayAccountAdmin(ExternalAccountAdminMixin, admin.ModelAdmin):
    model_fields = GATEWAY_FIELDS
    form_attrs = {"required_message": _("Required for this gateway.")}
    list_display = ["provider", "store", "is_sandbox", "is_active", "last_check_ok", "last_checked_at"]
    list_filter = ["provider", "is_sandbox", "is_active", "store"]
    readonly_fields = ["last_checked_at", "last_check_ok", "last_check_message"]
    actions = ["test_connection"]

    def get_fields(self, request, obj=None):
        return [*GATEWAY_FIELDS, *self.credential_fields(), *self.readonly_fields]

    @admin.action(description=_("Test connection"), permissions=["change"])
    def test_connection(self, request, queryset):
        for account in queryset:
            check = self.check_connection(account)
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

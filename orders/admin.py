"""Admin for the orders app. Status changes go through ``services.change_status`` (never a bare
field edit), so history, emails, stock and events always follow."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import admin, messages
from django.core.validators import MinValueValidator
from django.utils.translation import gettext_lazy as _

from shop.admin_mixins import ReadOnlyAdminMixin

from . import admin_gateways, services  # noqa: F401  (admin_gateways registers gateway accounts)
from .admin_after_sales import InvoiceAdminMixin, OrderProcessingMixin, ReturnAdminMixin
from .admin_gateways import OrderRefundMixin
from .admin_ksef import InvoiceKsefMixin
from .admin_search import OrderSearchFilter
from .admin_shipping import ShipmentOrderAdminMixin
from .models import (
    Address,
    Cart,
    CartLine,
    ConsentRecord,
    ConsentText,
    GiftCard,
    GiftCardTransaction,
    Invoice,
    Order,
    OrderEmail,
    OrderLine,
    OrderNote,
    OrderStatusChange,
    Payment,
    PaymentMethod,
    PaymentNotification,
    Return,
    ReturnLine,
    ShippingMethod,
    ShippingRate,
    Voucher,
    VoucherRedemption,
)

# --- Payment providers: their names, never the stored codes ("test_gateway") ----------------------


def provider_label(code: str) -> str:
    if code == Payment.GIFT_CARD:
        return str(_("gift card"))
    return str(dict(PaymentMethod.Provider.choices).get(code, code)) or "—"


class ProviderFilter(admin.SimpleListFilter):
    title = _("payment provider")
    parameter_name = "provider"

    def lookups(self, request, model_admin):
        codes = set(model_admin.get_queryset(request).values_list(self.parameter_name, flat=True))
        return sorted(((c, provider_label(c)) for c in codes), key=lambda pair: pair[1])

    def queryset(self, request, queryset):
        return queryset.filter(**{self.parameter_name: self.value()}) if self.value() else queryset


class OrderProviderFilter(ProviderFilter):
    parameter_name = "payment_provider"

    def lookups(self, request, model_admin):
        # The store's own payment methods (no scan of every order for the codes it holds);
        # marketplace orders are found by their channel.
        return sorted(PaymentMethod.Provider.choices, key=lambda pair: str(pair[1]))


class ProviderLabelMixin:
    @admin.display(description=_("payment provider"), ordering="provider")
    def provider_label(self, obj):
        return provider_label(obj.provider)


# --- Orders ---------------------------------------------------------------------------------------


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = (
        "sku",
        "product_name",
        "variant_name",
        "quantity",
        "unit_price",
        "discount",
        "total",
        "vat_rate",
        "ships_on",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class PaymentInline(ProviderLabelMixin, admin.TabularInline):
    model = Payment
    extra = 0
    can_delete = False
    fields = (
        "reference",
        "provider_label",
        "amount",
        "currency",
        "status",
        "gateway_reference",
        "created_at",
        "paid_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


def _status_action(status: str, label):
    def action(modeladmin, request, queryset):
        done, refused = 0, []
        for order in queryset:
            try:
                services.change_status(order=order, status=status, user=request.user, note=str(label))
                done += 1
            except services.InvalidTransition as exc:
                refused.append(f"{order.number}: {exc.message}")
        if done:
            modeladmin.message_user(request, _("%(n)d orders changed.") % {"n": done}, messages.SUCCESS)
        for message in refused[:20]:
            modeladmin.message_user(request, message, messages.WARNING)

    action.__name__ = f"mark_{status}"
    action.short_description = label
    return action


class ShippingMethodFilter(admin.SimpleListFilter):
    """Orders by shipping method (the store's methods, by name; the staff member's stores only)."""

    title = _("shipping method")
    parameter_name = "shipping"

    def lookups(self, request, model_admin):
        from shop.admin_mixins import scope_to_stores

        methods = scope_to_stores(ShippingMethod.objects.select_related("store"), request.user)
        rows = list(methods.order_by("store__name", "position", "name"))
        several_stores = len({m.store_id for m in rows}) > 1
        return [(str(m.pk), f"{m.name} ({m.store.name})" if several_stores else m.name) for m in rows]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit() or len(value) > 12:
            return queryset.none()
        return queryset.filter(shipping_method_id=int(value))


@admin.register(Order)
class OrderAdmin(ShipmentOrderAdminMixin, OrderRefundMixin, OrderProcessingMixin, admin.ModelAdmin):
    # What a merchant needs to pick the next order, in 1366 px without sideways scrolling
    # (tests/e2e/test_admin_order_list.py measures it).
    list_display = (
        "number",
        "created_at",
        "customer_column",
        "total_column",
        "payment_status",
        "status",
        "shipping_method_name",
        "channel",
    )
    list_filter = (
        OrderSearchFilter,
        "status",
        "payment_status",
        ShippingMethodFilter,
        "channel",
        "created_at",
        OrderProviderFilter,
        "store",
    )
    list_per_page = 50
    search_fields = ("=number", "email", "phone", "shipping_address__last_name", "lines__sku")
    date_hierarchy = "created_at"
    list_select_related = ("store", "shipping_address")
    show_full_result_count = False
    raw_id_fields = ("user", "cart", "voucher", "shipping_address", "billing_address")
    # Status changes, e-mails, invoices, refunds and shipments are read in the page's history
    # (orders.selectors.timeline), notes too (added from the page's box); lines and payments keep
    # their tables.
    inlines = [OrderLineInline, PaymentInline]

    class Media:
        css = {"all": ["orders/admin/order.css"]}

    @admin.display(description=_("customer"), ordering="shipping_address__last_name")
    def customer_column(self, obj):
        from django.utils.html import format_html

        address = obj.shipping_address
        name = ""
        if address is not None:
            name = address.company_name or f"{address.first_name} {address.last_name}".strip()
        if not name:
            return obj.email
        return format_html('<span title="{}">{}</span>', obj.email, name)

    @admin.display(description=_("total"), ordering="total")
    def total_column(self, obj):
        from shop.money import format_money

        return format_money(obj.total, obj.currency)

    readonly_fields = (
        "store",
        "number",
        "token",
        "status",
        "payment_status",
        "channel",
        "currency",
        "subtotal",
        "discount_total",
        "shipping_total",
        "payment_fee",
        "total",
        "total_net",
        "gift_card_total",
        "voucher_code",
        "shipping_method_name",
        "payment_method_name",
        "payment_provider_label",
        "reservation_expires_at",
        "stock_committed",
        "created_at",
        "paid_at",
        "shipped_at",
        "delivered_at",
        "cancelled_at",
    )
    fieldsets = (
        (None, {"fields": ("store", "number", "status", "payment_status", "channel", "created_at")}),
        (_("Shopper"), {"fields": ("email", "phone", "user", "language", "customer_note")}),
        (
            _("Delivery"),
            {
                "fields": (
                    "shipping_method_name",
                    "pickup_point",
                    "shipping_address",
                    "tracking_number",
                    "ships_on",
                )
            },
        ),
        (_("Invoice"), {"fields": ("wants_invoice", "billing_address")}),
        (
            _("Money"),
            {
                "fields": (
                    "currency",
                    "subtotal",
                    "voucher_code",
                    "discount_total",
                    "shipping_total",
                    "payment_method_name",
                    "payment_fee",
                    "total",
                    "total_net",
                    "gift_card_total",
                )
            },
        ),
        (
            _("Dates and stock"),
            {
                "classes": ("collapse",),
                "fields": (
                    "paid_at",
                    "shipped_at",
                    "delivered_at",
                    "cancelled_at",
                    "reservation_expires_at",
                    "stock_committed",
                    "payment_provider_label",
                    "token",
                    "cart",
                    "voucher",
                ),
            },
        ),
    )
    actions = [
        _status_action(Order.Status.PAID, _("Mark as paid (transfer received)")),
        _status_action(Order.Status.PACKED, _("Mark as packed")),
        _status_action(Order.Status.SHIPPED, _("Mark as shipped")),
        _status_action(Order.Status.DELIVERED, _("Mark as delivered")),
        _status_action(Order.Status.CANCELLED, _("Cancel")),
    ]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("payment provider"))
    def payment_provider_label(self, obj):
        return provider_label(obj.payment_provider)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            self._warn_seller_data(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def _warn_seller_data(self, request, object_id) -> None:
        """A paid order without its invoice in a store whose company data is incomplete: say what
        is missing (no invoice is issued without it, orders.invoices.SellerDataMissing)."""
        from .invoices import SellerDataMissing, seller_problems

        if not str(object_id).isdigit():
            return
        order = Order.objects.select_related("store").filter(pk=object_id).first()
        if order is None or (order.payment_status == Order.PaymentStatus.UNPAID and order.paid_at is None):
            return
        problems = seller_problems(order.store)
        if problems and not order.invoices.filter(kind=Invoice.Kind.INVOICE).exists():
            messages.warning(request, str(SellerDataMissing(order.store, problems)))


@admin.register(OrderStatusChange)
class OrderStatusChangeAdmin(admin.ModelAdmin):
    list_display = ("order", "from_status", "to_status", "user", "created_at")
    list_filter = ("to_status",)
    search_fields = ("=order__number",)
    raw_id_fields = ("order", "user")


@admin.register(OrderNote)
class OrderNoteAdmin(admin.ModelAdmin):
    list_display = ("order", "text", "user", "created_at")
    search_fields = ("=order__number", "text")
    raw_id_fields = ("order", "user")


@admin.register(OrderEmail)
class OrderEmailAdmin(admin.ModelAdmin):
    list_display = ("order", "kind", "recipient", "created_at", "sent_at", "attempts")
    list_filter = ("kind", ("sent_at", admin.EmptyFieldListFilter))
    list_select_related = ("order",)
    search_fields = ("=order__number", "recipient")
    raw_id_fields = ("order",)


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ("__str__", "user", "company_name", "tax_id", "city", "postal_code")
    search_fields = ("last_name", "company_name", "tax_id", "city", "user__email")
    raw_id_fields = ("user",)

    def get_queryset(self, request):
        # No store of its own: an employee sees the addresses of their stores' orders and of
        # the accounts that ordered there (shop.admin_mixins: staff belong to stores).
        from django.db.models import Exists, OuterRef, Q

        from shop.admin_mixins import user_store_ids

        queryset = super().get_queryset(request)
        ids = user_store_ids(request.user)
        if ids is None:
            return queryset
        on_order = Order.objects.filter(store__in=ids).filter(
            Q(shipping_address=OuterRef("pk")) | Q(billing_address=OuterRef("pk"))
        )
        of_customer = Order.objects.filter(store__in=ids, user=OuterRef("user"))
        return queryset.filter(Exists(on_order) | Exists(of_customer))


# --- Carts ----------------------------------------------------------------------------------------


class CartLineInline(admin.TabularInline):
    model = CartLine
    extra = 0
    raw_id_fields = ("variant",)
    readonly_fields = ("price_when_added", "added_at")


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ("pk", "store", "email", "user", "status", "marketing_consent", "last_activity_at")
    list_filter = ("status", "store", "marketing_consent")
    search_fields = ("email", "user__email", "=token")
    raw_id_fields = ("user", "voucher", "gift_card")
    readonly_fields = ("token", "consent_text", "consent_version", "consent_at", "checkout_token")
    inlines = [CartLineInline]


@admin.register(ConsentText)
class ConsentTextAdmin(admin.ModelAdmin):
    """The store's own wording of each channel's consent question (Polish and English). Every
    edit is a new version; the answers keep the text and version they were given to."""

    list_display = ("store", "channel", "version", "updated_at")
    list_filter = ("store", "channel")
    fields = ("store", "channel", "text_pl", "text_en", "version", "updated_at")
    readonly_fields = ("version", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        # The channel and store of an existing text stay: answers refer to its versions.
        return (*self.readonly_fields, "store", "channel") if obj is not None else self.readonly_fields


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    read_only_deletable = True  # as before: with the model's delete permission
    list_display = ("email", "channel", "purpose", "granted", "version", "source", "created_at")
    list_filter = ("channel", "purpose", "granted", "version")
    search_fields = ("email",)
    readonly_fields = [f.name for f in ConsentRecord._meta.fields]


# --- Shipping and payment methods -----------------------------------------------------------------


class ShippingRateInline(admin.TabularInline):
    model = ShippingRate
    extra = 0


@admin.register(ShippingMethod)
class ShippingMethodAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "store",
        "kind",
        "price",
        "free_shipping_threshold",
        "cash_on_delivery",
        "is_active",
        "position",
    )
    list_editable = ("is_active", "position")
    list_filter = ("store", "kind", "is_active")
    search_fields = ("name", "code")
    prepopulated_fields = {"code": ("name",)}
    inlines = [ShippingRateInline]


@admin.register(PaymentMethod)
class PaymentMethodAdmin(admin.ModelAdmin):
    list_display = ("name", "store", "provider", "fee", "is_active", "position")
    list_editable = ("is_active", "position")
    list_filter = ("store", "provider", "is_active")


@admin.register(Payment)
class PaymentAdmin(ProviderLabelMixin, admin.ModelAdmin):
    list_display = (
        "reference",
        "order",
        "provider_label",
        "amount",
        "currency",
        "status",
        "created_at",
        "paid_at",
    )
    list_filter = (ProviderFilter, "status")
    search_fields = ("=reference", "=gateway_reference", "=order__number")
    raw_id_fields = ("order", "gift_card")
    readonly_fields = [("provider_label" if f.name == "provider" else f.name) for f in Payment._meta.fields]
    exclude = ("provider",)

    def has_add_permission(self, request):
        return False


@admin.register(PaymentNotification)
class PaymentNotificationAdmin(ReadOnlyAdminMixin, ProviderLabelMixin, admin.ModelAdmin):
    read_only_deletable = True  # as before: with the model's delete permission
    list_display = ("received_at", "provider_label", "status", "outcome", "payment")
    list_filter = (ProviderFilter, "outcome")
    search_fields = ("=payment__reference",)
    readonly_fields = [
        ("provider_label" if f.name == "provider" else f.name) for f in PaymentNotification._meta.fields
    ]
    exclude = ("provider",)


# --- Vouchers and gift cards ----------------------------------------------------------------------


@admin.register(Voucher)
class VoucherAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "store",
        "kind",
        "value",
        "min_basket",
        "valid_until",
        "used_count",
        "usage_limit",
        "is_active",
    )
    list_filter = ("store", "kind", "is_active", "is_single_use", "source")
    search_fields = ("code", "name")
    readonly_fields = ("used_count",)


@admin.register(VoucherRedemption)
class VoucherRedemptionAdmin(admin.ModelAdmin):
    list_display = ("voucher", "order", "email", "amount", "created_at")
    list_select_related = ("voucher", "order")
    search_fields = ("voucher__code", "email", "=order__number")
    raw_id_fields = ("voucher", "order", "user")


class GiftCardTransactionInline(admin.TabularInline):
    model = GiftCardTransaction
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "amount", "balance_after", "order", "created_at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(GiftCard)
class GiftCardAdmin(admin.ModelAdmin):
    list_display = (
        "masked_code",
        "store",
        "initial_balance",
        "balance",
        "recipient_email",
        "expires_at",
        "is_active",
    )
    list_filter = ("store", "is_active")
    search_fields = ("=code", "recipient_email")
    raw_id_fields = ("order_line",)
    inlines = [GiftCardTransactionInline]
    # Add issues a card through services.issue_gift_card (code generated, balance = initial value,
    # "issued" in its ledger); afterwards the money fields change only through orders.
    add_fields = ("store", "initial_balance", "recipient_email", "expires_at", "is_active")
    change_readonly = (
        "full_code",
        "store",
        "initial_balance",
        "balance",
        "currency",
        "order_line",
        "sequence",
    )

    @admin.display(description=_("code"))
    def full_code(self, obj):
        return services.format_gift_card_code(obj.code)

    def get_fields(self, request, obj=None):
        if obj is None:
            return self.add_fields
        return [*self.change_readonly, "recipient_email", "expires_at", "is_active"]

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.change_readonly

    def get_changeform_initial_data(self, request):
        from datetime import timedelta

        from django.conf import settings
        from django.utils import timezone

        initial = super().get_changeform_initial_data(request)
        initial.setdefault("expires_at", timezone.now() + timedelta(days=settings.GIFT_CARD_VALID_DAYS))
        return initial

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            field = form.base_fields["initial_balance"]
            field.min_value = Decimal("0.01")
            field.validators.append(MinValueValidator(Decimal("0.01")))
            field.widget.attrs["min"] = "0.01"
        return form

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        card = services.issue_gift_card(
            store=obj.store,
            value=obj.initial_balance,
            recipient_email=obj.recipient_email,
            expires_at=obj.expires_at,
            is_active=obj.is_active,
        )
        # The admin goes on with the object it built (inlines, the log entry, the redirect).
        for field in GiftCard._meta.concrete_fields:
            setattr(obj, field.attname, getattr(card, field.attname))
        obj._state.adding = False
        obj._state.db = card._state.db
        return None


# --- After sales (part B deepens these) -----------------------------------------------------------


class ReturnLineInline(admin.TabularInline):
    model = ReturnLine
    extra = 0
    raw_id_fields = ("order_line",)


@admin.register(Return)
class ReturnAdmin(ReturnAdminMixin, admin.ModelAdmin):
    list_display = ("pk", "order", "status", "reason", "refund_amount", "created_at")
    list_select_related = ("order",)
    list_filter = ("status", "reason")
    search_fields = ("=order__number", "order__email")
    raw_id_fields = ("order", "decided_by")
    inlines = [ReturnLineInline]


@admin.register(Invoice)
class InvoiceAdmin(InvoiceKsefMixin, InvoiceAdminMixin, admin.ModelAdmin):
    list_display = ("number", "order", "kind", "corrects", "issued_at", "total_gross", "ksef_state")
    list_filter = ("kind", "store")
    search_fields = ("=number", "=order__number")
    raw_id_fields = ("order", "corrects", "return_request")


# --- Rows usually edited inline, listed on their own too (search across all orders) ----------------


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    """Every line sold: what sells, at which price (read-only; orders are changed through their
    workflow)."""

    list_display = ("order", "sku", "product_name", "quantity", "unit_price", "total", "vat_rate")
    list_filter = ("product_kind", "vat_rate", "is_preorder")
    search_fields = ("sku", "product_name", "=order__number")
    raw_id_fields = ("order", "variant")
    readonly_fields = [f.name for f in OrderLine._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(CartLine)
class CartLineAdmin(admin.ModelAdmin):
    list_display = ("cart", "variant", "quantity", "price_when_added", "added_at")
    list_select_related = ("cart__user", "variant__product")
    search_fields = ("variant__sku", "cart__email")
    raw_id_fields = ("cart", "variant")


@admin.register(ShippingRate)
class ShippingRateAdmin(admin.ModelAdmin):
    list_display = (
        "method",
        "min_weight_grams",
        "max_weight_grams",
        "min_order_value",
        "max_order_value",
        "price",
    )
    list_filter = ("method__store",)


@admin.register(GiftCardTransaction)
class GiftCardTransactionAdmin(admin.ModelAdmin):
    list_display = ("gift_card", "kind", "amount", "balance_after", "order", "created_at")
    list_filter = ("kind",)
    search_fields = ("=gift_card__code", "=order__number")
    readonly_fields = [f.name for f in GiftCardTransaction._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ReturnLine)
class ReturnLineAdmin(admin.ModelAdmin):
    list_display = ("return_request", "order_line", "quantity", "refund_amount")
    list_select_related = ("return_request__order", "order_line")
    search_fields = ("=return_request__order__number", "order_line__sku")
    raw_id_fields = ("return_request", "order_line")

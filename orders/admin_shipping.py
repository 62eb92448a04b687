"""Admin for carriers: accounts (encrypted credentials, test connection), shipments (labels,
retry, refresh, cancel) and, on the order list and page, "create shipments".

Everything that changes a shipment goes through ``orders.carriers.services``. Creating,
printing, retrying and cancelling need ``orders.manage_shipments``; seeing shipments needs
``orders.view_shipment``.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shop.admin_mixins import scope_to_stores

from .carriers import services as shipping
from .external_accounts import ExternalAccountAdminMixin
from .models import CarrierAccount, Order, ParcelTemplate, Shipment, ShipmentEvent
from .models.shipments import DIMENSION_VALIDATORS, WEIGHT_VALIDATORS

MANAGE = "orders.manage_shipments"


def can_manage(request) -> bool:
    return request.user.has_perm(MANAGE)


# --- Carrier accounts -----------------------------------------------------------------------------


CARRIER_FIELDS = ["store", "carrier", "is_sandbox", "is_active"]
SENDER_FIELDS = [
    "sender_name",
    "sender_company",
    "sender_email",
    "sender_phone",
    "sender_street",
    "sender_postal_code",
    "sender_city",
    "sender_country",
]


@admin.register(CarrierAccount)
class CarrierAccountAdmin(ExternalAccountAdminMixin, admin.ModelAdmin):
    model_fields = [*CARRIER_FIELDS, *SENDER_FIELDS]
    form_attrs = {"required_message": gettext_lazy("Required for this carrier.")}
    change_form_template = "orders/admin/shipments/carrier_account_form.html"
    list_display = ["carrier", "store", "is_sandbox", "is_active", "last_check_ok", "last_checked_at"]
    list_filter = ["carrier", "is_sandbox", "is_active", "store"]
    readonly_fields = ["last_checked_at", "last_check_ok", "last_check_message"]
    actions = ["test_connection"]

    def get_fieldsets(self, request, obj=None):
        return [
            (None, {"fields": CARRIER_FIELDS}),
            (_("Credentials"), {"fields": self.credential_fields()}),
            (_("Sender"), {"fields": SENDER_FIELDS}),
            (_("Connection"), {"fields": self.readonly_fields}),
        ]

    def get_urls(self):
        extra = [
            path(
                "<int:pk>/test-connection/",
                self.admin_site.admin_view(self.test_connection_view),
                name="orders_carrieraccount_test",
            )
        ]
        return extra + super().get_urls()

    def _report(self, request, account, check) -> None:
        self.message_user(
            request,
            f"{account.store}: {account}: {check.message}",
            messages.SUCCESS if check.ok else messages.ERROR,
        )

    @admin.action(description=gettext_lazy("Test connection"), permissions=["change"])
    def test_connection(self, request, queryset):
        for account in queryset[: settings.CARRIER_MAX_ORDERS_PER_BATCH]:
            self._report(request, account, shipping.test_connection(account))

    def test_connection_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        account = get_object_or_404(scope_to_stores(CarrierAccount.objects.all(), request.user), pk=pk)
        if not self.has_change_permission(request, account):
            raise PermissionDenied
        self._report(request, account, shipping.test_connection(account))
        return HttpResponseRedirect(reverse("admin:orders_carrieraccount_change", args=[account.pk]))


# --- Shipments ----------------------------------------------------------------------------------------


class ShipmentEventInline(admin.TabularInline):
    model = ShipmentEvent
    extra = 0
    can_delete = False
    fields = ("occurred_at", "carrier_status", "status", "description")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


def label_response(document, *, name: str) -> HttpResponse:
    response = HttpResponse(document.content, content_type=document.content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}.{document.extension}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _labels(modeladmin, request, queryset, fmt: str):
    shipments = list(
        queryset.select_related("account").order_by("pk")[: settings.CARRIER_MAX_ORDERS_PER_BATCH + 1]
    )
    if len(shipments) > settings.CARRIER_MAX_ORDERS_PER_BATCH:
        modeladmin.message_user(
            request,
            _("Print at most %(n)d labels at once.") % {"n": settings.CARRIER_MAX_ORDERS_PER_BATCH},
            messages.ERROR,
        )
        return None
    try:
        document, skipped = shipping.label_document(shipments=shipments, fmt=fmt)
    except shipping.ShipmentRefused as exc:
        modeladmin.message_user(request, exc.message, messages.ERROR)
        return None
    for shipment, reason in skipped[:20]:
        modeladmin.message_user(request, f"{shipment.reference}: {reason}", messages.WARNING)
    return label_response(document, name=f"labels-{timezone.now():%Y%m%d-%H%M%S}")


@admin.action(description=gettext_lazy("Print labels (PDF)"), permissions=["manage"])
def print_labels_pdf(modeladmin, request, queryset):
    return _labels(modeladmin, request, queryset, "pdf")


@admin.action(description=gettext_lazy("Print labels (ZPL, InPost)"), permissions=["manage"])
def print_labels_zpl(modeladmin, request, queryset):
    return _labels(modeladmin, request, queryset, "zpl")


@admin.action(description=gettext_lazy("Print the handover list (Apaczka)"), permissions=["manage"])
def print_handover(modeladmin, request, queryset):
    shipments = list(
        queryset.select_related("account").order_by("pk")[: settings.CARRIER_MAX_ORDERS_PER_BATCH]
    )
    try:
        document = shipping.handover_document(shipments=shipments)
    except shipping.ShipmentRefused as exc:
        modeladmin.message_user(request, exc.message, messages.ERROR)
        return None
    return label_response(document, name=f"handover-{timezone.now():%Y%m%d-%H%M%S}")


@admin.action(description=gettext_lazy("Retry failed shipments"), permissions=["manage"])
def retry_shipments(modeladmin, request, queryset):
    done = 0
    for shipment in queryset[: settings.CARRIER_MAX_ORDERS_PER_BATCH]:
        try:
            shipping.retry_shipment(shipment=shipment, user=request.user)
            done += 1
        except shipping.ShipmentRefused as exc:
            modeladmin.message_user(request, f"{shipment.reference}: {exc.message}", messages.WARNING)
    if done:
        modeladmin.message_user(request, _("%(n)d shipments queued again.") % {"n": done}, messages.SUCCESS)


@admin.action(description=gettext_lazy("Refresh status from the carrier"), permissions=["manage"])
def refresh_shipments(modeladmin, request, queryset):
    """Queued, not done in the request: a slow carrier must not hold up the admin."""
    ids = list(queryset.values_list("pk", flat=True)[: settings.CARRIER_MAX_ORDERS_PER_BATCH])
    for shipment_id in ids:
        shipping.queue_tracking(shipment_id)
    modeladmin.message_user(
        request,
        _("%(n)d shipments will be checked with the carrier in a moment.") % {"n": len(ids)},
        messages.SUCCESS,
    )


@admin.action(description=gettext_lazy("Cancel shipments"), permissions=["manage"])
def cancel_shipments(modeladmin, request, queryset):
    done = 0
    for shipment in queryset.select_related("account")[: settings.CARRIER_MAX_ORDERS_PER_BATCH]:
        try:
            shipping.cancel_shipment(shipment=shipment, user=request.user)
            done += 1
        except shipping.ShipmentRefused as exc:
            modeladmin.message_user(request, f"{shipment.reference}: {exc.message}", messages.WARNING)
    if done:
        modeladmin.message_user(request, _("%(n)d shipments cancelled.") % {"n": done}, messages.SUCCESS)


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "order",
        "carrier",
        "service",
        "status",
        "tracking_number",
        "error_message",
        "created_at",
    ]
    list_filter = ["status", "carrier", "account__store", "created_at"]
    search_fields = ["=reference", "=tracking_number", "=order__number", "carrier_shipment_id"]
    list_select_related = ["order", "account"]
    date_hierarchy = "created_at"
    inlines = [ShipmentEventInline]
    actions = [
        print_labels_pdf,
        print_labels_zpl,
        print_handover,
        retry_shipments,
        refresh_shipments,
        cancel_shipments,
    ]
    change_form_template = "orders/admin/shipments/shipment_form.html"

    def has_manage_permission(self, request, obj=None) -> bool:
        return can_manage(request)

    def has_add_permission(self, request):
        return False  # shipments are created from orders

    def has_delete_permission(self, request, obj=None):
        return False  # cancelled, never deleted: the carrier has it

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def get_urls(self):
        extra = [
            path(
                "<int:pk>/label/", self.admin_site.admin_view(self.label_view), name="orders_shipment_label"
            ),
        ]
        return extra + super().get_urls()

    def label_view(self, request, pk: int):
        if not can_manage(request):
            raise PermissionDenied
        shipment = get_object_or_404(
            scope_to_stores(Shipment.objects.select_related("account"), request.user), pk=pk
        )
        fmt = request.GET.get("format", "pdf")
        if fmt not in ("pdf", "zpl"):
            return HttpResponseBadRequest(_("Unknown label format."))
        try:
            document, _skipped = shipping.label_document(shipments=[shipment], fmt=fmt)
        except shipping.ShipmentRefused as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(reverse("admin:orders_shipment_change", args=[shipment.pk]))
        return label_response(document, name=f"label-{shipment.tracking_number or shipment.reference}")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_manage_shipments": can_manage(request)}
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(ShipmentEvent)
class ShipmentEventAdmin(admin.ModelAdmin):
    """The carriers' tracking events, read-only (they are the carrier's word)."""

    list_display = ["shipment", "occurred_at", "carrier_status", "status", "description"]
    list_filter = ["status"]
    search_fields = ["=shipment__tracking_number", "=shipment__reference"]
    list_select_related = ["shipment"]
    date_hierarchy = "occurred_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Creating shipments from orders ------------------------------------------------------------------


class ParcelForm(forms.Form):
    """One order's parcel in the create form (prefixed by the order id)."""

    service = forms.CharField(label=gettext_lazy("service"), max_length=64)
    template = forms.ChoiceField(
        label=gettext_lazy("size"), choices=[("", "—"), *ParcelTemplate.choices], required=False
    )
    length_mm = forms.IntegerField(
        label=gettext_lazy("length (mm)"), required=False, validators=DIMENSION_VALIDATORS
    )
    width_mm = forms.IntegerField(
        label=gettext_lazy("width (mm)"), required=False, validators=DIMENSION_VALIDATORS
    )
    height_mm = forms.IntegerField(
        label=gettext_lazy("height (mm)"), required=False, validators=DIMENSION_VALIDATORS
    )
    weight_grams = forms.IntegerField(
        label=gettext_lazy("weight (g)"), required=False, validators=WEIGHT_VALIDATORS
    )
    insurance_amount = forms.DecimalField(
        label=gettext_lazy("insurance"),
        required=False,
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=Decimal("1000000"),
    )

    def __init__(self, *args, order: Order, **kwargs):
        self.order = order
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        method = self.order.shipping_method
        carrier = method.carrier if method is not None else ""
        problem = shipping.validate_choice(self.choice(data), carrier=carrier)
        if problem:
            raise forms.ValidationError(problem)
        return data

    @staticmethod
    def choice(data) -> shipping.ParcelChoice:
        return shipping.ParcelChoice(
            service=(data.get("service") or "").strip(),
            template=data.get("template") or "",
            length_mm=data.get("length_mm"),
            width_mm=data.get("width_mm"),
            height_mm=data.get("height_mm"),
            weight_grams=data.get("weight_grams"),
            insurance_amount=data.get("insurance_amount"),
        )


def _initial(order: Order) -> dict:
    choice = shipping.default_parcel(order)
    return {
        "service": choice.service,
        "template": choice.template,
        "length_mm": choice.length_mm,
        "width_mm": choice.width_mm,
        "height_mm": choice.height_mm,
        "weight_grams": choice.weight_grams,
        "insurance_amount": choice.insurance_amount,
    }


class ShipmentOrderAdminMixin:
    """Plugged into ``OrderAdmin``: the "Create shipments" action and order-page button, the
    create form, and the order's shipments on its page."""

    change_form_template = "orders/admin/shipments/order_change_form.html"

    def get_actions(self, request):
        actions = super().get_actions(request)
        if can_manage(request):
            actions["create_shipments"] = (
                ShipmentOrderAdminMixin.create_shipments_action,
                "create_shipments",
                gettext_lazy("Create shipments (carrier labels)"),
            )
            actions["print_order_labels"] = (
                ShipmentOrderAdminMixin.print_labels_action,
                "print_order_labels",
                gettext_lazy("Print the shipping labels (one PDF)"),
            )
        return actions

    @staticmethod
    def print_labels_action(modeladmin, request, queryset):
        """The labels of the selected orders' parcels in one PDF (``label_document``)."""
        shipments = Shipment.objects.filter(
            order__in=queryset.values("pk"), status__in=Shipment.LABEL_STATUSES
        ).exclude(carrier_shipment_id="")
        if not shipments.exists():
            modeladmin.message_user(
                request,
                _("None of the selected orders has a shipment with a label yet: create the shipments first."),
                messages.ERROR,
            )
            return None
        return _labels(modeladmin, request, shipments.order_by("order_id", "pk"), "pdf")

    @staticmethod
    def create_shipments_action(modeladmin, request, queryset):
        ids = list(
            queryset.order_by("pk").values_list("pk", flat=True)[: settings.CARRIER_MAX_ORDERS_PER_BATCH + 1]
        )
        if len(ids) > settings.CARRIER_MAX_ORDERS_PER_BATCH:
            modeladmin.message_user(
                request,
                _("Create shipments for at most %(n)d orders at once.")
                % {"n": settings.CARRIER_MAX_ORDERS_PER_BATCH},
                messages.ERROR,
            )
            return None
        url = reverse("admin:orders_order_create_shipments")
        return HttpResponseRedirect(f"{url}?ids={','.join(str(i) for i in ids)}")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        extra = [
            path("shipments/create/", wrap(self.create_shipments_view), name="orders_order_create_shipments"),
        ]
        return extra + super().get_urls()

    def _order_ids(self, raw: str) -> list[int] | None:
        parts = [p.strip() for p in raw.split(",") if p.strip()]
        if not parts or len(parts) > settings.CARRIER_MAX_ORDERS_PER_BATCH:
            return None
        if not all(p.isdigit() and len(p) < 12 for p in parts):
            return None
        return list(dict.fromkeys(int(p) for p in parts))

    def create_shipments_view(self, request):
        if not can_manage(request):
            raise PermissionDenied
        raw = request.POST.get("ids") if request.method == "POST" else request.GET.get("ids", "")
        ids = self._order_ids(raw or "")
        if ids is None:
            return HttpResponseBadRequest(
                _("Choose between 1 and %(n)d orders (ids separated by commas).")
                % {"n": settings.CARRIER_MAX_ORDERS_PER_BATCH}
            )
        orders = list(
            self.get_queryset(request)
            .filter(pk__in=ids)
            .select_related("shipping_method", "shipping_address", "store")
            .prefetch_related("lines")
            .order_by("pk")
        )
        if not orders:
            return HttpResponseBadRequest(_("None of these orders exists."))
        accounts = {}
        rows = []
        for order in orders:
            key = (order.store_id, order.shipping_method.carrier if order.shipping_method else "")
            if key not in accounts:
                accounts[key] = shipping.account_for(order)
            problem = shipping.shipment_problem(order, accounts[key])
            form = None
            if problem is None:
                data = request.POST if request.method == "POST" else None
                form = ParcelForm(data, order=order, prefix=f"o{order.pk}", initial=_initial(order))
            rows.append({"order": order, "problem": problem, "form": form})
        shippable = [row for row in rows if row["form"] is not None]
        if request.method == "POST" and shippable and all(row["form"].is_valid() for row in shippable):
            choices = {row["order"].pk: ParcelForm.choice(row["form"].cleaned_data) for row in shippable}
            created, refused = shipping.create_shipments(
                orders=[row["order"] for row in shippable], user=request.user, choices=choices
            )
            if created:
                self.message_user(
                    request,
                    _("%(n)d shipments sent to the carrier; labels are ready once it confirms them.")
                    % {"n": len(created)},
                    messages.SUCCESS,
                )
            for order, reason in refused[:20]:
                self.message_user(request, f"{order.number}: {reason}", messages.WARNING)
            if len(orders) == 1:
                return HttpResponseRedirect(reverse("admin:orders_order_change", args=[orders[0].pk]))
            url = reverse("admin:orders_shipment_changelist")
            return HttpResponseRedirect(f"{url}?order__id__in={','.join(str(o.pk) for o in orders)}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Create shipments"),
            "rows": rows,
            "ids": ",".join(str(o.pk) for o in orders),
            "has_shippable": bool(shippable),
        }
        status = 400 if request.method == "POST" else 200
        return TemplateResponse(request, "orders/admin/shipments/create.html", context, status=status)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The shipments themselves come with the order's history (orders.selectors.timeline).
        extra_context = dict(extra_context or {})
        extra_context["can_view_shipments"] = request.user.has_perm("orders.view_shipment")
        extra_context["can_manage_shipments"] = can_manage(request)
        return super().change_view(request, object_id, form_url, extra_context)

"""Admin: the accounting and POS connectors (configuration form from the schema, secrets
write-only, "test the connection"), the documents they were sent (search by order number, retry,
the partner's PDF), and the external numbers on the order's page (a read-only inline)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.models import Order
from shop.admin_mixins import ReadOnlyAdminMixin, scope_to_stores

from ..admin import ConnectorConfigAdmin
from . import services
from .models import AccountingConnector, ExternalDocument
from .sink import SinkError


@admin.register(AccountingConnector)
class AccountingConnectorAdmin(ConnectorConfigAdmin):
    list_display = ("name", "store", "connector_label", "is_active", "documents_link")
    actions = ("test_accounting_connection",)

    def get_queryset(self, request):
        return AccountingConnector.objects.select_related("store").filter(
            connector_type__in=services.sink_types()
        )

    def _connector_type(self, request, obj):
        chosen = super()._connector_type(request, obj)
        return chosen if chosen in services.sink_types() else "fakturownia"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        types = services.sink_types()

        class AccountingConnectorForm(form):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                # Schedules and feed files are for importing connectors; documents follow events.
                for name in ("full_sync_time", "stock_sync_minutes", "feed_file", "profile_json"):
                    self.fields.pop(name, None)
                field = self.fields["connector_type"]
                field.choices = [(key, label) for key, label in field.choices if key in types]

        return AccountingConnectorForm

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        return [fieldsets[0], fieldsets[-1]]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET" and str(object_id).isdigit():
            config = self.get_queryset(request).filter(pk=object_id).first()
            if config is not None:
                self._warn_double_invoices(request, config)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self._warn_double_invoices(request, obj)

    def _warn_double_invoices(self, request, config) -> None:
        """'In addition to the shop's invoice' is an explicit choice with a warning: the buyer
        then gets two VAT invoices for one sale."""
        from ..connectors.base import get_connector_class

        try:
            sink = get_connector_class(config.connector_type)(config)
        except Exception:  # an unknown or broken configuration says so elsewhere
            return
        if getattr(sink, "doubles_shop_invoice", lambda: False)():
            messages.warning(
                request,
                _(
                    "%(name)s issues invoices in addition to the shop's own PDF invoice: every sale "
                    "gets two VAT invoices. Choose 'instead of the shop's own PDF invoice' unless "
                    "the shop's invoices are not declared."
                )
                % {"name": config.name},
            )

    @admin.display(description=gettext_lazy("documents"))
    def documents_link(self, obj):
        url = (
            reverse("admin:integrations_accounting_externaldocument_changelist")
            + f"?config__id__exact={obj.pk}"
        )
        return format_html('<a href="{}">{}</a>', url, _("documents"))

    @admin.action(description=gettext_lazy("Test the connection"), permissions=["change"])
    def test_accounting_connection(self, request, queryset):
        for config in queryset:
            ok, message = services.test_connection(config=config)
            self.message_user(
                request,
                f"{config.name}: {message}",
                messages.SUCCESS if ok else messages.ERROR,
            )


@admin.register(ExternalDocument)
class ExternalDocumentAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "order_link",
        "kind",
        "config",
        "status",
        "external_number",
        "attempts",
        "sent_at",
        "short_error",
    )
    list_filter = ("status", "kind", "config")
    search_fields = ("order__number", "external_number", "external_id")
    list_select_related = ("order", "config")
    date_hierarchy = "created_at"
    actions = ("retry_now",)
    readonly_fields = (
        "store",
        "config",
        "order_link",
        "return_request",
        "kind",
        "status",
        "external_id",
        "external_number",
        "attempts",
        "next_attempt_at",
        "needs_lookup",
        "last_error",
        "payload",
        "sent_at",
        "created_at",
        "updated_at",
        "pdf_link",
    )
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Nothing is edited by hand; the "retry" action needs the change permission.
        return super().has_change_permission(request, obj) if obj is None else False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("order"), ordering="order__number")
    def order_link(self, obj):
        url = reverse("admin:orders_order_change", args=[obj.order_id])
        return format_html('<a href="{}">{}</a>', url, obj.order.number)

    @admin.display(description=gettext_lazy("last error"))
    def short_error(self, obj):
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error

    @admin.display(description=gettext_lazy("PDF"))
    def pdf_link(self, obj):
        if obj.status != ExternalDocument.Status.SENT or obj.kind == ExternalDocument.Kind.RECEIPT:
            return "—"
        url = reverse("admin:integrations_accounting_externaldocument_pdf", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("download from the accounting system"))

    def get_urls(self):
        return [
            path(
                "<int:pk>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="integrations_accounting_externaldocument_pdf",
            ),
            *super().get_urls(),
        ]

    def pdf_view(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        document = get_object_or_404(
            scope_to_stores(ExternalDocument.objects.select_related("config", "order"), request.user),
            pk=pk,
        )
        back = redirect(reverse("admin:integrations_accounting_externaldocument_change", args=[pk]))
        try:
            data = services.fetch_pdf(document=document)
        except SinkError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return back
        if not data:
            self.message_user(
                request, _("This accounting system offers no PDF for the document."), messages.WARNING
            )
            return back
        name = (document.external_number or document.order.number).replace("/", "-")
        response = HttpResponse(data, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
        return response

    @admin.action(description=gettext_lazy("Send again (failed or pending)"), permissions=["change"])
    def retry_now(self, request, queryset):
        n = 0
        for document in queryset:
            if document.status == ExternalDocument.Status.FAILED:
                with transaction.atomic():
                    n += services.retry(document=document)
            elif document.status == ExternalDocument.Status.PENDING:
                services.send_document(document_id=document.pk, trigger="admin")
                n += 1
        self.message_user(request, _("%(n)d document(s) sent again.") % {"n": n})


class ExternalDocumentInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The documents of an order in accounting systems, on the order's page (read-only)."""

    model = ExternalDocument
    fk_name = "order"
    extra = 0
    can_delete = False
    verbose_name = gettext_lazy("document in an accounting system")
    verbose_name_plural = gettext_lazy("documents in accounting systems")
    fields = ("kind", "config", "status", "external_number", "sent_at", "last_error")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("config")


def _attach_to_order_admin() -> None:
    """Show the documents on the order page without ``orders`` knowing about integrations (orders
    is the lower app: integrations adds itself to its admin, never the other way round)."""
    order_admin = admin.site._registry.get(Order)
    if order_admin is not None and ExternalDocumentInline not in order_admin.inlines:
        order_admin.inlines = [*order_admin.inlines, ExternalDocumentInline]


_attach_to_order_admin()

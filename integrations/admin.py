"""Admin: connectors (validated form from the schema, write-only secrets, run now / dry run),
sync runs (counts, durations, error log as CSV) and purchase orders (status, retry, confirm)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shop.admin_mixins import ReadOnlyAdminMixin, scope_to_stores
from shop.events import safe_delay

from . import purchase_orders, selectors, services
from .connectors.base import get_connector_class, registered
from .forms import connector_form, option_field_names
from .models import ConnectorConfig, PurchaseOrder, PurchaseOrderLine, SyncRun
from .tasks import run_connector


def _duration(run: SyncRun) -> str:
    from shop.durations import humanize_duration

    return humanize_duration(run.duration)  # "1 min 12 s", not "0:01:12"


@admin.register(ConnectorConfig)
class ConnectorConfigAdmin(admin.ModelAdmin):
    list_display = ("name", "store", "connector_label", "is_active", "last_run", "runs_link")
    list_filter = ("store", "connector_type", "is_active")
    search_fields = ("name",)
    actions = (
        "run_full_now",
        "run_stock_now",
        "dry_run_full",
        "push_now",
        "import_orders_now",
        "test_connection",
    )

    def get_queryset(self, request):
        return selectors.configs_with_last_run()

    def _connector_type(self, request, obj):
        if obj is not None:
            return obj.connector_type
        return request.POST.get("connector_type") or request.GET.get("connector_type")

    CAPABILITY_LABELS = {
        "product_source": gettext_lazy("imports products"),
        "stock_price_source": gettext_lazy("imports stock and prices"),
        "order_sink": gettext_lazy("receives purchase orders"),
        "stock_price_sink": gettext_lazy("receives stock and prices"),
        "feed_exporter": gettext_lazy("product feed"),
        "invoice_sink": gettext_lazy("receives invoices"),
        "order_source": gettext_lazy("sends orders"),
    }

    def add_view(self, request, form_url="", extra_context=None):
        """Adding starts with choosing the connector's kind: its options depend on it."""
        chosen = self._connector_type(request, None)
        if chosen not in registered():
            connectors = [
                (key, cls.label, [self.CAPABILITY_LABELS.get(str(c), str(c)) for c in cls.capabilities])
                for key, cls in sorted(registered().items(), key=lambda item: str(item[1].label))
            ]
            context = {
                **self.admin_site.each_context(request),
                "title": _("Add a connector: choose its kind"),
                "connectors": connectors,
                "unknown": bool(chosen),
                "opts": self.model._meta,
            }
            return TemplateResponse(
                request,
                "admin/integrations/connectorconfig/choose_type.html",
                context,
                status=400 if request.method == "POST" else 200,
            )
        return super().add_view(request, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = connector_form(self._connector_type(request, obj))
        kwargs["fields"] = None
        form = super().get_form(request, obj, change=change, **kwargs)
        return form

    def get_fieldsets(self, request, obj=None):
        form_class = connector_form(self._connector_type(request, obj))
        return [
            (None, {"fields": ["store", "connector_type", "name", "is_active"]}),
            (_("Schedule"), {"fields": ["full_sync_time", "stock_sync_minutes"]}),
            (_("Feed"), {"fields": ["feed_file", "profile_json"]}),
            (str(form_class.connector_class.label), {"fields": option_field_names(form_class)}),
        ]

    def save_model(self, request, obj, form, change):
        services.save_config(
            config=obj,
            raw_settings=form.raw_settings,
            profile=form.cleaned_data.get("profile_json") or {},
            clear_secrets=form.clear_secrets,
        )

    def delete_model(self, request, obj):
        services.delete_config(config=obj)

    def delete_queryset(self, request, queryset):
        for config in queryset:
            services.delete_config(config=config)

    @admin.display(description=gettext_lazy("connector"))
    def connector_label(self, obj):
        try:
            return get_connector_class(obj.connector_type).label
        except LookupError:
            return obj.connector_type

    @admin.display(description=gettext_lazy("last run"))
    def last_run(self, obj):
        status = getattr(obj, "last_run_status", None)
        if not status:
            return "—"
        return f"{SyncRun.Status(status).label} ({obj.last_run_started:%Y-%m-%d %H:%M})"

    @admin.display(description=gettext_lazy("runs"))
    def runs_link(self, obj):
        url = reverse("admin:integrations_syncrun_changelist") + f"?config__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("runs"))

    def _enqueue(self, request, queryset, direction: str, dry_run: bool = False):
        queued = 0
        for config in queryset:
            if direction not in get_connector_class(config.connector_type).directions():
                continue
            safe_delay(run_connector, config.pk, direction, SyncRun.Trigger.ADMIN, dry_run)
            queued += 1
        self.message_user(
            request,
            _("%(n)d run(s) queued; their results appear under Sync runs.") % {"n": queued},
            messages.SUCCESS if queued else messages.WARNING,
        )

    @admin.action(description=gettext_lazy("Run the full import now"), permissions=["change"])
    def run_full_now(self, request, queryset):
        self._enqueue(request, queryset, "full")

    @admin.action(description=gettext_lazy("Run the stock and price import now"), permissions=["change"])
    def run_stock_now(self, request, queryset):
        self._enqueue(request, queryset, "stock")

    @admin.action(
        description=gettext_lazy("Dry run of the full import (changes nothing)"), permissions=["change"]
    )
    def dry_run_full(self, request, queryset):
        self._enqueue(request, queryset, "full", dry_run=True)

    @admin.action(description=gettext_lazy("Push stock and prices now"), permissions=["change"])
    def push_now(self, request, queryset):
        self._enqueue(request, queryset, "push")

    @admin.action(description=gettext_lazy("Import orders now"), permissions=["change"])
    def import_orders_now(self, request, queryset):
        self._enqueue(request, queryset, "orders")

    @admin.action(description=gettext_lazy("Test the connection"), permissions=["view"])
    def test_connection(self, request, queryset):
        """One cheap authenticated call per selected connector, answered on the spot."""
        from django.core.exceptions import ValidationError

        from shop.crypto import SecretsUnreadable

        from .connector_client import IntegrationHTTPError

        for config in queryset:
            try:
                answer = services.connector_for(config).test_connection()
            except NotImplementedError:
                self.message_user(
                    request,
                    _("%(name)s: this connector has no connection test.") % {"name": config.name},
                    messages.WARNING,
                )
            except (IntegrationHTTPError, ValidationError, SecretsUnreadable) as exc:
                detail = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                self.message_user(
                    request,
                    _("%(name)s: the connection failed: %(error)s") % {"name": config.name, "error": detail},
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request,
                    _("%(name)s: connected. %(answer)s") % {"name": config.name, "answer": answer},
                    messages.SUCCESS,
                )


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    read_only_deletable = True  # as before: with the model's delete permission
    list_display = (
        "started_at",
        "config",
        "direction",
        "status",
        "dry_run",
        "trigger",
        "duration_display",
        "rows_total",
        "created",
        "updated",
        "unchanged",
        "skipped",
        "failed",
        "vanished",
        "errors_link",
    )
    list_filter = ("status", "direction", "dry_run", "config")
    list_select_related = ("config",)
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in SyncRun._meta.fields] + [
        "duration_display",
        "errors_link",
        "recent_errors",
    ]

    @admin.display(description=gettext_lazy("duration"))
    def duration_display(self, obj):
        return _duration(obj)

    @admin.display(description=gettext_lazy("error log"))
    def errors_link(self, obj):
        url = reverse("admin:integrations_syncrun_errors", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("CSV"))

    @admin.display(description=gettext_lazy("first errors"))
    def recent_errors(self, obj):
        rows = selectors.run_errors(obj)[:20]
        if not rows:
            return "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "", "<li>{}: {} – {}</li>", ((e.row_number or "—", e.key, e.message) for e in rows)
            ),
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/errors.csv",
                self.admin_site.admin_view(self.errors_csv),
                name="integrations_syncrun_errors",
            ),
            *super().get_urls(),
        ]

    def errors_csv(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        run = get_object_or_404(scope_to_stores(SyncRun.objects.all(), request.user), pk=pk)
        response = StreamingHttpResponse(
            selectors.run_errors_csv(run), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="sync-run-{run.pk}-errors.csv"'
        return response


class PurchaseOrderLineInline(admin.TabularInline):
    model = PurchaseOrderLine
    extra = 0
    can_delete = False
    readonly_fields = ("sku", "supplier_code", "ean", "name", "quantity", "unit_cost")
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "order",
        "config",
        "method",
        "status",
        "attempts",
        "sent_at",
        "confirmed_at",
        "created_at",
    )
    list_filter = ("status", "method", "config")
    search_fields = ("number", "order__number", "external_reference")
    list_select_related = ("order", "config")
    readonly_fields = (
        "store",
        "config",
        "order",
        "number",
        "method",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "sent_at",
        "confirmed_at",
        "created_at",
    )
    fields = (*readonly_fields, "external_reference")
    inlines = [PurchaseOrderLineInline]
    actions = ("retry_now", "mark_confirmed")

    def has_add_permission(self, request):
        return False

    @admin.action(description=gettext_lazy("Send again (failed or pending)"), permissions=["change"])
    def retry_now(self, request, queryset):
        n = 0
        for po in queryset:
            if po.status == PurchaseOrder.Status.FAILED:
                purchase_orders.retry(purchase_order=po)
                n += 1
            elif po.status == PurchaseOrder.Status.PENDING:
                purchase_orders.send_purchase_order(purchase_order_id=po.pk)
                n += 1
        self.message_user(request, _("%(n)d purchase order(s) sent again.") % {"n": n})

    @admin.action(description=gettext_lazy("Mark as confirmed by the wholesaler"), permissions=["change"])
    def mark_confirmed(self, request, queryset):
        for po in queryset:
            purchase_orders.mark_confirmed(purchase_order=po)
        self.message_user(request, _("Marked as confirmed."))

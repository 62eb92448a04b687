"""Admin of the sales channels: listings (what each connector offers, what was last pushed, the
partner's error; "push again") and imported orders (the partner's id and status, the shop order,
why an import failed; "import again"). Connector settings live with the other connectors
(``integrations.admin``), with their "Test the connection" action."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shop.events import safe_delay

from ..models import SyncRun
from ..tasks import run_connector
from . import services
from .models import ChannelListing, ChannelOrder


class HasErrorFilter(admin.SimpleListFilter):
    title = gettext_lazy("error")
    parameter_name = "has_error"

    def lookups(self, request, model_admin):
        return (("yes", _("with an error")), ("no", _("without an error")))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(error="")
        if self.value() == "no":
            return queryset.filter(error="")
        return queryset


def _short(text: str, limit: int = 80) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _enqueue(model_admin, request, config_ids: set[int], direction: str) -> None:
    for config_id in sorted(config_ids):
        safe_delay(run_connector, config_id, direction, SyncRun.Trigger.ADMIN, False)
    model_admin.message_user(
        request,
        _("%(n)d run(s) queued; their results appear under Sync runs.") % {"n": len(config_ids)},
        messages.SUCCESS,
    )


@admin.register(ChannelListing)
class ChannelListingAdmin(admin.ModelAdmin):
    list_display = (
        "sku",
        "config",
        "external_id",
        "status",
        "push_due",
        "last_pushed_quantity",
        "last_pushed_price",
        "last_pushed_at",
        "error_short",
    )
    list_filter = ("config", "status", "push_due", HasErrorFilter)
    search_fields = ("variant__sku", "variant__ean", "external_id")
    list_select_related = ("config", "variant")
    raw_id_fields = ("variant",)
    readonly_fields = (
        "status",
        "push_due",
        "last_pushed_quantity",
        "last_pushed_price",
        "last_pushed_at",
        "error",
        "data_display",
        "created_at",
        "updated_at",
    )
    fields = ("config", "variant", "external_id", *readonly_fields)
    actions = ("push_again",)
    list_per_page = 100

    def get_readonly_fields(self, request, obj=None):
        # The connector and variant of an existing listing are fixed; its partner id may be fixed by hand.
        return (*self.readonly_fields, "config", "variant") if obj else self.readonly_fields

    @admin.display(description=gettext_lazy("SKU"), ordering="variant__sku")
    def sku(self, obj):
        return obj.variant.sku

    @admin.display(description=gettext_lazy("last error"))
    def error_short(self, obj):
        return _short(obj.error)

    @admin.display(description=gettext_lazy("connector data"))
    def data_display(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.data or {}, indent=2, ensure_ascii=False))

    @admin.action(description=gettext_lazy("Push again (even if unchanged)"), permissions=["change"])
    def push_again(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        services.request_push(listing_ids=ids)
        _enqueue(self, request, set(queryset.values_list("config_id", flat=True)), "push")


@admin.register(ChannelOrder)
class ChannelOrderAdmin(admin.ModelAdmin):
    list_display = (
        "external_id",
        "config",
        "order_link",
        "external_status",
        "fulfilment_status_sent",
        "attempts",
        "error_short",
        "imported_at",
    )
    list_filter = ("config", ("order", admin.EmptyFieldListFilter), HasErrorFilter)
    search_fields = ("external_id", "order__number", "order__email")
    list_select_related = ("config", "order")
    readonly_fields = (
        "config",
        "external_id",
        "order_link",
        "external_status",
        "fulfilment_status_sent",
        "attempts",
        "error",
        "payload_display",
        "imported_at",
        "updated_at",
    )
    fields = readonly_fields
    actions = ("import_again",)
    date_hierarchy = "imported_at"
    list_per_page = 100

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting the row would let the partner's order be imported a second time.
        return False

    @admin.display(description=gettext_lazy("shop order"), ordering="order__number")
    def order_link(self, obj):
        if obj.order_id is None:
            return "—"
        url = reverse("admin:orders_order_change", args=[obj.order_id])
        return format_html('<a href="{}">{}</a>', url, obj.order.number)

    @admin.display(description=gettext_lazy("last error"))
    def error_short(self, obj):
        return _short(obj.error)

    @admin.display(description=gettext_lazy("partner's data"))
    def payload_display(self, obj):
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.payload or {}, indent=2, ensure_ascii=False)[:50_000]
        )

    @admin.action(
        description=gettext_lazy("Import again now (failed orders are retried)"), permissions=["view"]
    )
    def import_again(self, request, queryset):
        _enqueue(self, request, set(queryset.values_list("config_id", flat=True)), "orders")

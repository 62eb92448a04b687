"""Admin: product feeds per store (format, filters, overrides, schedule), the secret URL to copy,
"regenerate now", token rotation, the figures of the last generation, and the run log with the
per-item warnings."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shop.admin_mixins import ReadOnlyAdminMixin, scope_to_stores
from shop.events import safe_delay

from . import services
from .models import Feed, FeedRun
from .offers import WARNING_LABELS
from .tasks import generate_feed


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.1f} s"


class FeedForm(forms.ModelForm):
    class Meta:
        model = Feed
        fields = (
            "store",
            "name",
            "kind",
            "format",
            "partner_name",
            "is_active",
            "interval_minutes",
            "regenerate_on_changes",
            "change_threshold",
            "categories",
            "min_stock",
            "only_in_stock",
            "exclude_preorders",
            "exclude_groups",
            "excluded_products",
            "one_offer_per_product",
            "title_template",
            "brand_fallback",
            "custom_label",
            "price_markup_percent",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "google_product_category",
            "condition",
            "shipping_country",
            "shipping_service",
            "shipping_price",
            "backorder_days",
        )

    def clean(self):
        cleaned = super().clean()
        store = cleaned.get("store")
        if store is not None:
            for name in ("categories", "exclude_groups", "excluded_products"):
                chosen = cleaned.get(name)
                if chosen is not None and any(obj.store_id != store.pk for obj in chosen):
                    self.add_error(name, ValidationError(_("Choose only from the feed's own store.")))
        return cleaned


def enqueue_generation(feed_ids: list[int]) -> None:
    """Ask a worker to regenerate, after the current transaction commits."""

    def send():
        for pk in feed_ids:
            safe_delay(generate_feed, pk, FeedRun.Trigger.ADMIN)

    transaction.on_commit(send)


@admin.register(Feed)
class FeedAdmin(admin.ModelAdmin):
    form = FeedForm
    list_display = (
        "name",
        "store",
        "partner",
        "format",
        "is_active",
        "last_generated_at",
        "last_items",
        "last_skipped",
        "last_warnings",
        "size_display",
        "duration_display",
        "state",
    )
    list_filter = ("store", "kind", "format", "is_active")
    list_select_related = ("store",)
    search_fields = ("name", "partner_name")
    autocomplete_fields = ("categories", "exclude_groups", "excluded_products")
    actions = ("regenerate_now", "rotate_tokens")
    readonly_fields = (
        "secret_url",
        "last_generated_at",
        "last_items",
        "last_skipped",
        "last_warnings",
        "size_display",
        "duration_display",
        "last_error",
        "recent_runs",
    )
    fieldsets = (
        (None, {"fields": ("store", "name", "kind", "format", "partner_name", "is_active")}),
        (gettext_lazy("Secret URL"), {"fields": ("secret_url",)}),
        (
            gettext_lazy("Schedule"),
            {"fields": ("interval_minutes", "regenerate_on_changes", "change_threshold")},
        ),
        (
            gettext_lazy("Which products"),
            {
                "fields": (
                    "categories",
                    "min_stock",
                    "only_in_stock",
                    "exclude_preorders",
                    "exclude_groups",
                    "excluded_products",
                    "one_offer_per_product",
                )
            },
        ),
        (
            gettext_lazy("How they are shown"),
            {
                "fields": (
                    "title_template",
                    "brand_fallback",
                    "custom_label",
                    "price_markup_percent",
                    ("utm_source", "utm_medium", "utm_campaign"),
                    "google_product_category",
                    "condition",
                    ("shipping_country", "shipping_service", "shipping_price"),
                    "backorder_days",
                )
            },
        ),
        (
            gettext_lazy("Last generation"),
            {
                "fields": (
                    "last_generated_at",
                    ("last_items", "last_skipped", "last_warnings"),
                    ("size_display", "duration_display"),
                    "last_error",
                    "recent_runs",
                )
            },
        ),
    )

    @admin.display(description=gettext_lazy("partner"), ordering="kind")
    def partner(self, obj: Feed) -> str:
        return obj.partner_label

    @admin.display(description=gettext_lazy("file size"), ordering="last_size")
    def size_display(self, obj: Feed) -> str:
        if not obj.last_generated_at:
            return "—"
        return _("%(size)s (gzip %(gzip)s)") % {
            "size": filesizeformat(obj.last_size),
            "gzip": filesizeformat(obj.last_gzip_size),
        }

    @admin.display(description=gettext_lazy("duration"), ordering="last_duration_ms")
    def duration_display(self, obj: Feed) -> str:
        return _seconds(obj.last_duration_ms) if obj.last_generated_at else "—"

    @admin.display(description=gettext_lazy("state"))
    def state(self, obj: Feed) -> str:
        if obj.last_error:
            return _("last run failed")
        if not obj.last_generated_at:
            return _("not generated yet")
        return _("ready")

    @admin.display(description=gettext_lazy("secret URL"))
    def secret_url(self, obj: Feed):
        if obj is None or obj.pk is None:
            return _("Shown once the feed is saved.")
        url = obj.public_url()
        note = "" if obj.last_generated_at else _("(answers 404 until the first generation)")
        return format_html(
            '<input type="text" readonly value="{}" size="90" onfocus="this.select()" '
            'aria-label="{}"> <span class="help">{}</span>'
            '<div class="help">{}</div>',
            url,
            _("secret URL"),
            note,
            _("Give this URL to the partner only. Rotating the token makes the old URL answer 404."),
        )

    @admin.display(description=gettext_lazy("recent runs"))
    def recent_runs(self, obj: Feed):
        if obj is None or obj.pk is None:
            return "—"
        runs = list(obj.runs.order_by("-started_at", "-pk")[:10])
        if not runs:
            return _("No runs yet.")
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:integrations_feeds_feedrun_change", args=[run.pk]),
                    timezone.localtime(run.started_at).strftime("%Y-%m-%d %H:%M:%S"),
                    run.get_status_display(),
                    run.get_trigger_display(),
                    run.items,
                    run.skipped,
                    run.warning_count,
                    run.error[:120],
                )
                for run in runs
            ),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            _("started"),
            _("status"),
            _("started by"),
            _("items"),
            _("skipped"),
            _("warnings"),
            _("error"),
            rows,
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "rotate_confirm": _(
                "The partner will get 404 at the old URL until you give it the new one. Continue?"
            ),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        services.save_feed(feed=obj)

    def delete_model(self, request, obj):
        services.delete_feed(feed=obj)

    def delete_queryset(self, request, queryset):
        for feed in queryset:
            services.delete_feed(feed=feed)

    @admin.action(description=gettext_lazy("Regenerate now"), permissions=["change"])
    def regenerate_now(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        enqueue_generation(ids)
        self.message_user(
            request,
            _("%(n)s feed(s) will be regenerated in the background.") % {"n": len(ids)},
            messages.SUCCESS,
        )

    @admin.action(
        description=gettext_lazy("Rotate the secret token (the old URL stops working)"),
        permissions=["change"],
    )
    def rotate_tokens(self, request, queryset):
        for feed in queryset:
            services.rotate_token(feed=feed)
        self.message_user(
            request,
            _("New secret URLs for %(n)s feed(s): give them to the partners.") % {"n": queryset.count()},
            messages.WARNING,
        )

    def get_urls(self):
        urls = super().get_urls()
        own = [
            path(
                "<int:pk>/regenerate/",
                self.admin_site.admin_view(require_POST(self.regenerate_view)),
                name="integrations_feeds_feed_regenerate",
            ),
            path(
                "<int:pk>/rotate-token/",
                self.admin_site.admin_view(require_POST(self.rotate_view)),
                name="integrations_feeds_feed_rotate",
            ),
        ]
        return own + urls

    def _feed_for_change(self, request, pk: int) -> Feed:
        if not self.has_change_permission(request):
            raise PermissionDenied
        feed = get_object_or_404(scope_to_stores(Feed.objects.all(), request.user), pk=pk)
        if not self.has_change_permission(request, feed):
            raise PermissionDenied
        return feed

    def regenerate_view(self, request, pk: int):
        feed = self._feed_for_change(request, pk)
        enqueue_generation([feed.pk])
        self.message_user(request, _("The feed will be regenerated in the background."), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:integrations_feeds_feed_change", args=[feed.pk]))

    def rotate_view(self, request, pk: int):
        feed = self._feed_for_change(request, pk)
        services.rotate_token(feed=feed)
        self.message_user(
            request, _("New secret URL made; the old one answers 404 from now on."), messages.WARNING
        )
        return HttpResponseRedirect(reverse("admin:integrations_feeds_feed_change", args=[feed.pk]))


@admin.register(FeedRun)
class FeedRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    read_only_deletable = True  # old runs may be cleared
    list_display = (
        "feed",
        "started_at",
        "status",
        "trigger",
        "items",
        "skipped",
        "filtered",
        "warning_count",
        "size_display",
        "duration_display",
    )
    list_filter = ("status", "trigger", "feed__store", "feed")
    list_select_related = ("feed",)
    date_hierarchy = "started_at"
    readonly_fields = (
        "feed",
        "status",
        "trigger",
        "items",
        "skipped",
        "filtered",
        "warning_count",
        "size_display",
        "duration_display",
        "started_at",
        "finished_at",
        "error",
        "summary_table",
        "warnings_table",
    )
    fields = readonly_fields

    @admin.display(description=gettext_lazy("file size"), ordering="size")
    def size_display(self, obj: FeedRun) -> str:
        return _("%(size)s (gzip %(gzip)s)") % {
            "size": filesizeformat(obj.size),
            "gzip": filesizeformat(obj.gzip_size),
        }

    @admin.display(description=gettext_lazy("duration"))
    def duration_display(self, obj: FeedRun) -> str:
        d = obj.duration
        return f"{d.total_seconds():.1f} s" if d is not None else "—"

    @admin.display(description=gettext_lazy("warnings by kind"))
    def summary_table(self, obj: FeedRun):
        if not obj.warning_summary:
            return "—"
        rows = sorted(
            ((str(WARNING_LABELS.get(code, code)), count) for code, count in obj.warning_summary.items()),
            key=lambda row: -row[1],
        )
        return format_html(
            "<table><tbody>{}</tbody></table>", format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", rows)
        )

    @admin.display(description=gettext_lazy("warnings"))
    def warnings_table(self, obj: FeedRun):
        if not obj.warnings:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (w.get("item", ""), w.get("message", ""), _("skipped") if w.get("skipped") else "")
                for w in obj.warnings
                if isinstance(w, dict)
            ),
        )
        more = ""
        if obj.warning_count > len(obj.warnings):
            more = _("… and %(n)s more.") % {"n": obj.warning_count - len(obj.warnings)}
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th></th></tr></thead><tbody>{}</tbody></table>{}",
            _("item"),
            _("message"),
            rows,
            more,
        )

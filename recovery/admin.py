"""Admin: campaigns with steps, templates and A/B variants; tracked carts with their reminders;
suppression list; the recovery dashboard; step preview and test sending."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from orders.models import Cart
from shop import charts
from shop.admin_mixins import scope_to_stores
from shop.models import Store

from . import selectors, services
from .admin_labels import reason_label
from .channels import ChannelError
from .forms import DashboardFilter, PreviewForm
from .messages import NoTemplate
from .models import (
    Campaign,
    PushSubscription,
    Reminder,
    Step,
    StepTemplate,
    StepVariant,
    Suppression,
    TrackedCart,
)

DASHBOARD_PERMISSION = "recovery.view_recovery_dashboard"
LOST_LISTED = 50  # lost messages listed on the dashboard (all are in the reminder list)


class StepInline(admin.TabularInline):
    model = Step
    extra = 0
    fields = (
        "position",
        "delay",
        "channel",
        "incentive_kind",
        "incentive_value",
        "incentive_expiry_days",
        "is_active",
        "edit",
    )
    readonly_fields = ("edit",)

    @admin.display(description=_("templates"))
    def edit(self, obj):
        if not obj.pk:
            return ""
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:recovery_step_change", args=[obj.pk]), _("edit / preview")
        )


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "store", "is_active", "priority", "segment", "min_cart_value", "holdout_percent")
    list_filter = ("store", "is_active", "segment")
    list_editable = ("is_active",)
    inlines = [StepInline]
    actions = ["pause", "resume"]
    change_list_template = "recovery/admin/campaign_change_list.html"

    @admin.action(description=_("Pause selected campaigns"))
    def pause(self, request, queryset):
        queryset.update(is_active=False)

    @admin.action(description=_("Resume selected campaigns"))
    def resume(self, request, queryset):
        queryset.update(is_active=True)

    def get_urls(self):
        return [
            path("dashboard/", self.admin_site.admin_view(self.dashboard_view), name="recovery_dashboard"),
            *super().get_urls(),
        ]

    def dashboard_view(self, request):
        if not request.user.has_perm(DASHBOARD_PERMISSION):
            raise PermissionDenied
        stores = scope_to_stores(Store.objects.order_by("pk"), request.user)
        store = getattr(request, "store", None)
        if store is not None and not stores.filter(pk=store.pk).exists():
            store = None  # another store's domain: this employee's own store instead
        store = store or stores.filter(is_default=True).first() or stores.first()
        if store is None:
            raise Http404(_("No store yet."))
        start, end = selectors.default_range(store)
        form = DashboardFilter(request.GET or None, store=store, initial={"start": start, "end": end})
        campaign = None
        if form.is_bound and form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
            campaign = form.cleaned_data["campaign"]
        data = selectors.dashboard(store=store, start=start, end=end, campaign=campaign)
        daily_chart = charts.line_chart(
            title=str(_("Abandoned and recovered carts per day")),
            categories=[d.strftime("%d.%m") for d, _n, _r in data.days],
            series=[
                charts.Series(str(_("abandoned")), [n for _d, n, _r in data.days], color="#5b6475"),
                charts.Series(str(_("recovered")), [r for _d, _n, r in data.days], color="#009E73"),
            ],
            unit=charts.Unit("count"),
            y_label=str(_("carts")),
        )
        steps_chart = charts.bar_chart(
            title=str(_("Messages sent per step and channel")),
            labels=[f"{s.campaign} · {s.position} ({s.channel_label})" for s in data.steps],
            values=[s.sent for s in data.steps],
            unit=charts.Unit("count"),
            empty_message=str(_("Nothing sent in this range.")),
        )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Cart recovery dashboard"),
            "form": form,
            "data": data,
            "store": store,
            "daily_chart": daily_chart,
            "steps_chart": steps_chart,
            "lost": list(selectors.lost_messages(store=store)[:LOST_LISTED]),
            "lost_actions_url": reverse("admin:recovery_reminder_changelist"),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "recovery/admin/dashboard.html", context)


class StepTemplateInline(admin.StackedInline):
    model = StepTemplate
    extra = 0
    fields = ("language", "variant", "subject", "html_body", "text_body")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields.get("variant")
        if field is not None:
            field.queryset = StepVariant.objects.filter(step=obj) if obj else StepVariant.objects.none()
        return formset


class StepVariantInline(admin.TabularInline):
    model = StepVariant
    extra = 0


@admin.register(Step)
class StepAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "campaign",
        "position",
        "delay_label",
        "channel",
        "incentive_kind",
        "is_active",
    )
    list_filter = ("campaign__store", "campaign", "channel")
    inlines = [StepVariantInline, StepTemplateInline]
    change_form_template = "recovery/admin/step_change_form.html"

    @admin.display(description=_("delay"), ordering="delay")
    def delay_label(self, obj):
        from shop.durations import humanize_duration

        return humanize_duration(obj.delay)

    def get_urls(self):
        return [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="recovery_step_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request, pk: int):
        step = get_object_or_404(
            scope_to_stores(Step.objects.select_related("campaign__store"), request.user), pk=pk
        )
        if not self.has_view_permission(request, step):
            raise PermissionDenied
        form = PreviewForm(
            request.POST or request.GET or None, initial={"language": step.campaign.store.default_language}
        )
        message = error = None
        if form.is_bound and form.is_valid():
            cart = None
            if form.cleaned_data.get("cart"):
                cart = Cart.objects.filter(pk=form.cleaned_data["cart"], store=step.campaign.store).first()
                if cart is None:
                    form.add_error("cart", _("No such cart in this store."))
            variant = None
            if form.cleaned_data.get("variant"):
                variant = StepVariant.objects.filter(pk=form.cleaned_data["variant"], step=step).first()
            if not form.errors:
                try:
                    message = services.preview_step(
                        step=step, language=form.cleaned_data["language"], cart=cart, variant=variant
                    )
                    if request.method == "POST" and form.cleaned_data.get("email"):
                        if not self.has_change_permission(request, step):
                            raise PermissionDenied
                        services.send_test_message(
                            step=step,
                            language=form.cleaned_data["language"],
                            to=form.cleaned_data["email"],
                            cart=cart,
                            variant=variant,
                        )
                        messages.success(
                            request, _("Test message sent to %(to)s.") % {"to": form.cleaned_data["email"]}
                        )
                except NoTemplate:
                    error = _("This step has no template yet.")
                except ChannelError as exc:
                    error = _("Sending failed: %(error)s") % {"error": exc}
        context = {
            **self.admin_site.each_context(request),
            "title": _("Preview: %(step)s") % {"step": step},
            "step": step,
            "form": form,
            "message": message,
            "error": error,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "recovery/admin/preview.html", context)


class ReminderInline(admin.TabularInline):
    model = Reminder
    extra = 0
    can_delete = False
    fields = (
        "step",
        "variant",
        "channel",
        "status",
        "reason_label",
        "due_at",
        "next_attempt_at",
        "attempts",
        "sent_at",
        "opened_at",
        "clicked_at",
    )
    readonly_fields = fields

    @admin.display(description=_("reason"))
    def reason_label(self, obj):
        return reason_label(obj.reason)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(TrackedCart)
class TrackedCartAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "cart",
        "store",
        "state",
        "email",
        "abandoned_at",
        "cart_value",
        "is_holdout",
        "recovered_via",
        "recovered_order",
    )
    list_filter = ("store", "state", "is_holdout", "recovered_via", "campaign")
    search_fields = ("email", "cart__id")
    date_hierarchy = "abandoned_at"
    inlines = [ReminderInline]
    actions = ["export_data", "erase_data"]
    readonly_fields = [f.name for f in TrackedCart._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Export the shoppers' data (JSON)"))
    def export_data(self, request, queryset):
        payload = [
            services.export_shopper(store=t.store, email=t.email)
            for t in queryset.exclude(email="").select_related("store")
        ]
        response = HttpResponse(
            json.dumps(payload, indent=2, ensure_ascii=False), content_type="application/json"
        )
        response["Content-Disposition"] = 'attachment; filename="recovery-export.json"'
        return response

    @admin.action(description=_("Erase the shoppers' data"), permissions=["change"])
    def erase_data(self, request, queryset):
        pairs = {(t.store, t.email) for t in queryset.exclude(email="").select_related("store")}
        for store, email in pairs:
            services.erase_shopper(store=store, email=email)
        self.message_user(request, _("Erased the data of %(n)d shoppers.") % {"n": len(pairs)})


class ReasonFilter(admin.SimpleListFilter):
    title = _("reason")
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        codes = model_admin.get_queryset(request).exclude(reason="").values_list("reason", flat=True)
        return sorted(((c, reason_label(c)) for c in set(codes)), key=lambda p: p[1])

    def queryset(self, request, queryset):
        return queryset.filter(reason=self.value()) if self.value() else queryset


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "tracked",
        "step",
        "channel",
        "status",
        "reason_label",
        "due_at",
        "next_attempt_at",
        "attempts",
        "sent_at",
    )
    list_filter = ("status", "channel", ReasonFilter, "store")
    readonly_fields = [("reason_label" if f.name == "reason" else f.name) for f in Reminder._meta.fields]
    exclude = ("reason",)

    @admin.display(description=_("reason"), ordering="reason")
    def reason_label(self, obj):
        return reason_label(obj.reason)

    actions = ["resend_lost", "write_off_lost"]

    def has_add_permission(self, request):
        return False

    def _resolve(self, request, queryset, service, done_message):
        by_store: dict = {}
        for reminder in queryset.select_related("store"):
            by_store.setdefault(reminder.store, []).append(reminder.pk)
        done = refused = 0
        for store, ids in by_store.items():
            result = service(store=store, reminder_ids=ids)
            done += len(result.done)
            refused += len(result.refused)
        if done:
            self.message_user(request, done_message(done), messages.SUCCESS)
        if refused:
            self.message_user(
                request,
                ngettext(
                    "%(n)d message was left as it is: it is not lost, or a later step of its cart "
                    "was already sent.",
                    "%(n)d messages were left as they are: they are not lost, or a later step of "
                    "their cart was already sent.",
                    refused,
                )
                % {"n": refused},
                messages.WARNING,
            )

    @admin.action(description=_("Resend the selected lost messages"), permissions=["change"])
    def resend_lost(self, request, queryset):
        from .services.lost import resend_lost

        self._resolve(
            request,
            queryset,
            resend_lost,
            lambda n: (
                ngettext(
                    "%(n)d lost message will be sent again (every sending rule is checked again first).",
                    "%(n)d lost messages will be sent again (every sending rule is checked again first).",
                    n,
                )
                % {"n": n}
            ),
        )

    @admin.action(description=_("Write off the selected lost messages"), permissions=["change"])
    def write_off_lost(self, request, queryset):
        from .services.lost import write_off_lost

        self._resolve(
            request,
            queryset,
            write_off_lost,
            lambda n: (
                ngettext(
                    "%(n)d lost message written off: it counts as not sent and will not be sent.",
                    "%(n)d lost messages written off: they count as not sent and will not be sent.",
                    n,
                )
                % {"n": n}
            ),
        )


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ("email", "store", "source", "created_at")
    list_filter = ("store", "source")
    search_fields = ("email",)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        else:
            saved = services.suppress(store=obj.store, email=obj.email, source="admin")
            obj.pk = saved.pk


@admin.register(PushSubscription)
class PushSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("endpoint", "store", "email", "created_at")
    list_filter = ("store",)

"""Marketing in the admin: batches of single-use voucher codes (generate, see, export) and the
order e-mail texts (edit per language, preview with a real order, send a test to oneself).

Registered from ``OrdersConfig.ready``; both admins are store-scoped (staff see their stores'
batches and texts only) and write through :mod:`orders.services.codes` and
:mod:`orders.email_templates`."""

from __future__ import annotations

import csv
import io

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.text import capfirst, slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shop.admin_mixins import StoreScopedAdminMixin, scope_to_stores, user_store_ids
from shop.money import format_money
from shop.spreadsheets import spreadsheet_text

from . import email_templates
from .models import Order, OrderEmailTemplate, Voucher, VoucherBatch
from .services import codes

# --- Voucher batches ---------------------------------------------------------------------------


class VoucherBatchForm(forms.ModelForm):
    count = forms.IntegerField(
        label=capfirst(gettext_lazy("number of codes")),
        min_value=1,
        max_value=codes.BATCH_MAX,
        error_messages={
            "min_value": gettext_lazy("Generate at least one code."),
            "max_value": gettext_lazy("At most %(limit_value)s codes in one batch."),
        },
        help_text=gettext_lazy("From 1 to 10 000 single-use codes."),
    )
    prefix = forms.CharField(
        label=capfirst(gettext_lazy("prefix")),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Optional, up to 12 letters A–Z and digits, e.g. LATO: LATO-7KQ2M9XW4P."),
    )

    class Meta:
        model = VoucherBatch
        fields = [
            "store",
            "name",
            "prefix",
            "count",
            "kind",
            "value",
            "min_basket",
            "valid_until",
            "products",
            "categories",
        ]

    def clean_prefix(self):
        try:
            return codes.clean_prefix(self.cleaned_data.get("prefix") or "")
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def clean_valid_until(self):
        value = self.cleaned_data.get("valid_until")
        if value is not None and value <= timezone.now():
            raise ValidationError(_("The expiry date must be in the future."))
        return value

    def clean(self):
        data = super().clean()
        kind, value = data.get("kind"), data.get("value")
        if kind and value is not None:
            if kind == Voucher.Kind.PERCENTAGE and not 0 < value <= 100:
                self.add_error("value", _("A percentage must be between 0 and 100."))
            elif kind == Voucher.Kind.FIXED and value <= 0:
                self.add_error("value", _("Enter the value of the discount."))
        store = data.get("store")
        if store is not None:
            for field in ("products", "categories"):
                if any(obj.store_id != store.pk for obj in data.get(field) or []):
                    self.add_error(field, _("Choose only what belongs to the batch's store."))
        return data


class VoucherBatchAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    form = VoucherBatchForm
    list_display = ("name", "store", "discount", "count", "used", "valid_until", "created_at")
    list_filter = ("store", "kind")
    search_fields = ("name", "prefix")
    autocomplete_fields = ("products", "categories")
    readonly_change = (
        "store",
        "prefix",
        "count",
        "kind",
        "discount",
        "minimum",
        "valid_until",
        "products",
        "categories",
        "used_summary",
        "exports",
        "created_by",
        "created_at",
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("store")
            .annotate(used_codes=Count("vouchers", filter=Q(vouchers__used_count__gt=0)))
        )

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        widget = getattr(field, "widget", None)
        if widget is not None:
            # select2 takes the column's width (320 px overflowed a tablet's column)
            widget.attrs["data-width"] = "min(320px, 100%)"
        return field

    def get_fields(self, request, obj=None):
        if obj is None:
            return VoucherBatchForm.Meta.fields
        return ["name", *self.readonly_change]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_change if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False  # issued codes may be in shoppers' hands; switch codes off instead

    @admin.display(description=gettext_lazy("discount"))
    def discount(self, obj):
        if obj.kind == Voucher.Kind.PERCENTAGE:
            return f"{obj.value.normalize():f}%"
        if obj.kind == Voucher.Kind.FIXED:
            return format_money(obj.value, obj.store.currency)
        return obj.get_kind_display()

    @admin.display(description=gettext_lazy("minimum basket"))
    def minimum(self, obj):
        return format_money(obj.min_basket, obj.store.currency) if obj.min_basket is not None else "—"

    @admin.display(description=gettext_lazy("used"), ordering="used_codes")
    def used(self, obj):
        return getattr(obj, "used_codes", 0)

    @admin.display(description=gettext_lazy("codes used"))
    def used_summary(self, obj):
        used = getattr(obj, "used_codes", None)
        if used is None:
            used = obj.vouchers.filter(used_count__gt=0).count()
        return _("%(used)s of %(count)s") % {"used": used, "count": obj.count}

    @admin.display(description=gettext_lazy("export"))
    def exports(self, obj):
        return format_html(
            '<a class="button" href="{}">{}</a> <a class="button" href="{}">{}</a>',
            reverse("admin:orders_voucherbatch_export", args=[obj.pk, "csv"]),
            _("Download CSV"),
            reverse("admin:orders_voucherbatch_export", args=[obj.pk, "xlsx"]),
            _("Download XLSX"),
        )

    def save_model(self, request, obj, form, change):
        if change:
            if not self._may_use(request, obj):
                raise PermissionDenied
            VoucherBatch.objects.filter(pk=obj.pk).update(name=obj.name)
            return
        data = form.cleaned_data
        ids = user_store_ids(request.user)
        if ids is not None and data["store"].pk not in ids:
            raise PermissionDenied
        batch = codes.create_voucher_batch(
            store=data["store"],
            name=data["name"],
            count=data["count"],
            kind=data["kind"],
            value=data["value"],
            prefix=data["prefix"],
            min_basket=data.get("min_basket"),
            valid_until=data.get("valid_until"),
            products=data.get("products") or [],
            categories=data.get("categories") or [],
            user=request.user,
        )
        obj.pk = batch.pk
        obj.created_at = batch.created_at

    def save_related(self, request, form, formsets, change):
        """The service set the products and categories; nothing of a batch changes later."""

    def get_urls(self):
        return [
            path(
                "<int:pk>/export/<str:fmt>/",
                self.admin_site.admin_view(self.export_view),
                name="orders_voucherbatch_export",
            ),
            *super().get_urls(),
        ]

    def export_view(self, request, pk: int, fmt: str):
        if fmt not in ("csv", "xlsx"):
            raise Http404
        batch = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, batch):
            raise PermissionDenied
        header = [_("code"), _("discount"), _("minimum basket"), _("valid until"), _("used")]
        currency = batch.store.currency
        minimum = format_money(batch.min_basket, currency) if batch.min_basket is not None else ""
        until = date_format(timezone.localtime(batch.valid_until), "d.m.Y H:i") if batch.valid_until else ""
        rows = (
            [code, self.discount(batch), minimum, until, _("yes") if used else _("no")]
            for code, used in batch.vouchers.order_by("code").values_list("code", "used_count").iterator()
        )
        name = slugify(batch.name) or "kody"
        if fmt == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer, delimiter=";")
            writer.writerow(header)
            for row in rows:
                writer.writerow([spreadsheet_text(str(v)) for v in row])
            response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
        else:
            from openpyxl import Workbook
            from openpyxl.cell import WriteOnlyCell
            from openpyxl.styles import Font

            wb = Workbook(write_only=True)
            ws = wb.create_sheet(title=_("Codes"))
            ws.freeze_panes = "A2"

            def cell(value, bold=False):
                c = WriteOnlyCell(ws, value=spreadsheet_text(str(value)))
                c.data_type = "s"
                if bold:
                    c.font = Font(bold=True)
                return c

            ws.append([cell(h, bold=True) for h in header])
            for row in rows:
                ws.append([cell(v) for v in row])
            out = io.BytesIO()
            wb.save(out)
            response = HttpResponse(
                out.getvalue(),
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
        return response


# --- Order e-mail texts ------------------------------------------------------------------------


class OrderEmailTemplateForm(forms.ModelForm):
    class Meta:
        model = OrderEmailTemplate
        fields = ["store", "key", "language", "subject", "body", "is_active"]
        widgets = {
            "subject": forms.TextInput(
                attrs={"size": 80, "style": "width:100%;max-width:48em;box-sizing:border-box"}
            ),
            "body": forms.Textarea(attrs={"rows": 10, "cols": 80}),
        }

    def clean(self):
        data = super().clean()
        store, language = data.get("store"), data.get("language")
        if (
            store is not None
            and language
            and data.get("subject") is not None
            and data.get("body") is not None
        ):
            try:
                email_templates.validate(
                    subject=data["subject"], body=data["body"], store=store, language=language
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        self.add_error(field, error)
        return data


class PreviewForm(forms.Form):
    order = forms.CharField(
        label=gettext_lazy("order number"),
        required=False,
        max_length=40,
        help_text=gettext_lazy("Empty: the store's latest order."),
    )


def variables_help() -> str:
    return _(
        "Write them in double braces, e.g. {{ order.number }}; a condition: "
        "{% if order.is_paid %}…{% endif %}. The order summary, payment instructions, tracking link "
        "and the button to the order follow the message by themselves."
    )


class OrderEmailTemplateAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    form = OrderEmailTemplateForm
    list_display = ("key", "language", "store", "subject", "is_active", "updated_at")
    list_filter = ("store", "key", "language", "is_active")
    change_form_template = "orders/admin/email_template_change_form.html"

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        key = initial.get("key") or OrderEmailTemplate.Key.PLACED
        language = initial.get("language") or settings.LANGUAGE_CODE
        if key in OrderEmailTemplate.Key.values and language in dict(settings.LANGUAGES):
            initial.setdefault("subject", email_templates.default_subject(key, language))
            initial.setdefault("body", email_templates.default_body(key, language))
        return initial

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), **self._preview_context(request, object_id)}
        return super().change_view(request, object_id, form_url, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        defaults = [
            {
                "key": key,
                "label": label,
                "url": reverse("admin:orders_orderemailtemplate_add") + f"?key={key}&language={lang}",
                "language": lang,
            }
            for key, label in OrderEmailTemplate.Key.choices
            for lang, _name in settings.LANGUAGES
        ]
        extra_context = {
            **(extra_context or {}),
            "default_links": defaults,
            "variables": email_templates.VARIABLES,
            "variables_help": variables_help(),
        }
        return super().add_view(request, form_url, extra_context)

    def _preview_context(self, request, object_id) -> dict:
        template = self.get_object(request, object_id)
        if template is None:
            return {}
        form = PreviewForm(request.GET or None)
        orders = scope_to_stores(Order.objects.filter(store_id=template.store_id), request.user)
        order = None
        error = ""
        if form.is_valid() and form.cleaned_data.get("order"):
            order = orders.filter(number=form.cleaned_data["order"].strip()).first()
            if order is None:
                error = _("There is no order with this number in the store.")
        if order is None and not error:
            order = orders.order_by("-created_at", "-pk").first()
        preview = None
        if order is not None:
            try:
                message = email_templates.preview_email(
                    template=template, order=order, recipient=request.user.email
                )
                preview = {
                    "subject": message.subject,
                    "text": message.body,
                    "html": message.alternatives[0][0],
                    "order": order,
                }
            except Exception as exc:  # a text that fails on this order: say so, never a 500
                error = _("The preview failed: %(error)s") % {"error": exc}
        elif not error:
            error = _("The store has no orders yet: the preview needs one.")
        return {
            "preview": preview,
            "preview_form": form,
            "preview_error": error,
            "preview_note": _("The preview shows the saved text: save to see your changes."),
            "variables": email_templates.VARIABLES,
            "variables_help": variables_help(),
            "test_send_url": reverse("admin:orders_orderemailtemplate_test", args=[template.pk]),
        }

    def get_urls(self):
        return [
            path(
                "<int:pk>/test/",
                self.admin_site.admin_view(self.test_send_view),
                name="orders_orderemailtemplate_test",
            ),
            *super().get_urls(),
        ]

    def test_send_view(self, request, pk: int):
        """Send the e-mail with this text for the chosen (or latest) order to the staff member's
        own address, never to the shopper."""
        if request.method != "POST":
            raise Http404
        template = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, template):
            raise PermissionDenied
        back = reverse("admin:orders_orderemailtemplate_change", args=[pk])
        if not request.user.email:
            messages.error(request, _("Your account has no e-mail address."))
            return HttpResponseRedirect(back)
        number = (request.POST.get("order") or "").strip()[:40]
        orders = scope_to_stores(Order.objects.filter(store_id=template.store_id), request.user)
        order = (
            orders.filter(number=number).first() if number else orders.order_by("-created_at", "-pk").first()
        )
        if order is None:
            messages.error(request, _("There is no order to send the test with."))
            return HttpResponseRedirect(back)
        message = email_templates.preview_email(template=template, order=order, recipient=request.user.email)
        message.to = [request.user.email]
        message.subject = "[TEST] " + message.subject
        message.send()
        messages.success(request, _("Test e-mail sent to %(to)s.") % {"to": request.user.email})
        return HttpResponseRedirect(back + (f"?order={number}" if number else ""))


def register(site=None) -> None:
    site = site or admin.site
    for model, model_admin in (
        (VoucherBatch, VoucherBatchAdmin),
        (OrderEmailTemplate, OrderEmailTemplateAdmin),
    ):
        if not site.is_registered(model):
            site.register(model, model_admin)

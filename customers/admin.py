"""Klienci: the customer list, a customer's page with the GDPR export and erasure, and the
customer groups with their prices."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shop.admin_mixins import (
    ReadOnlyAdminMixin,
    StoreScopedAdminMixin,
    StoreScopedInlineMixin,
    user_store_ids,
)
from shop.identifiers import clean_nip
from shop.models import Store
from shop.money import format_money

from . import privacy, selectors
from .directory import ERASED_SUFFIX
from .models import Customer, CustomerGroup, CustomerGroupMember, CustomerGroupPrice

CHANNELS = (
    ("consent_email", pgettext_lazy("consent channel, short", "e-mail")),
    ("consent_sms", pgettext_lazy("consent channel, short", "SMS")),
    ("consent_push", pgettext_lazy("consent channel, short", "push")),
)


class KindFilter(admin.SimpleListFilter):
    title = _("customer type")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("account", _("with an account")), ("guest", _("guests"))]

    def queryset(self, request, queryset):
        if self.value() == "account":
            return queryset.filter(user__isnull=False)
        if self.value() == "guest":
            return queryset.filter(user__isnull=True)
        return queryset


class HasOrdersFilter(admin.SimpleListFilter):
    title = pgettext_lazy("customer list filter", "orders")
    parameter_name = "ordered"

    def lookups(self, request, model_admin):
        return [("yes", _("has orders")), ("no", _("no orders"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(orders_count__gt=0)
        if self.value() == "no":
            return queryset.filter(orders_count=0)
        return queryset


class ConsentFilter(admin.SimpleListFilter):
    title = pgettext_lazy("customer list filter", "consent")
    parameter_name = "consent"

    def lookups(self, request, model_admin):
        return [
            ("email", _("e-mail granted")),
            ("sms", _("SMS granted")),
            ("push", _("web push granted")),
            ("none", _("no consent")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value in ("email", "sms", "push"):
            return queryset.filter(**{f"consent_{value}": True})
        if value == "none":
            return queryset.exclude(consent_email=True).exclude(consent_sms=True).exclude(consent_push=True)
        return queryset


def consent_badges(customer: Customer):
    def badge(field, label):
        value = getattr(customer, field)
        if value is None:
            return ("consent-unknown", _("%(channel)s: not asked") % {"channel": label}, label, "–")
        if value:
            return ("consent-yes", _("%(channel)s: granted") % {"channel": label}, label, "✓")
        return ("consent-no", _("%(channel)s: refused") % {"channel": label}, label, "✗")

    return format_html_join(
        " ",
        '<span class="customer-consent {}" title="{}">{}&nbsp;{}</span>',
        (badge(f, label) for f, label in CHANNELS),
    )


@admin.register(Customer)
class CustomerAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    store_path = "store"
    list_display = ("customer", "orders_count", "spent", "last_order", "consents", "store")
    list_display_links = ("customer",)
    list_filter = (KindFilter, HasOrdersFilter, ConsentFilter, "store")
    search_fields = ("email", "name", "phone")
    search_help_text = _("E-mail, name or phone.")
    list_select_related = ("store",)
    list_per_page = 50
    ordering = (F("last_order_at").desc(nulls_last=True), "-pk")
    show_full_result_count = False

    class Media:
        css = {"all": ("customers/admin.css",)}

    # --- the list ---------------------------------------------------------------------------

    @admin.display(description=pgettext_lazy("customer list column", "customer"), ordering="email")
    def customer(self, obj):
        kind = format_html(' <span class="customer-kind">{}</span>', _("account")) if obj.user_id else ""
        if obj.email.endswith(ERASED_SUFFIX):
            return _("Erased customer")
        if not obj.name:
            return format_html("{}{}", obj.email, kind)
        return format_html('{}{}<br><span class="customer-email">{}</span>', obj.name, kind, obj.email)

    def get_list_display(self, request):
        """The store column only for someone who sees more than one store."""
        columns = list(super().get_list_display(request))
        ids = user_store_ids(request.user)
        if (ids is not None and len(ids) <= 1) or (ids is None and Store.objects.count() <= 1):
            columns.remove("store")
        return columns

    @admin.display(description=_("last order"), ordering="last_order_at")
    def last_order(self, obj):
        if obj.last_order_at is None:
            return "—"
        return date_format(timezone.localtime(obj.last_order_at, obj.store.zone), "SHORT_DATE_FORMAT")

    @admin.display(description=_("type"), ordering="user")
    def kind(self, obj):
        return _("account") if obj.user_id else _("guest")

    @admin.display(description=pgettext_lazy("customer list column", "spent"), ordering="total_spent")
    def spent(self, obj):
        return format_money(obj.total_spent, obj.store.currency)

    @admin.display(description=_("consents"))
    def consents(self, obj):
        return consent_badges(obj)

    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(request, queryset, selectors.clean_search(search_term))

    # --- one customer -------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/export/", wrap(self.export_view), name="customers_customer_export"),
            path("<int:pk>/erase/", wrap(self.erase_view), name="customers_customer_erase"),
            *super().get_urls(),
        ]

    def _customer(self, request, pk) -> Customer:
        """The customer, only within the staff member's stores (another store's answers 404)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        customer = (
            self.get_queryset(request).select_related("store", "user").filter(pk=pk).first()
            if str(pk).isdigit()
            else None
        )
        if customer is None:
            raise Http404(_("No such customer."))
        return customer

    def change_view(self, request, object_id, form_url="", extra_context=None):
        customer = self._customer(request, unquote(object_id))
        page = selectors.customer_page(customer)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Erased customer")
            if customer.email.endswith(ERASED_SUFFIX)
            else customer.name or customer.email,
            "subtitle": None,
            "page": page,
            "customer": customer,
            "consents": consent_badges(customer),
            "spent": format_money(customer.total_spent, customer.store.currency),
            "can_export": request.user.has_perm("customers.export_customer"),
            "can_erase": request.user.has_perm("customers.erase_customer"),
        }
        return TemplateResponse(request, "admin/customers/customer/detail.html", context)

    def export_view(self, request, pk: int):
        customer = self._customer(request, pk)
        if not request.user.has_perm("customers.export_customer"):
            raise PermissionDenied
        stamp = timezone.localtime(timezone=customer.store.zone).strftime("%Y%m%d-%H%M")
        response = HttpResponse(privacy.export_archive(customer), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}-{stamp}.zip"'
        return response

    def erase_view(self, request, pk: int):
        customer = self._customer(request, pk)
        if not request.user.has_perm("customers.erase_customer"):
            raise PermissionDenied
        detail = reverse("admin:customers_customer_change", args=[customer.pk])
        if request.method == "POST":
            try:
                counts = privacy.erase_customer(customer=customer, by_user=request.user)
            except privacy.ErasureError as exc:
                messages.error(request, str(exc))
                return redirect(detail)
            messages.success(
                request,
                _("Personal data erased. Orders kept for accounting: %(kept)d.")
                % {"kept": counts["orders_kept"]},
            )
            return redirect(detail)
        kept, free = privacy.retained_orders(customer)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Erase this customer's personal data?"),
            "customer": customer,
            "kept": len(kept),
            "free": len(free),
            "detail_url": detail,
        }
        return TemplateResponse(request, "admin/customers/customer/erase.html", context)


# --- Customer groups ------------------------------------------------------------------------------


class GroupPriceFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        store_id = self.instance.store_id  # the group (unsaved on the add page)
        for form in self.forms:
            variant = form.cleaned_data.get("variant") if hasattr(form, "cleaned_data") else None
            if variant is not None and store_id and variant.store_id != store_id:
                form.add_error("variant", _("This variant belongs to another store."))


class GroupMemberForm(forms.ModelForm):
    class Meta:
        model = CustomerGroupMember
        fields = ("user", "company_name", "tax_id", "street", "postal_code", "city")
        widgets = {
            "company_name": forms.TextInput(attrs={"size": 22}),
            "tax_id": forms.TextInput(attrs={"size": 11}),
            "street": forms.TextInput(attrs={"size": 18}),
            "postal_code": forms.TextInput(attrs={"size": 6}),
            "city": forms.TextInput(attrs={"size": 12}),
        }

    def clean_tax_id(self):
        value = self.cleaned_data.get("tax_id", "")
        return clean_nip(value) if value.strip() else ""


class GroupPriceInline(StoreScopedInlineMixin, admin.TabularInline):
    model = CustomerGroupPrice
    formset = GroupPriceFormSet
    extra = 0
    autocomplete_fields = ("variant",)


class GroupMemberInline(StoreScopedInlineMixin, admin.StackedInline):
    model = CustomerGroupMember
    form = GroupMemberForm
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(CustomerGroup)
class CustomerGroupAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    store_path = "store"
    list_display = ("name", "discount_percent", "members_count", "is_active", "store")
    list_filter = ("is_active", "store")
    search_fields = ("name",)
    inlines = [GroupPriceInline, GroupMemberInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_members=Count("members"))

    @admin.display(description=_("members"), ordering="n_members")
    def members_count(self, obj):
        return obj.n_members

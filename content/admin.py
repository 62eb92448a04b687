from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from orders.models import Order
from shop.admin_mixins import ReadOnlyAdminMixin

from . import contact, pages
from .models import ContactMessage, FooterColumn, FooterLink, Page, PageVersion, TermsAcceptance
from .sanitise import MAX_BODY_CHARS


class PageForm(forms.ModelForm):
    class Meta:
        model = Page
        fields = ["store", "kind", "title", "slug", "status", "body", "meta_title", "meta_description"]

    def clean_body(self):
        body = self.cleaned_data.get("body") or ""
        if len(body) > MAX_BODY_CHARS:
            raise forms.ValidationError(
                _("The text is too long: %(size)s characters, at most %(max)s."),
                params={
                    "size": f"{len(body):,}".replace(",", " "),
                    "max": f"{MAX_BODY_CHARS:,}".replace(",", " "),
                },
            )
        return body

    def clean(self):
        data = super().clean()
        if data.get("status") == Page.Status.PUBLISHED and not (data.get("body") or "").strip():
            self.add_error("body", _("A published page needs a text."))
        return data


class PageVersionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PageVersion
    extra = 0
    fields = ("version", "title", "published_at", "published_by", "open")
    readonly_fields = fields
    verbose_name_plural = _("published versions (kept: orders point to the terms their shopper accepted)")

    @admin.display(description=_("text"))
    def open(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:content_pageversion_change", args=[obj.pk]), gettext("show")
        )


@admin.register(Page)
class PageAdmin(admin.ModelAdmin):
    form = PageForm
    list_display = ("title", "kind", "status_label", "version", "published_at", "address", "store")
    list_filter = ("status", "kind", "store")
    search_fields = ("title", "slug")
    readonly_fields = ("version", "published_at", "address")
    inlines = [PageVersionInline]
    actions = ["publish_pages"]
    save_on_top = True
    fieldsets = (
        (None, {"fields": ("store", "kind", "title", "status", "body")}),
        (_("Address and search engines"), {"fields": ("slug", "address", "meta_title", "meta_description")}),
        (_("Publication"), {"fields": ("version", "published_at")}),
    )
    prepopulated_fields = {"slug": ("title",)}

    @admin.display(description=_("status"), ordering="status")
    def status_label(self, obj):
        if obj.is_published:
            return obj.get_status_display()
        return format_html('<strong style="color:#b35c00">{}</strong>', obj.get_status_display())

    @admin.display(description=_("address on the shop"))
    def address(self, obj):
        if not obj.pk:
            return "—"
        url = obj.store.absolute_url(obj.get_absolute_url())
        label = gettext("open the page") if obj.is_published else gettext("preview the draft")
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a> <code>{}</code>', url, label, url
        )

    def view_on_site(self, obj):
        return obj.store.absolute_url(obj.get_absolute_url())

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("store")

    def save_model(self, request, obj, form, change):
        before = obj.version
        pages.save_page(page=obj, user=request.user)
        if obj.version != before and obj.kind in (Page.Kind.TERMS, Page.Kind.PRIVACY):
            messages.info(
                request,
                gettext(
                    "Published as version %(version)s. New orders accept this version; earlier orders keep theirs."
                )
                % {"version": obj.version},
            )

    @admin.action(description=_("Publish the selected pages"))
    def publish_pages(self, request, queryset):
        done = 0
        for page in queryset.select_related("store"):
            if not page.is_published and page.body:
                pages.publish(page=page, user=request.user)
                done += 1
        self.message_user(
            request, ngettext("%(n)d page published.", "%(n)d pages published.", done) % {"n": done}
        )


@admin.register(PageVersion)
class PageVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("title", "version", "published_at", "page")
    list_filter = ("page__kind", "page__store")
    fields = ("page", "version", "title", "published_at", "published_by", "text")
    readonly_fields = fields

    @admin.display(description=_("text"))
    def text(self, obj):
        return mark_safe(obj.body)  # sanitised by content/sanitise.py when published

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("page__store", "published_by")


class FooterLinkForm(forms.ModelForm):
    class Meta:
        model = FooterLink
        fields = ["page", "url", "label", "position"]

    def clean_url(self):
        url = (self.cleaned_data.get("url") or "").strip()
        if not url:
            return url
        if (url.startswith("/") and not url.startswith("//")) or url.startswith(("https://", "http://")):
            if any(c.isspace() for c in url) or "<" in url or '"' in url:
                raise forms.ValidationError(_("An address has no spaces, quotes or angle brackets."))
            return url
        raise forms.ValidationError(
            _("Give a path of the shop starting with / or an address starting with https://.")
        )

    def clean(self):
        data = super().clean()
        page, url = data.get("page"), data.get("url")
        if bool(page) == bool(url):
            raise forms.ValidationError(_("Choose a page or give an address (one of them)."))
        if not page and not (data.get("label") or "").strip():
            self.add_error("label", _("A link to an address needs a label."))
        return data


class FooterLinkFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        store_id = self.instance.store_id
        for form in self.forms:
            page = getattr(form, "cleaned_data", {}).get("page")
            if page is not None and store_id and page.store_id != store_id:
                form.add_error("page", _("Choose a page of the same store."))


class FooterLinkInline(admin.TabularInline):
    model = FooterLink
    form = FooterLinkForm
    formset = FooterLinkFormSet
    fk_name = "column"
    extra = 1
    fields = ("page", "url", "label", "position")


@admin.register(FooterColumn)
class FooterColumnAdmin(admin.ModelAdmin):
    list_display = ("title", "position", "store")
    list_filter = ("store",)
    list_editable = ("position",)
    inlines = [FooterLinkInline]


@admin.register(ContactMessage)
class ContactMessageAdmin(admin.ModelAdmin):
    list_display = ("subject", "name", "email", "created_at", "is_read", "forwarded", "store")
    list_filter = ("is_read", "store")
    search_fields = ("subject", "name", "email", "message")
    date_hierarchy = "created_at"
    fields = (
        "store",
        "created_at",
        "name",
        "email",
        "subject",
        "message",
        "ip_address",
        "emailed_at",
        "is_read",
    )
    readonly_fields = (
        "store",
        "created_at",
        "name",
        "email",
        "subject",
        "message",
        "ip_address",
        "emailed_at",
    )
    actions = ["mark_read", "mark_unread"]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("forwarded"), boolean=True)
    def forwarded(self, obj):
        return obj.emailed_at is not None

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":  # opening a message reads it
            contact.mark_read(messages=self.get_queryset(request).filter(pk=object_id, is_read=False))
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Mark as read"))
    def mark_read(self, request, queryset):
        contact.mark_read(messages=queryset, read=True)

    @admin.action(description=_("Mark as unread"))
    def mark_unread(self, request, queryset):
        contact.mark_read(messages=queryset, read=False)


class TermsAcceptanceInline(ReadOnlyAdminMixin, admin.StackedInline):
    """On the order page: the versions of the terms and privacy policy its shopper accepted."""

    model = TermsAcceptance
    extra = 0
    can_delete = False
    fields = ("accepted_at", "terms_version", "privacy_version")
    readonly_fields = fields
    verbose_name = _("accepted terms")
    verbose_name_plural = _("accepted terms")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("terms", "privacy")

    def _version(self, version):
        if version is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a> ({})',
            reverse("admin:content_pageversion_change", args=[version.pk]),
            str(version),
            timezone.localtime(version.published_at).strftime("%d.%m.%Y %H:%M"),
        )

    @admin.display(description=_("terms and conditions"))
    def terms_version(self, obj):
        return self._version(obj.terms)

    @admin.display(description=_("privacy policy"))
    def privacy_version(self, obj):
        return self._version(obj.privacy)


def _attach_to_order_admin() -> None:
    """Show the accepted terms on the order page without ``orders`` knowing about content (orders
    is the lower app: content adds itself to its admin, like integrations.accounting does)."""
    order_admin = admin.site._registry.get(Order)
    if order_admin is not None and TermsAcceptanceInline not in order_admin.inlines:
        order_admin.inlines = [*order_admin.inlines, TermsAcceptanceInline]


_attach_to_order_admin()

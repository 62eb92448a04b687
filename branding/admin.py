"""The store's look in the admin: one page per store with the logo, colours and font, the menu
and the home page blocks (inline, ordered by their position field)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.models import Category, ProductGroup
from shop.admin_mixins import StoreScopedAdminMixin

from . import contrast
from .forms import HomeBlockForm, StoreBrandingForm, format_ratio
from .models import HomeBlock, MenuItem, StoreBranding
from .selectors import brand_for
from .services import refresh_icons


def _edited_store_id(request) -> int | None:
    match = request.resolver_match
    object_id = match.kwargs.get("object_id") if match else None
    try:
        return int(object_id) if object_id else None
    except ValueError:
        return None


class _SameStoreChoices:
    """Category, group and parent choices of an inline: the edited store's rows only."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        store_id = _edited_store_id(request)
        if field is not None and store_id is not None:
            if db_field.related_model in (Category, ProductGroup):
                field.queryset = field.queryset.filter(store_id=store_id)
            elif db_field.name == "parent":
                field.queryset = MenuItem.objects.filter(branding_id=store_id, parent__isnull=True)
        return field

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and hasattr(field.widget, "can_add_related"):
            # Plain selects: the add/change/view icons would make the inline wider than the page.
            field.widget.can_add_related = field.widget.can_change_related = False
            field.widget.can_view_related = field.widget.can_delete_related = False
        return field


class MenuItemInline(_SameStoreChoices, admin.TabularInline):
    model = MenuItem
    extra = 1
    fields = ["label", "category", "group", "url", "parent", "position", "is_active"]
    formfield_overrides = {models.CharField: {"widget": forms.TextInput(attrs={"size": 14})}}
    verbose_name_plural = _("Top menu (empty: the top categories, as before)")


class HomeBlockInline(_SameStoreChoices, admin.StackedInline):
    model = HomeBlock
    form = HomeBlockForm
    extra = 0
    fields = [("kind", "position", "is_active"), "heading", "text", "image", ("link", "link_label"), "group"]
    verbose_name_plural = _("Home page blocks (shown by position; none: new arrivals and popular products)")


@admin.register(StoreBranding)
class StoreBrandingAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    form = StoreBrandingForm
    store_path = "store"
    list_display = ["store", "logo_preview", "font", "updated_at"]
    readonly_fields = ["contrast_report", "icon_preview"]
    inlines = [MenuItemInline, HomeBlockInline]
    fieldsets = [
        (None, {"fields": ["store"]}),
        (_("Logo and icons"), {"fields": ["logo", "icon_preview"]}),
        (
            _("Colours and font"),
            {
                "fields": [
                    ("primary_color", "accent_color"),
                    ("text_color", "background_color"),
                    "font",
                    "contrast_report",
                    "accept_low_contrast",
                ]
            },
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "store"] if obj is not None else fields

    @admin.display(description=_("logo"))
    def logo_preview(self, obj):
        if not obj.logo:
            return "—"
        return format_html('<img src="{}" alt="" style="max-height:32px;max-width:120px">', obj.logo.url)

    @admin.display(description=_("icons"))
    def icon_preview(self, obj):
        if obj is None or not obj.pk or not obj.icons_key:
            return gettext("Made from the logo when you save it.")
        links = brand_for(obj.store).icon_links
        sizes = [
            ("favicon_16", 16),
            ("favicon_32", 32),
            ("apple_touch", 180),
            ("icon_192", 192),
            ("maskable_512", 512),
        ]
        return format_html(
            '<div style="display:flex;gap:12px;align-items:flex-end;flex-wrap:wrap">{}</div>',
            format_html_join(
                "",
                '<figure style="margin:0;text-align:center"><img src="{}" width="{}" height="{}" alt=""><figcaption>{} px</figcaption></figure>',
                ((links[key], min(size, 96), min(size, 96), size) for key, size in sizes),
            ),
        )

    @admin.display(description=_("contrast (WCAG AA: at least 4.5:1)"))
    def contrast_report(self, obj):
        if obj is None or not obj.pk:
            return gettext("Checked when you save.")
        rows = contrast.pairs(
            primary=obj.primary_color,
            accent=obj.accent_color,
            text=obj.text_color,
            background=obj.background_color,
        )
        return format_html(
            '<ul style="margin:0;padding:0;list-style:none">{}</ul>',
            format_html_join(
                "",
                '<li><span style="display:inline-block;padding:0 .5em;color:{};background:{};border:1px solid #ccc">Aa</span> {}: <strong>{}:1</strong> {}</li>',
                (
                    (
                        p.foreground,
                        p.background,
                        p.label,
                        format_ratio(p.ratio),
                        "✓" if p.passes else gettext("too low"),
                    )
                    for p in rows
                ),
            ),
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change or {"logo", "primary_color"} & set(form.changed_data):
            refresh_icons(branding=obj)
        if getattr(form, "contrast_failures", None):
            messages.warning(
                request,
                gettext("Saved with low contrast: %(pairs)s.")
                % {
                    "pairs": "; ".join(f"{p.label} {format_ratio(p.ratio)}:1" for p in form.contrast_failures)
                },
            )

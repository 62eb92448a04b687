"""The merchant's catalog admin. Every save goes through ``catalog.services`` (slugs, the tree,
price history) and every stock change through ``catalog.stock.adjust_stock`` (movements)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Sum
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shop.admin_mixins import ReadOnlyAdminMixin, scope_to_stores, user_store_ids
from shop.models import Store

from . import gpsr, redirects, services, stock
from .admin_forms import (
    CategoryAdminForm,
    ChangeCategoryForm,
    DigitalAssetForm,
    ManufacturerForm,
    PriceChangeForm,
    ProductAdminForm,
    ProductGroupAdminForm,
    ProductImageForm,
    RedirectForm,
    RedirectImportForm,
    ResponsiblePersonForm,
    SetComponentForm,
    SetComponentInlineFormSet,
    StockAdjustmentForm,
    VariantForm,
    VariantInlineFormSet,
)
from .availability import available_expression, low_stock_expression
from .models import (
    Attribute,
    AttributeValue,
    BackInStockSubscription,
    Category,
    DigitalAsset,
    DownloadGrant,
    Manufacturer,
    PriceHistory,
    Product,
    ProductGroup,
    ProductImage,
    Redirect,
    ResponsiblePerson,
    SearchSynonym,
    SetComponent,
    StockItem,
    StockMovement,
    StockReservation,
    Variant,
    Warehouse,
)

# What stock.Availability.status means, for the merchant (never the code "out_of_stock").
AVAILABILITY_LABELS = {
    "in_stock": gettext_lazy("in stock"),
    "low_stock": gettext_lazy("low stock"),
    "out_of_stock": gettext_lazy("out of stock"),
    "preorder": gettext_lazy("pre-order"),
    "backorder": gettext_lazy("on backorder"),
}

# --- Attributes and categories -------------------------------------------------------------------


class AttributeValueInline(admin.TabularInline):
    model = AttributeValue
    extra = 1
    fields = ["value", "slug", "position", "color"]


@admin.register(Attribute)
class AttributeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "store", "position", "is_swatch"]
    list_filter = ["store"]
    search_fields = ["name", "slug"]
    inlines = [AttributeValueInline]

    def save_model(self, request, obj, form, change):
        services.save_attribute(attribute=obj)

    def save_formset(self, request, form, formset, change):
        for value in formset.save(commit=False):
            services.save_attribute_value(value=value)
        for value in formset.deleted_objects:
            value.delete()


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryAdminForm
    list_display = ["indented_name", "slug", "store", "position", "is_published", "product_count"]
    list_filter = ["store", "is_published"]
    search_fields = ["name", "slug"]
    ordering = ["store", "path"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_products=Count("products"))

    @admin.display(description=gettext_lazy("name"), ordering="path")
    def indented_name(self, obj):
        return format_html("{}{}", "— " * obj.depth, obj.name)

    @admin.display(description=gettext_lazy("products"), ordering="n_products")
    def product_count(self, obj):
        return obj.n_products

    def save_model(self, request, obj, form, change):
        services.save_category(category=obj)

    def delete_model(self, request, obj):
        try:
            services.delete_category(category=obj)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)

    def delete_queryset(self, request, queryset):
        for category in queryset.order_by("-depth"):
            self.delete_model(request, category)


# --- Products ------------------------------------------------------------------------------------


class VariantInline(admin.StackedInline):
    model = Variant
    form = VariantForm
    formset = VariantInlineFormSet
    extra = 0
    min_num = 1
    show_change_link = True
    autocomplete_fields = ["attribute_values"]
    readonly_fields = ["stock_summary"]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("sku", "ean", "name"),
                    "attribute_values",
                    ("price", "compare_at_price", "cost_price"),
                    ("net_quantity", "unit"),
                )
            },
        ),
        (
            gettext_lazy("Stock and shipping"),
            {
                "fields": (
                    ("track_stock", "backorder", "low_stock_threshold"),
                    ("is_preorder", "release_date", "preorder_limit"),
                    ("weight_grams", "position", "is_active"),
                    "stock_summary",
                )
            },
        ),
    )

    @admin.display(description=gettext_lazy("stock"))
    def stock_summary(self, obj):
        if not obj.pk:
            return "—"
        a = stock.availability(obj)
        url = reverse("admin:catalog_variant_adjust_stock", args=[obj.pk])
        return format_html(
            '{} / {} / {} ({}) · <a href="{}">{}</a>',
            a.on_hand,
            a.reserved,
            a.available if a.available < stock.UNLIMITED else "∞",
            AVAILABILITY_LABELS.get(a.status, a.status),
            url,
            _("adjust stock"),
        )


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    form = ProductImageForm
    extra = 1
    fields = ["preview", "image", "variant", "alt", "position"]
    readonly_fields = ["preview"]

    @admin.display(description=gettext_lazy("preview"))
    def preview(self, obj):
        if not obj.pk or not obj.image:
            return ""
        from .images import thumbnail_url

        return format_html('<img src="{}" width="64" height="64" alt="">', thumbnail_url(obj.image.name, 96))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "variant":
            product_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            kwargs["queryset"] = (
                Variant.objects.filter(product_id=product_id) if product_id else Variant.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class SetComponentInline(admin.TabularInline):
    model = SetComponent
    fk_name = "set_product"
    form = SetComponentForm
    formset = SetComponentInlineFormSet
    extra = 1
    autocomplete_fields = ["variant"]
    verbose_name = gettext_lazy("set component")
    verbose_name_plural = gettext_lazy("set contents (for product sets only)")


class StockStateFilter(admin.SimpleListFilter):
    title = gettext_lazy("stock state")
    parameter_name = "stock"

    def lookups(self, request, model_admin):
        return [
            ("available", _("available")),
            ("low", _("low stock")),
            ("out", _("sold out")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "available":
            return queryset.annotate(_available=available_expression()).filter(_available=True)
        if value == "out":
            return queryset.annotate(_available=available_expression()).filter(_available=False)
        if value == "low":
            return queryset.annotate(_low=low_stock_expression()).filter(_low=True)
        return queryset


class GpsrFilter(admin.SimpleListFilter):
    """Products whose product-safety data (GPSR) is incomplete (catalog.gpsr.missing_q)."""

    title = gettext_lazy("product safety (GPSR)")
    parameter_name = "gpsr"

    def lookups(self, request, model_admin):
        return [
            ("missing", _("GPSR data missing")),
            ("missing_published", _("GPSR data missing, published")),
            ("complete", _("GPSR data complete")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "missing":
            return queryset.filter(gpsr.missing_q())
        if value == "missing_published":
            return queryset.filter(gpsr.missing_q(), is_published=True)
        if value == "complete":
            return queryset.exclude(gpsr.missing_q())
        return queryset


class DeleteThroughServiceMixin:
    """Deletes, of one object or by the "delete selected" action, go through
    ``delete_through_service`` (a catalog service) one object at a time."""

    def delete_through_service(self, obj):
        raise NotImplementedError

    def delete_model(self, request, obj):
        self.delete_through_service(obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_through_service(obj)


@admin.register(Product)
class ProductAdmin(DeleteThroughServiceMixin, admin.ModelAdmin):
    form = ProductAdminForm
    list_display = ["name", "kind", "category", "price_display", "units", "is_published", "store"]
    list_filter = ["store", "kind", "is_published", StockStateFilter, GpsrFilter, "category"]
    list_select_related = ["category", "store"]
    search_fields = ["name", "slug", "brand", "variants__sku", "variants__ean"]
    autocomplete_fields = ["related", "recommended", "category", "manufacturer", "responsible_person"]
    filter_horizontal = ["variant_attributes"]
    inlines = [VariantInline, ProductImageInline, SetComponentInline]
    actions = ["publish", "unpublish", "change_category", "change_price"]
    list_per_page = 50
    fieldsets = (
        (
            None,
            {"fields": ("store", "kind", "name", "slug", "category", "brand", "vat_rate", "is_published")},
        ),
        (gettext_lazy("Description"), {"fields": ("description",)}),
        (gettext_lazy("Variants"), {"fields": ("variant_attributes",)}),
        (gettext_lazy("Related and recommended"), {"fields": ("related", "recommended")}),
        (
            gettext_lazy("Product safety (GPSR)"),
            {
                "fields": (
                    ("manufacturer", "responsible_person"),
                    "model_number",
                    "safety_information",
                    "safety_document",
                ),
                "description": gettext_lazy(
                    "Shown on the product page and sent to Allegro and the feeds. A manufacturer "
                    "outside the EU needs an EU responsible person."
                ),
            },
        ),
        (
            gettext_lazy("Search engines (SEO)"),
            {
                "fields": ("seo_title", "seo_description", "h1"),
                "description": gettext_lazy(
                    'Empty fields use the defaults: the title "Name — Store", the description '
                    "cut at a word to 155 characters, the name as the heading."
                ),
            },
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(units=Sum("variants__stock_items__quantity"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            product = (
                Product.objects.filter(pk=object_id if str(object_id).isdigit() else None)
                .select_related("manufacturer")
                .first()
            )
            if product is not None and product.is_published and self.has_view_permission(request, product):
                for problem in gpsr.problems(product):
                    self.message_user(
                        request,
                        _("Product safety (GPSR): %(problem)s") % {"problem": problem},
                        messages.WARNING,
                    )
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=gettext_lazy("from"), ordering="min_price")
    def price_display(self, obj):
        from .templatetags.catalog_tags import money

        return money(obj.min_price, obj.store.currency) if obj.min_price is not None else "—"

    @admin.display(description=gettext_lazy("units on hand"), ordering="units")
    def units(self, obj):
        return obj.units or 0

    def save_form(self, request, form, change):
        product = super().save_form(request, form, change)
        # The variant inlines are validated before the product's M2M fields are saved: tell them
        # which attributes every variant must have.
        product._pending_variant_attributes = list(form.cleaned_data.get("variant_attributes") or [])
        return product

    def save_model(self, request, obj, form, change):
        services.save_product(product=obj)

    def delete_through_service(self, obj):
        services.delete_product(product=obj)

    def save_formset(self, request, form, formset, change):
        if formset.model is Variant:
            formset.save(commit=False)  # fills formset.deleted_objects
            for obj in formset.deleted_objects:
                services.delete_variant(variant=obj)
            for variant_form in formset.forms:
                data = getattr(variant_form, "cleaned_data", None)
                if (
                    not data
                    or data.get("DELETE")
                    or (not variant_form.has_changed() and variant_form.instance.pk)
                ):
                    continue
                variant = variant_form.save(commit=False)
                variant.product = form.instance
                variant.store_id = form.instance.store_id
                services.save_variant(variant=variant, attribute_values=data.get("attribute_values") or [])
            services.refresh_products(product_ids=[form.instance.pk])
            return
        if formset.model is SetComponent:
            formset.save(commit=False)
            for obj in formset.deleted_objects:
                obj.delete()
            components = [
                (f.cleaned_data["variant"], f.cleaned_data["quantity"])
                for f in formset.forms
                if getattr(f, "cleaned_data", None)
                and f.cleaned_data.get("variant")
                and not f.cleaned_data.get("DELETE")
            ]
            if components or form.instance.kind == Product.Kind.SET:
                services.set_components(set_product=form.instance, components=components)
            return
        super().save_formset(request, form, formset, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.refresh_products(product_ids=[form.instance.pk])

    # --- bulk actions ---

    @admin.action(description=gettext_lazy("Publish selected products"))
    def publish(self, request, queryset):
        n = services.set_published(products=queryset, published=True)
        self.message_user(request, _("Published %(n)d products.") % {"n": n}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Unpublish selected products"))
    def unpublish(self, request, queryset):
        n = services.set_published(products=queryset, published=False)
        self.message_user(request, _("Unpublished %(n)d products.") % {"n": n}, messages.SUCCESS)

    def _intermediate(self, request, queryset, form, title, action):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "queryset": queryset,
            "action": action,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "catalog/admin/bulk_action.html", context)

    @admin.action(description=gettext_lazy("Move selected products to a category"))
    def change_category(self, request, queryset):
        store_ids = set(queryset.values_list("store_id", flat=True))
        if len(store_ids) > 1:
            self.message_user(request, _("Select products of one store only."), messages.ERROR)
            return None
        form = ChangeCategoryForm(request.POST if "apply" in request.POST else None, store_ids=store_ids)
        if "apply" in request.POST and form.is_valid():
            try:
                n = services.move_to_category(products=queryset, category=form.cleaned_data["category"])
            except ValidationError as exc:
                self.message_user(request, "; ".join(exc.messages), messages.ERROR)
                return None
            self.message_user(request, _("Moved %(n)d products.") % {"n": n}, messages.SUCCESS)
            return None
        return self._intermediate(
            request, queryset, form, _("Move products to a category"), "change_category"
        )

    @admin.action(description=gettext_lazy("Change prices of selected products by a percentage"))
    def change_price(self, request, queryset):
        form = PriceChangeForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            try:
                n = services.change_prices_by_percent(products=queryset, percent=form.cleaned_data["percent"])
            except ValidationError as exc:
                self.message_user(request, "; ".join(exc.messages), messages.ERROR)
                return None
            self.message_user(request, _("Changed the price of %(n)d variants.") % {"n": n}, messages.SUCCESS)
            return None
        return self._intermediate(request, queryset, form, _("Change prices by a percentage"), "change_price")


# --- Variants, stock and prices ------------------------------------------------------------------


class StockItemInline(admin.TabularInline):
    model = StockItem
    extra = 0
    can_delete = False
    fields = ["warehouse", "quantity"]
    readonly_fields = ["warehouse", "quantity"]
    verbose_name_plural = gettext_lazy("stock per warehouse (change it with 'Adjust stock')")

    def has_add_permission(self, request, obj=None):
        return False


class PriceHistoryInline(admin.TabularInline):
    model = PriceHistory
    extra = 0
    can_delete = False
    fields = ["valid_from", "price", "compare_at_price"]
    readonly_fields = fields
    ordering = ["-valid_from"]
    verbose_name_plural = gettext_lazy("price history")

    def has_add_permission(self, request, obj=None):
        return False


class DigitalAssetInline(admin.TabularInline):
    model = DigitalAsset
    form = DigitalAssetForm
    extra = 0
    fields = ["title", "file", "download_limit", "link_valid_days"]


@admin.register(Variant)
class VariantAdmin(DeleteThroughServiceMixin, admin.ModelAdmin):
    form = VariantForm
    list_display = [
        "__str__",
        "sku",
        "ean",
        "price",
        "compare_at_price",
        "is_active",
        "is_preorder",
        "on_hand",
    ]
    list_filter = ["product__store", "is_active", "is_preorder", "track_stock", "product__kind"]
    list_select_related = ["product"]
    search_fields = ["sku", "ean", "name", "product__name"]
    autocomplete_fields = ["attribute_values"]
    inlines = [StockItemInline, DigitalAssetInline, PriceHistoryInline]
    readonly_fields = ["product_link", "preorder_sold"]
    fieldsets = (
        (None, {"fields": ("product_link", ("sku", "ean", "name"), "attribute_values")}),
        (
            gettext_lazy("Price"),
            {"fields": (("price", "compare_at_price", "cost_price"), ("net_quantity", "unit"))},
        ),
        (
            gettext_lazy("Stock and shipping"),
            {
                "fields": (
                    ("track_stock", "backorder", "low_stock_threshold"),
                    ("is_preorder", "release_date", "preorder_limit", "preorder_sold"),
                    ("weight_grams", "position", "is_active"),
                )
            },
        ),
    )

    def has_add_permission(self, request):
        return False  # variants are added on their product's page

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(units=Sum("stock_items__quantity"))

    @admin.display(description=gettext_lazy("on hand"), ordering="units")
    def on_hand(self, obj):
        return obj.units or 0

    @admin.display(description=gettext_lazy("product"))
    def product_link(self, obj):
        url = reverse("admin:catalog_product_change", args=[obj.product_id])
        return format_html('<a href="{}">{}</a>', url, obj.product.name)

    def save_model(self, request, obj, form, change):
        services.save_variant(variant=obj, attribute_values=form.cleaned_data.get("attribute_values") or [])

    def delete_through_service(self, obj):
        services.delete_variant(variant=obj)

    def save_related(self, request, form, formsets, change):
        for formset in formsets:
            self.save_formset(request, form, formset, change)

    def get_urls(self):
        return [
            path(
                "<int:variant_id>/stock/",
                self.admin_site.admin_view(self.adjust_stock_view),
                name="catalog_variant_adjust_stock",
            ),
            *super().get_urls(),
        ]

    def adjust_stock_view(self, request, variant_id: int):
        variant = get_object_or_404(
            scope_to_stores(Variant.objects.select_related("product", "store"), request.user),
            pk=variant_id,
        )
        # Stock is the warehouse role's job: it needs "change stock item", not "change variant"
        # (which would also let it edit prices).
        if not request.user.has_perm("catalog.change_stockitem"):
            raise PermissionDenied
        form = StockAdjustmentForm(request.POST or None, variant=variant)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            kwargs = {"delta": data["quantity"]} if data["mode"] == "delta" else {"set_to": data["quantity"]}
            try:
                item = stock.adjust_stock(
                    variant=variant,
                    warehouse=data["warehouse"],
                    reason=data["reason"],
                    note=data["note"],
                    user=request.user,
                    **kwargs,
                )
            except ValueError as exc:
                form.add_error("quantity", str(exc))
            else:
                self.message_user(
                    request,
                    _("Stock of %(variant)s in %(warehouse)s is now %(n)d.")
                    % {"variant": variant, "warehouse": data["warehouse"], "n": item.quantity},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(request.path)
        movements = (
            StockMovement.objects.filter(stock_item__variant=variant)
            .select_related("stock_item__warehouse", "user")
            .order_by("-created_at", "-pk")[:50]
        )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Adjust stock: %(variant)s") % {"variant": variant},
            "variant": variant,
            "form": form,
            "availability": (availability := stock.availability(variant)),
            "availability_label": AVAILABILITY_LABELS.get(availability.status, availability.status),
            "items": StockItem.objects.filter(variant=variant).select_related("warehouse"),
            "movements": movements,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "catalog/admin/adjust_stock.html", context)


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "store", "priority", "is_active"]
    list_filter = ["store", "is_active"]
    search_fields = ["name", "code"]


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The history of every on-hand number: read-only."""

    list_display = [
        "created_at",
        "variant",
        "warehouse",
        "delta",
        "quantity_after",
        "reason",
        "reference",
        "user",
        "note",
    ]
    list_filter = ["reason", "stock_item__warehouse", "created_at"]
    list_select_related = ["stock_item__variant__product", "stock_item__warehouse", "user"]
    search_fields = ["stock_item__variant__sku", "stock_item__variant__ean", "reference", "note"]
    date_hierarchy = "created_at"

    @admin.display(description=gettext_lazy("variant"))
    def variant(self, obj):
        return obj.stock_item.variant

    @admin.display(description=gettext_lazy("warehouse"))
    def warehouse(self, obj):
        return obj.stock_item.warehouse


@admin.register(StockReservation)
class StockReservationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    read_only_deletable = True
    list_display = ["reference", "variant", "quantity", "expires_at", "is_active"]
    list_select_related = ["variant__product"]
    search_fields = ["reference", "variant__sku"]

    @admin.display(description=gettext_lazy("active"), boolean=True)
    def is_active(self, obj):
        return obj.expires_at > timezone.now()


# --- Groups, digital goods, alerts ---------------------------------------------------------------


@admin.register(ProductGroup)
class ProductGroupAdmin(admin.ModelAdmin):
    form = ProductGroupAdminForm
    list_display = ["name", "slug", "kind", "store", "is_published", "position"]
    list_filter = ["store", "kind", "is_published"]
    search_fields = ["name", "slug"]
    autocomplete_fields = ["products", "rule_category"]

    def save_model(self, request, obj, form, change):
        services.save_group(group=obj)


# --- Product safety (GPSR) and redirects ---------------------------------------------------------


@admin.register(Manufacturer)
class ManufacturerAdmin(admin.ModelAdmin):
    form = ManufacturerForm
    list_display = ["name", "country", "email", "url", "store"]
    list_filter = ["store", "country"]
    search_fields = ["name", "email"]


@admin.register(ResponsiblePerson)
class ResponsiblePersonAdmin(admin.ModelAdmin):
    form = ResponsiblePersonForm
    list_display = ["name", "country", "email", "store"]
    list_filter = ["store"]
    search_fields = ["name", "email"]


@admin.register(Redirect)
class RedirectAdmin(admin.ModelAdmin):
    form = RedirectForm
    list_display = ["old_path", "new_path", "source", "hits", "last_hit_at", "store"]
    list_filter = ["store", "source"]
    search_fields = ["old_path", "new_path"]
    readonly_fields = ["hits", "last_hit_at", "created_at"]
    change_list_template = "catalog/admin/redirect_change_list.html"

    def save_model(self, request, obj, form, change):
        if change and obj.pk:
            old = Redirect.objects.filter(pk=obj.pk).values_list("old_path", flat=True).first()
            if old and old != form.cleaned_data["old_path"]:
                Redirect.objects.filter(pk=obj.pk).delete()
        saved = redirects.add_redirect(
            store=obj.store,
            old_path=form.cleaned_data["old_path"],
            new_path=form.cleaned_data["new_path"],
            source=obj.source if change else Redirect.Source.MANUAL,
        )
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        redirects.forget(obj.store_id)

    def delete_queryset(self, request, queryset):
        stores = set(queryset.values_list("store_id", flat=True))
        super().delete_queryset(request, queryset)
        for store_id in stores:
            redirects.forget(store_id)

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="catalog_redirect_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        stores = scope_to_stores(Store.objects.filter(is_active=True), request.user)
        form = RedirectImportForm(request.POST or None, request.FILES or None, stores=stores)
        report = None
        if request.method == "POST" and form.is_valid():
            store = form.cleaned_data["store"]
            ids = user_store_ids(request.user)
            if ids is not None and store.pk not in ids:
                raise PermissionDenied
            upload = form.cleaned_data["file"]
            if upload.size > redirects.CSV_MAX_BYTES:
                form.add_error(
                    "file",
                    _("The file is larger than %(n)d MB.") % {"n": redirects.CSV_MAX_BYTES // (1024 * 1024)},
                )
            else:
                data = upload.read(redirects.CSV_MAX_BYTES + 1)
                report = redirects.import_csv(store=store, data=data, dry_run=form.cleaned_data["dry_run"])
                if report.error:
                    form.add_error("file", report.error)
                    report = None
                elif report.applied:
                    self.message_user(
                        request,
                        _(
                            "Redirects imported: %(created)d new, %(updated)d changed, %(errors)d rows refused."
                        )
                        % {
                            "created": report.count("create"),
                            "updated": report.count("update"),
                            "errors": report.count("error"),
                        },
                        messages.SUCCESS if not report.count("error") else messages.WARNING,
                    )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import redirects from CSV"),
            "form": form,
            "report": report,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "catalog/admin/redirect_import.html", context)


@admin.register(DigitalAsset)
class DigitalAssetAdmin(admin.ModelAdmin):
    form = DigitalAssetForm
    list_display = ["title", "variant", "download_limit", "link_valid_days"]
    search_fields = ["title", "variant__sku", "variant__product__name"]
    autocomplete_fields = ["variant"]


@admin.register(DownloadGrant)
class DownloadGrantAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "asset",
        "reference",
        "expires_at",
        "downloads_left",
        "download_count",
        "last_downloaded_at",
    ]
    list_select_related = ["asset"]
    search_fields = ["email", "reference"]
    readonly_fields = ["asset", "email", "reference", "download_count", "last_downloaded_at", "created_at"]
    fields = [
        "asset",
        "email",
        "reference",
        "expires_at",
        "downloads_left",
        "download_count",
        "last_downloaded_at",
    ]

    def has_add_permission(self, request):
        return False


@admin.register(BackInStockSubscription)
class BackInStockSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["email", "variant", "language", "confirmed_at", "created_at"]
    list_filter = [("confirmed_at", admin.EmptyFieldListFilter), "language"]
    list_select_related = ["variant__product"]
    search_fields = ["email", "variant__sku", "variant__product__name"]
    readonly_fields = ["variant", "email", "language", "confirmed_at", "notified_at", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(AttributeValue)
class AttributeValueAdmin(admin.ModelAdmin):
    """Registered for the variant form's autocomplete; edited on the attribute's page."""

    search_fields = ["value", "attribute__name"]
    list_display = ["value", "attribute", "position", "color"]
    list_select_related = ["attribute"]

    def get_model_perms(self, request):
        return {}  # hidden from the admin index


@admin.register(SearchSynonym)
class SearchSynonymAdmin(admin.ModelAdmin):
    """Words the store's shoppers use for the same thing; storefront search treats them alike."""

    list_display = ["terms", "store"]
    list_filter = ["store"]
    search_fields = ["terms"]

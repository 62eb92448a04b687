"""Admin forms: every merchant input is validated here with a clear message, and saved through
``catalog.services`` / ``catalog.stock`` by the admin classes (never a 500, nothing lost)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shop.identifiers import clean_gtin

from . import services
from .images import process_upload, safe_filename
from .models import (
    Category,
    DigitalAsset,
    Manufacturer,
    Product,
    ProductGroup,
    ProductImage,
    Redirect,
    ResponsiblePerson,
    SetComponent,
    StockMovement,
    Variant,
    Warehouse,
)


class ServiceSlugMixin:
    """For a form whose model's slug the service makes unique (suffix -2, -3): a typed slug that
    clashes is not refused here; every other uniqueness rule still is."""

    def validate_unique(self):
        exclude = self._get_validation_exclusions()
        exclude.add("slug")
        try:
            self.instance.validate_unique(exclude=exclude)
        except ValidationError as e:
            self._update_errors(e)


class CategoryAdminForm(ServiceSlugMixin, forms.ModelForm):
    class Meta:
        model = Category
        fields = [
            "store",
            "parent",
            "name",
            "slug",
            "description",
            "position",
            "is_published",
            "seo_title",
            "seo_description",
            "h1",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["slug"].help_text = _("Empty: made from the name (Polish letters transliterated).")

    def clean(self):
        data = super().clean()
        parent, store = data.get("parent"), data.get("store")
        if parent is not None and store is not None and parent.store_id != store.pk:
            self.add_error("parent", _("The parent category belongs to another store."))
        if (
            parent is not None
            and self.instance.pk
            and (parent.pk == self.instance.pk or f"/{self.instance.pk}/" in (parent.path or ""))
        ):
            self.add_error("parent", _("A category cannot be placed inside itself."))
        return data


class ProductAdminForm(ServiceSlugMixin, forms.ModelForm):
    class Meta:
        model = Product
        fields = [
            "store",
            "kind",
            "name",
            "slug",
            "category",
            "brand",
            "description",
            "vat_rate",
            "is_published",
            "variant_attributes",
            "related",
            "recommended",
            "manufacturer",
            "responsible_person",
            "model_number",
            "safety_information",
            "safety_document",
            "seo_title",
            "seo_description",
            "h1",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "slug" in self.fields:
            self.fields["slug"].required = False
            self.fields["slug"].help_text = _("Empty: made from the name (Polish letters transliterated).")

    def clean_safety_document(self):
        return clean_safety_document(self.cleaned_data.get("safety_document"))

    def clean(self):
        data = super().clean()
        store, category = data.get("store"), data.get("category")
        if store is not None and category is not None and category.store_id != store.pk:
            self.add_error("category", _("The category belongs to another store."))
        for name in ("related", "recommended"):
            others = data.get(name)
            if others is not None and store is not None:
                if any(p.store_id != store.pk for p in others):
                    self.add_error(name, _("Choose products of the same store."))
                if self.instance.pk and any(p.pk == self.instance.pk for p in others):
                    self.add_error(name, _("A product cannot be related to itself."))
        attributes = data.get("variant_attributes")
        if attributes is not None and store is not None and any(a.store_id != store.pk for a in attributes):
            self.add_error("variant_attributes", _("Choose attributes of the same store."))
        for name in ("manufacturer", "responsible_person"):
            chosen = data.get(name)
            if chosen is not None and store is not None and chosen.store_id != store.pk:
                self.add_error(name, _("Choose one of this store's records."))
        return data


SAFETY_DOCUMENT_TYPES = {
    b"%PDF-": ".pdf",
    b"\x89PNG\r\n\x1a\n": ".png",
    b"\xff\xd8\xff": ".jpg",
}
SAFETY_DOCUMENT_MAX_BYTES = 10 * 1024 * 1024


def clean_safety_document(upload):
    """A PDF, PNG or JPEG (checked by its first bytes, not its name) up to 10 MB, stored under
    a safe name; a file already stored passes unchanged."""
    if not isinstance(upload, UploadedFile):
        return upload
    if upload.size > SAFETY_DOCUMENT_MAX_BYTES:
        raise ValidationError(_("The file is larger than 10 MB."))
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    extension = next((ext for magic, ext in SAFETY_DOCUMENT_TYPES.items() if head.startswith(magic)), None)
    if extension is None:
        raise ValidationError(_("Upload a PDF, PNG or JPEG file."))
    stem = safe_filename(upload.name or "", default_stem="safety").rsplit(".", 1)[0][:80] or "safety"
    upload.name = f"{stem}{extension}"
    return upload


class ManufacturerForm(forms.ModelForm):
    class Meta:
        model = Manufacturer
        fields = ["store", "name", "address", "country", "email", "url", "phone"]

    def clean_country(self):
        return clean_country_code(self.cleaned_data.get("country"))

    def clean(self):
        data = super().clean()
        if not data.get("email") and not data.get("url") and not self.errors.get("email"):
            self.add_error("email", _("Give an e-mail address or a website (GPSR asks for one of them)."))
        return data


class ResponsiblePersonForm(forms.ModelForm):
    class Meta:
        model = ResponsiblePerson
        fields = ["store", "name", "address", "country", "email", "phone"]

    def clean_country(self):
        code = clean_country_code(self.cleaned_data.get("country"))
        from .models import EU_COUNTRIES

        if code not in EU_COUNTRIES:
            raise ValidationError(_("The responsible person must be established in the EU."))
        return code


def clean_country_code(value) -> str:
    code = (value or "").strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise ValidationError(_("Enter a two-letter country code, e.g. PL, DE, CN."))
    return code


class RedirectForm(forms.ModelForm):
    """A redirect typed by hand: the paths are checked and normalised by catalog.redirects."""

    class Meta:
        model = Redirect
        fields = ["store", "old_path", "new_path"]

    def clean(self):
        from . import redirects

        data = super().clean()
        store = data.get("store")
        if store is None:
            return data
        for name in ("old_path", "new_path"):
            if data.get(name):
                try:
                    data[name] = redirects.clean_path(data[name], store=store)
                except redirects.RedirectError as exc:
                    self.add_error(name, str(exc))
        if not self.errors:
            try:
                redirects.plan(store=store, old_path=data["old_path"], new_path=data["new_path"])
            except redirects.RedirectError as exc:
                self.add_error("new_path", str(exc))
        return data

    def validate_unique(self):
        pass  # add_redirect updates the row of an old path that exists


class RedirectImportForm(forms.Form):
    store = forms.ModelChoiceField(queryset=None, label=gettext_lazy("store"))
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy("Two columns: old path, new path (UTF-8, comma or semicolon)."),
    )
    dry_run = forms.BooleanField(
        label=gettext_lazy("Dry run: only show what would change"), required=False, initial=True
    )

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores


class VariantForm(forms.ModelForm):
    """A variant in the product's inline or on its own page: prices, SKU, attribute values."""

    class Meta:
        model = Variant
        fields = [
            "sku",
            "ean",
            "name",
            "attribute_values",
            "price",
            "compare_at_price",
            "cost_price",
            "weight_grams",
            "position",
            "is_active",
            "track_stock",
            "backorder",
            "low_stock_threshold",
            "is_preorder",
            "release_date",
            "preorder_limit",
            "net_quantity",
            "unit",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("price", "compare_at_price", "cost_price"):
            if name in self.fields:
                self.fields[name].min_value = Decimal("0")
                self.fields[name].validators.append(_not_negative)
        if "attribute_values" in self.fields:
            self.fields["attribute_values"].queryset = self.fields[
                "attribute_values"
            ].queryset.select_related("attribute")

    def _product(self) -> Product | None:
        """The product (possibly not saved yet when it is being added with its variants)."""
        try:
            return self.instance.product
        except Product.DoesNotExist:
            return None

    def clean_ean(self):
        return clean_gtin(self.cleaned_data.get("ean") or "")  # the shop's one EAN/GTIN rule

    def _clean_unit_price_fields(self, data) -> None:
        if "unit" not in self.fields or "net_quantity" not in self.fields:
            return
        unit, quantity = data.get("unit"), data.get("net_quantity")
        if unit and quantity is None and not self.errors.get("net_quantity"):
            self.add_error("net_quantity", _("Give the net quantity in the package for this unit."))
        elif quantity is not None and not unit:
            self.add_error("unit", _("Choose the unit of the net quantity."))

    # The fields whose rules catalog.services.validate_variant checks.
    SERVICE_CHECKED = ("sku", "price", "compare_at_price", "cost_price", "is_preorder", "release_date")

    def clean(self):
        """The service's own validators (:func:`catalog.services.validate_variant` and
        :func:`~catalog.services.validate_variant_attributes`), run before anything is saved so
        that every problem is a message on the form; a field that already failed its own
        checks is not reported twice."""
        data = super().clean()
        self._clean_unit_price_fields(data)
        product = self._product()
        if product is None or data.get("DELETE"):
            return data
        candidate = Variant(
            pk=self.instance.pk,
            product=product,
            store_id=product.store_id,
            **{name: data.get(name) for name in self.SERVICE_CHECKED if name in self.fields},
        )
        try:
            services.validate_variant(candidate)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                if name in self.fields and name not in self._errors:
                    for message in messages:
                        self.add_error(name, message)
        if "attribute_values" in data:
            required = getattr(product, "_pending_variant_attributes", None)
            try:
                services.validate_variant_attributes(
                    product=product, values=list(data.get("attribute_values") or []), required=required
                )
            except ValidationError as exc:
                for message in exc.messages:
                    self.add_error("attribute_values", message)
        return data

    def validate_unique(self):
        # store is set by the service on save; the SKU clash is checked in clean() above.
        pass


def _not_negative(value):
    if value is not None and value < 0:
        raise ValidationError(_("The value cannot be negative."))


class VariantInlineFormSet(forms.BaseInlineFormSet):
    """Deleting a variant that sets or orders use is refused by the admin itself (protected
    related objects), with the list of what uses it."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        # Give each form the (possibly unsaved) product itself, so its clean() can check the
        # product's variant attributes and store.
        form.instance.product = self.instance
        return form

    def clean(self):
        super().clean()
        skus = [
            f.cleaned_data.get("sku")
            for f in self.forms
            if getattr(f, "cleaned_data", None) and not f.cleaned_data.get("DELETE")
        ]
        skus = [s for s in skus if s]
        if len(skus) != len(set(skus)):
            raise ValidationError(_("Two variants have the same SKU."))


class SetComponentInlineFormSet(forms.BaseInlineFormSet):
    """A set cannot contain itself, a variant of itself, nor another set; quantities >= 1."""

    def clean(self):
        super().clean()
        product = self.instance
        components = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or not data.get("variant"):
                continue
            components.append((data["variant"], data.get("quantity")))
        if not components:
            return
        try:
            services.validate_set_components(set_product=product, components=components)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc


class SetComponentForm(forms.ModelForm):
    class Meta:
        model = SetComponent
        fields = ["variant", "quantity"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quantity"].min_value = 1
        self.fields["quantity"].widget.attrs["min"] = 1

    def validate_unique(self):
        pass  # checked by the formset (a variant listed twice) with a clearer message


class ProductImageForm(forms.ModelForm):
    """Uploads are verified, size-limited, re-encoded (EXIF dropped) and renamed safely."""

    class Meta:
        model = ProductImage
        fields = ["image", "variant", "alt", "position"]

    def clean_image(self):
        upload = self.cleaned_data.get("image")
        if not isinstance(upload, UploadedFile):  # unchanged existing file, or nothing
            return upload
        processed = process_upload(upload)
        self.instance.checksum = processed.checksum
        return processed.content

    def clean(self):
        data = super().clean()
        variant = data.get("variant")
        product = self.instance.product if self.instance.product_id else None
        if variant is not None and product is not None and variant.product_id != product.pk:
            self.add_error("variant", _("The variant belongs to another product."))
        return data


class PrivateFileInput(forms.ClearableFileInput):
    """A file input for private storage: shows the stored file's name, never a link (a private
    file has no URL, and asking the storage for one raises)."""

    template_name = "catalog/admin/private_file_input.html"

    def is_initial(self, value):
        return bool(value and getattr(value, "name", ""))


class DigitalAssetForm(forms.ModelForm):
    class Meta:
        model = DigitalAsset
        fields = ["variant", "title", "file", "download_limit", "link_valid_days"]
        widgets = {"file": PrivateFileInput}

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if isinstance(upload, UploadedFile):
            upload.name = safe_filename(upload.name, default_stem="download")
        return upload

    def clean_download_limit(self):
        value = self.cleaned_data.get("download_limit")
        if value is not None and value < 1:
            raise ValidationError(_("Allow at least one download."))
        return value

    def clean_link_valid_days(self):
        value = self.cleaned_data.get("link_valid_days")
        if value is not None and value < 1:
            raise ValidationError(_("A link must be valid for at least one day."))
        return value


class ProductGroupAdminForm(ServiceSlugMixin, forms.ModelForm):
    class Meta:
        model = ProductGroup
        fields = [
            "store",
            "name",
            "slug",
            "description",
            "kind",
            "products",
            "rule_new_days",
            "rule_on_sale",
            "rule_category",
            "rule_min_price",
            "rule_max_price",
            "is_published",
            "position",
            "seo_title",
            "seo_description",
            "h1",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False

    def clean(self):
        data = super().clean()
        lo, hi = data.get("rule_min_price"), data.get("rule_max_price")
        for name in ("rule_min_price", "rule_max_price"):
            if data.get(name) is not None and data[name] < 0:
                self.add_error(name, _("The value cannot be negative."))
        if lo is not None and hi is not None and lo > hi:
            self.add_error("rule_max_price", _("The maximum price must not be below the minimum price."))
        store = data.get("store")
        if (
            store is not None
            and data.get("rule_category") is not None
            and data["rule_category"].store_id != store.pk
        ):
            self.add_error("rule_category", _("The category belongs to another store."))
        if store is not None and any(p.store_id != store.pk for p in data.get("products") or []):
            self.add_error("products", _("Choose products of the same store."))
        return data


# --- Intermediate forms of bulk actions and stock ------------------------------------------------


class ChangeCategoryForm(forms.Form):
    category = forms.ModelChoiceField(
        label=gettext_lazy("New category"),
        queryset=Category.objects.none(),
        required=False,
        help_text=gettext_lazy("Empty: remove the products from their category."),
    )

    def __init__(self, *args, store_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(store_id__in=store_ids).order_by("path")


class PriceChangeForm(forms.Form):
    percent = forms.DecimalField(
        label=gettext_lazy("Change by (%)"),
        max_digits=6,
        decimal_places=2,
        min_value=Decimal("-99.99"),
        max_value=Decimal("1000"),
        help_text=gettext_lazy(
            "-10 lowers prices by 10% (the old price becomes the crossed-out price), 5 raises them by 5%. "
            "New prices are rounded to 0.01."
        ),
    )

    def clean_percent(self):
        value = self.cleaned_data["percent"]
        if value == 0:
            raise ValidationError(_("Enter a change other than 0%."))
        return value


class StockAdjustmentForm(forms.Form):
    MODES = [("delta", gettext_lazy("add or remove units")), ("set_to", gettext_lazy("set the count to"))]

    warehouse = forms.ModelChoiceField(label=gettext_lazy("Warehouse"), queryset=Warehouse.objects.none())
    mode = forms.ChoiceField(label=gettext_lazy("Change"), choices=MODES, initial="delta")
    quantity = forms.IntegerField(
        label=gettext_lazy("Units"),
        min_value=-1_000_000,
        max_value=1_000_000,
        help_text=gettext_lazy(
            "With 'add or remove': +5 delivered, -2 damaged. With 'set': the counted number."
        ),
    )
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=StockMovement.Reason.choices)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=255, required=False)

    def __init__(self, *args, variant: Variant, **kwargs):
        super().__init__(*args, **kwargs)
        self.variant = variant
        self.fields["warehouse"].queryset = Warehouse.objects.filter(
            store_id=variant.store_id, is_active=True
        )
        self.fields["reason"].initial = StockMovement.Reason.ADJUSTMENT

    def clean(self):
        data = super().clean()
        if data.get("mode") == "set_to" and data.get("quantity") is not None and data["quantity"] < 0:
            self.add_error("quantity", _("Stock cannot be negative."))
        if data.get("mode") == "delta" and data.get("quantity") == 0:
            self.add_error("quantity", _("Enter a change other than 0."))
        return data

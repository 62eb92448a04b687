"""A store's look, edited in the admin: logo and icons, colours and font, the top menu and the
blocks of the home page. One ``StoreBranding`` row per store (its primary key is the store's);
the menu items and home blocks hang off it, so a store that never opened the page has no rows
and the storefront looks as it always did."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.models import Category, ProductGroup
from shop.models import Store

HEX_COLOR = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Enter a colour as #RRGGBB, for example #1f4e79."))

DEFAULT_COLORS = {
    "primary_color": "#1f4e79",
    "accent_color": "#c2410c",
    "text_color": "#1d2330",
    "background_color": "#ffffff",
}


class Font(models.TextChoices):
    """System font stacks only: nothing is loaded from a third-party font service."""

    SYSTEM = "system", _("System sans-serif (default)")
    HUMANIST = "humanist", _("Humanist sans-serif")
    GEOMETRIC = "geometric", _("Geometric sans-serif")
    SERIF = "serif", _("Classic serif")
    ROUNDED = "rounded", _("Rounded")


FONT_STACKS = {
    Font.SYSTEM: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    Font.HUMANIST: 'Seravek, "Gill Sans Nova", Ubuntu, Calibri, "DejaVu Sans", source-sans-pro, sans-serif',
    Font.GEOMETRIC: 'Avenir, Montserrat, Corbel, "URW Gothic", source-sans-pro, sans-serif',
    Font.SERIF: 'Charter, "Bitstream Charter", "Sitka Text", Cambria, Georgia, serif',
    Font.ROUNDED: 'ui-rounded, "Hiragino Maru Gothic ProN", Quicksand, Comfortaa, Manjari, "Arial Rounded MT", Calibri, sans-serif',
}


def logo_path(instance: StoreBranding, filename: str) -> str:
    return f"branding/{instance.store_id}/logo/{filename}"


def banner_path(instance: HomeBlock, filename: str) -> str:
    return f"branding/{instance.branding_id}/banners/{filename}"


class StoreBranding(models.Model):
    store = models.OneToOneField(
        Store, on_delete=models.CASCADE, primary_key=True, related_name="branding", verbose_name=_("store")
    )
    logo = models.ImageField(
        _("logo"),
        upload_to=logo_path,
        blank=True,
        help_text=_(
            "PNG, JPEG or WebP, at least 512 × 512 px for sharp icons; a square logo or one with a "
            "transparent background works best. The favicon and app icons are made from it."
        ),
    )
    # The SHA-256 prefix of the logo the icons were made from: part of their paths, so a new
    # logo gets new URLs and no browser keeps the old icon.
    icons_key = models.CharField(max_length=16, blank=True, editable=False)
    primary_color = models.CharField(
        _("primary colour"),
        max_length=7,
        default=DEFAULT_COLORS["primary_color"],
        validators=[HEX_COLOR],
        help_text=_("Header, links and icons."),
    )
    accent_color = models.CharField(
        _("accent colour"),
        max_length=7,
        default=DEFAULT_COLORS["accent_color"],
        validators=[HEX_COLOR],
        help_text=_("Buttons, badges and the free delivery bar."),
    )
    text_color = models.CharField(
        _("text colour"), max_length=7, default=DEFAULT_COLORS["text_color"], validators=[HEX_COLOR]
    )
    background_color = models.CharField(
        _("background colour"),
        max_length=7,
        default=DEFAULT_COLORS["background_color"],
        validators=[HEX_COLOR],
    )
    font = models.CharField(_("font"), max_length=16, choices=Font.choices, default=Font.SYSTEM)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("store look")
        verbose_name_plural = _("store looks")

    def __str__(self) -> str:
        return str(self.store)

    @property
    def font_stack(self) -> str:
        return FONT_STACKS.get(self.font, FONT_STACKS[Font.SYSTEM])


class MenuItem(models.Model):
    """A link of the top navigation: a category, a product group or an address; one sub-level."""

    branding = models.ForeignKey(
        StoreBranding, on_delete=models.CASCADE, related_name="menu_items", verbose_name=_("store look")
    )
    label = models.CharField(
        _("label"), max_length=60, blank=True, help_text=_("Empty: the category's or group's name.")
    )
    category = models.ForeignKey(
        Category,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("category"),
    )
    group = models.ForeignKey(
        ProductGroup,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product group"),
    )
    url = models.CharField(
        _("address"),
        max_length=300,
        blank=True,
        help_text=_("A page of this shop (/regulamin/) or a full https:// address."),
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("under"),
        help_text=_("Empty: a top-level item."),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("menu item")
        verbose_name_plural = _("menu items")

    def __str__(self) -> str:
        return self.title

    @property
    def store_id(self) -> int:
        return self.branding_id

    @property
    def title(self) -> str:
        if self.label:
            return self.label
        if self.category_id:
            return self.category.name
        if self.group_id:
            return self.group.name
        return self.url

    @property
    def href(self) -> str:
        if self.category_id:
            return self.category.get_absolute_url()
        if self.group_id:
            return self.group.get_absolute_url()
        return self.url

    def clean(self) -> None:
        from .links import clean_link

        targets = [bool(self.category_id), bool(self.group_id), bool(self.url)]
        if sum(targets) != 1:
            raise ValidationError(_("Choose exactly one of: a category, a product group or an address."))
        if self.url:
            self.url = clean_link(self.url, field="url")
        if not self.label and self.url:
            raise ValidationError({"label": _("An address needs a label.")})
        store_id = self.branding_id
        if self.category_id and self.category.store_id != store_id:
            raise ValidationError({"category": _("This category belongs to another store.")})
        if self.group_id and self.group.store_id != store_id:
            raise ValidationError({"group": _("This group belongs to another store.")})
        if self.parent_id:
            if self.parent.parent_id:
                raise ValidationError({"parent": _("The menu has one sub-level: choose a top-level item.")})
            if self.parent.branding_id != store_id or (self.pk and self.parent_id == self.pk):
                raise ValidationError({"parent": _("Choose a top-level item of this menu.")})


class HomeBlock(models.Model):
    """A section of the home page, shown in ``position`` order when active."""

    class Kind(models.TextChoices):
        HERO = "hero", _("Hero banner")
        SLIDE = "slide", _("Slide (slides next to each other form one slider)")
        PRODUCTS = "products", _("Product group")
        CATEGORIES = "categories", _("Categories")
        TEXT = "text", _("Text")

    branding = models.ForeignKey(
        StoreBranding, on_delete=models.CASCADE, related_name="home_blocks", verbose_name=_("store look")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    heading = models.CharField(_("heading"), max_length=120, blank=True)
    text = models.TextField(_("text"), max_length=2000, blank=True)
    image = models.ImageField(_("image"), upload_to=banner_path, blank=True)
    link = models.CharField(
        _("link"),
        max_length=300,
        blank=True,
        help_text=_("A page of this shop (/k/buty/) or a full https:// address."),
    )
    link_label = models.CharField(_("button label"), max_length=40, blank=True)
    group = models.ForeignKey(
        ProductGroup,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product group"),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("home page block")
        verbose_name_plural = _("home page blocks")

    def __str__(self) -> str:
        return self.heading or self.get_kind_display()

    @property
    def store_id(self) -> int:
        return self.branding_id

    def clean(self) -> None:
        from .links import clean_link

        if self.link:
            self.link = clean_link(self.link, field="link")
        if self.kind == self.Kind.PRODUCTS:
            if not self.group_id:
                raise ValidationError({"group": _("Choose the product group to show.")})
            if self.group.store_id != self.branding_id:
                raise ValidationError({"group": _("This group belongs to another store.")})
        elif self.kind in (self.Kind.HERO, self.Kind.SLIDE):
            if not (self.image or self.heading):
                raise ValidationError(_("A banner needs an image or a heading."))
        elif self.kind == self.Kind.TEXT and not (self.heading or self.text):
            raise ValidationError({"text": _("Write the text to show.")})

"""Admin forms of the store's look: uploads checked like product images (and SVG refused), and
the WCAG contrast of the colours checked before they reach shoppers."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.images import process_upload

from . import contrast
from .models import HomeBlock, StoreBranding

COLOR_FIELDS = ("primary_color", "accent_color", "text_color", "background_color")


def clean_image_upload(upload):
    """A PNG, JPEG or WebP (GIF too) re-encoded from its pixels; SVG is refused outright: it is
    a document that can carry scripts, and re-encoding it needs a renderer we do not ship."""
    if not upload or not hasattr(upload, "read"):
        return upload  # unchanged or cleared
    name = (getattr(upload, "name", "") or "").lower()
    upload.seek(0)
    head = upload.read(512).lstrip().lower()
    upload.seek(0)
    if name.endswith((".svg", ".svgz")) or head.startswith(b"<"):  # SVG, XML or HTML by any name
        raise ValidationError(
            _("SVG files are not accepted (they can contain scripts). Upload a PNG, JPEG or WebP image."),
            code="svg",
        )
    return process_upload(upload).content


class ColorInput(forms.TextInput):
    input_type = "color"


class StoreBrandingForm(forms.ModelForm):
    logo = forms.FileField(
        label=gettext_lazy("Logo"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
        help_text=StoreBranding._meta.get_field("logo").help_text,
    )
    accept_low_contrast = forms.BooleanField(
        label=gettext_lazy("Save these colours although some text will be hard to read"),
        required=False,
    )

    class Meta:
        model = StoreBranding
        fields = ["store", "logo", *COLOR_FIELDS, "font"]
        widgets = {name: ColorInput() for name in COLOR_FIELDS}

    def clean_logo(self):
        return clean_image_upload(self.cleaned_data.get("logo"))

    def clean(self):
        cleaned = super().clean()
        colors = {name: (cleaned.get(name) or "").lower() for name in COLOR_FIELDS}
        if all(colors.values()) and not any(name in self.errors for name in COLOR_FIELDS):
            for name, value in colors.items():
                cleaned[name] = value
            self.contrast_failures = [
                p
                for p in contrast.pairs(
                    primary=colors["primary_color"],
                    accent=colors["accent_color"],
                    text=colors["text_color"],
                    background=colors["background_color"],
                )
                if not p.passes
            ]
            if self.contrast_failures and not cleaned.get("accept_low_contrast"):
                raise ValidationError(
                    [_("These colours fail the WCAG AA contrast of 4.5:1 for text:")]
                    + [
                        _("%(pair)s: %(ratio)s:1") % {"pair": p.label, "ratio": format_ratio(p.ratio)}
                        for p in self.contrast_failures
                    ]
                    + [_("Choose other colours, or tick the box below to save them anyway.")],
                    code="contrast",
                )
        return cleaned


def format_ratio(value) -> str:
    from django.utils.formats import number_format

    return number_format(value, 2)


class HomeBlockForm(forms.ModelForm):
    image = forms.FileField(
        label=gettext_lazy("Image"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
        help_text=gettext_lazy("Banners: at least 1600 px wide; the text is set beside or over it."),
    )

    class Meta:
        model = HomeBlock
        fields = ["kind", "heading", "text", "image", "link", "link_label", "group", "position", "is_active"]
        widgets = {"text": forms.Textarea(attrs={"rows": 3, "cols": 40})}

    def clean_image(self):
        return clean_image_upload(self.cleaned_data.get("image"))

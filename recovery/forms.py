from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import Campaign


class DashboardFilter(forms.Form):
    # <input type="date"> takes only yyyy-mm-dd, whatever the language; the localised format
    # ("08.11.2026") would show as empty and, the field being required, block the form.
    start = forms.DateField(
        label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    campaign = forms.ModelChoiceField(label=_("Campaign"), queryset=Campaign.objects.none(), required=False)

    def __init__(self, *args, store=None, **kwargs):
        super().__init__(*args, **kwargs)
        if store is not None:
            self.fields["campaign"].queryset = Campaign.objects.filter(store=store)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError(_("The start date must not be after the end date."))
        if data.get("start") and data.get("end") and (data["end"] - data["start"]).days > 366:
            raise forms.ValidationError(_("Choose at most one year."))
        return data


class PreviewForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    cart = forms.IntegerField(label=_("Cart id (empty: sample cart)"), required=False, min_value=1)
    variant = forms.IntegerField(label=_("A/B variant id"), required=False, min_value=1)
    email = forms.EmailField(label=_("Send a test message to"), required=False)

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=120)
    email = forms.EmailField(label=_("Your e-mail"), max_length=254)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    message = forms.CharField(
        label=_("Message"),
        max_length=5000,
        min_length=10,
        widget=forms.Textarea(attrs={"rows": 7}),
    )
    # Both checked by content.contact: people leave "website" empty (it is hidden), bots fill it.
    website = forms.CharField(label=_("Leave this field empty"), required=False, max_length=200)
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=500)

    def clean_subject(self):
        return " ".join(self.cleaned_data["subject"].split())

    def clean_name(self):
        return " ".join(self.cleaned_data["name"].split())

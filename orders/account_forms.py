"""Forms of the customer account: registration, addresses and return requests."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.utils.translation import gettext_lazy as _

from shop import phones
from shop.identifiers import clean_bank_account, clean_nip

from .consent import EMAIL, wording
from .models import Address, Return
from .returns import ReturnableLine


class RegistrationForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password1 = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label=_("Repeat the password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    marketing_consent = forms.BooleanField(required=False)

    def __init__(self, *args, store, **kwargs):
        super().__init__(*args, **kwargs)
        self.store = store
        # The exact text shown is the text stored with the answer.
        self.fields["marketing_consent"].label = wording(store, EMAIL).text

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _("An account with this email already exists. Log in or reset your password.")
            )
        return email

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ."))
        elif p1:
            user = get_user_model()(email=cleaned.get("email") or "")
            try:
                password_validation.validate_password(p1, user)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class AddressForm(forms.ModelForm):
    class Meta:
        model = Address
        fields = [
            "first_name",
            "last_name",
            "company_name",
            "tax_id",
            "street",
            "postal_code",
            "city",
            "country",
            "phone",
            "is_default_shipping",
            "is_default_billing",
        ]
        widgets = {
            "first_name": forms.TextInput(attrs={"autocomplete": "given-name"}),
            "last_name": forms.TextInput(attrs={"autocomplete": "family-name"}),
            "street": forms.TextInput(attrs={"autocomplete": "street-address"}),
            "postal_code": forms.TextInput(attrs={"autocomplete": "postal-code"}),
            "city": forms.TextInput(attrs={"autocomplete": "address-level2"}),
            "phone": forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("street", "postal_code", "city"):
            self.fields[name].required = True

    def clean_country(self):
        from .services.validation import clean_country

        return clean_country(self.cleaned_data.get("country") or "")

    def clean_phone(self):
        value = (self.cleaned_data.get("phone") or "").strip()
        country = (self.data.get(self.add_prefix("country")) or "PL").strip().upper()
        return phones.normalise(value, country=country) if value else ""

    def clean_postal_code(self):
        code = (self.cleaned_data.get("postal_code") or "").strip()
        country = (self.data.get(self.add_prefix("country")) or "PL").strip().upper()
        if country == "PL":
            from .models.order import postal_code_pl

            postal_code_pl(code)
        return code

    def clean_tax_id(self):
        value = (self.cleaned_data.get("tax_id") or "").strip()
        if not value:
            return ""
        country = (self.data.get(self.add_prefix("country")) or "PL").strip().upper()
        if country == "PL":
            return clean_nip(value)
        return value


class ReturnRequestForm(forms.Form):
    """One quantity field per returnable line (``line_<id>``), a reason, a comment and an
    optional bank account for the refund."""

    reason = forms.ChoiceField(label=_("Reason"), choices=Return.Reason.choices)
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    bank_account = forms.CharField(
        label=_("Bank account for the refund (optional)"),
        required=False,
        max_length=64,  # the longest IBAN (34) written in groups with spaces
        help_text=_("Leave empty to be refunded the way you paid."),
    )

    def __init__(self, *args, lines: list[ReturnableLine], **kwargs):
        super().__init__(*args, **kwargs)
        self.returnable = list(lines)
        for entry in self.returnable:
            # The select offers what is left; validation accepts up to the units bought so the
            # service can answer a stale page or a double submission with a clear message.
            self.fields[f"line_{entry.line.pk}"] = forms.IntegerField(
                label=entry.line.name,
                min_value=0,
                max_value=entry.line.quantity,
                initial=0,
                required=False,
                widget=forms.Select(choices=[(n, str(n)) for n in range(max(entry.returnable, 0) + 1)]),
            )

    def line_fields(self):
        return [(entry, self[f"line_{entry.line.pk}"]) for entry in self.returnable]

    def clean_bank_account(self):
        return clean_bank_account(self.cleaned_data.get("bank_account") or "")

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(f"line_{e.line.pk}") for e in self.returnable):
            raise forms.ValidationError(_("Choose at least one item to return."))
        return cleaned

    def items(self) -> dict[int, int]:
        return {
            e.line.pk: self.cleaned_data.get(f"line_{e.line.pk}") or 0
            for e in self.returnable
            if self.cleaned_data.get(f"line_{e.line.pk}")
        }

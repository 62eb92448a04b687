"""Storefront forms: few fields, clear messages. Business rules live in the services."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from shop import phones
from shop.identifiers import clean_nip

from . import pickup_points
from .models import ShippingMethod
from .services.validation import (
    clean_pickup_point,
    clean_postal_code,
    verify_pickup_point,
)


class LockerSearch:
    """The parcel-locker search of the delivery step without JavaScript: the whole delivery form
    is posted with the "search" button, so nothing typed is lost, and the nearest lockers come
    back as radio buttons (``pickup_point_choice``)."""

    def __init__(self, query: str, *, cash_on_delivery: bool = False):
        self.query = query
        self.points: list[pickup_points.PickupPoint] = []
        self.error = ""
        try:
            parsed = pickup_points.parse_query(query, cash_on_delivery=cash_on_delivery)
        except pickup_points.BadQuery as exc:
            self.error = exc.message
            return
        try:
            self.points = pickup_points.search_points(parsed)
        except pickup_points.PointsUnavailable:
            self.error = _(
                "The parcel locker search is not available right now. Type the locker's code instead "
                "(you can find it on the InPost website or app)."
            )
            return
        if not self.points:
            self.error = _("No parcel lockers found for “%(query)s”. Try a postal code or a nearby town.") % {
                "query": query[:64]
            }


class AddToCartForm(forms.Form):
    variant = forms.IntegerField(min_value=1, error_messages={"invalid": _("This product does not exist.")})
    quantity = forms.IntegerField(
        initial=1,
        required=False,
        error_messages={"invalid": _("Enter a whole number of items.")},
    )

    def clean_quantity(self):
        return 1 if self.cleaned_data.get("quantity") in (None, "") else self.cleaned_data["quantity"]


class ContactForm(forms.Form):
    """Step 1: the email comes first (it is saved on the cart as soon as it is valid)."""

    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True, "inputmode": "email"}),
        help_text=_("We send the order confirmation here."),
    )
    # One unticked checkbox per channel the store uses (orders.consent.channels_to_ask): the
    # e-mail answer keeps its old name; the others are removed when not asked.
    marketing_consent = forms.BooleanField(required=False)
    sms_consent = forms.BooleanField(required=False)
    push_consent = forms.BooleanField(required=False)
    # The page's newest consent event (see save_checkout_email): set by the page's script.
    consent_seq = forms.IntegerField(required=False, min_value=0, max_value=2**62, widget=forms.HiddenInput)

    CONSENT_FIELDS = {"email": "marketing_consent", "sms": "sms_consent", "push": "push_consent"}

    def __init__(self, *args, consent_label: str = "", consent_labels: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        labels = consent_labels if consent_labels is not None else {"email": consent_label}
        for channel, name in self.CONSENT_FIELDS.items():
            if channel in labels:
                self.fields[name].label = labels[channel]
            else:
                del self.fields[name]

    def consent_fields(self):
        return [self[name] for name in self.CONSENT_FIELDS.values() if name in self.fields]

    def other_consents(self) -> dict[str, bool]:
        """The answers to the non-e-mail channels that were asked."""
        return {
            channel: bool(self.cleaned_data.get(name))
            for channel, name in self.CONSENT_FIELDS.items()
            if channel != "email" and name in self.fields
        }


class DeliveryForm(forms.Form):
    """Step 2: delivery method and address, payment method, optional company invoice."""

    shipping_method = forms.ChoiceField(label=_("Delivery"), required=False, widget=forms.RadioSelect)
    pickup_point = forms.CharField(
        label=_("Parcel locker code"),
        max_length=32,
        required=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    # No-JS locker search: the chosen radio button wins over the typed code.
    pickup_point_choice = forms.CharField(max_length=32, required=False)
    points_q = forms.CharField(
        label=_("Find a parcel locker"),
        max_length=pickup_points.QUERY_MAX_LENGTH,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "enterkeyhint": "search"}),
        help_text=_("Postal code, town or locker code"),
    )
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    phone = forms.CharField(
        label=_("Phone"), max_length=32, required=False, widget=forms.TextInput(attrs={"autocomplete": "tel"})
    )
    street = forms.CharField(label=_("Street and number"), max_length=200, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=10, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    payment_method = forms.ChoiceField(label=_("Payment"), required=False, widget=forms.RadioSelect)
    wants_invoice = forms.BooleanField(label=_("I need a company invoice (NIP)"), required=False)
    company_name = forms.CharField(label=_("Company name"), max_length=200, required=False)
    tax_id = forms.CharField(label=_("NIP"), max_length=20, required=False)
    billing_street = forms.CharField(label=_("Company street and number"), max_length=200, required=False)
    billing_postal_code = forms.CharField(label=_("Company postal code"), max_length=10, required=False)
    billing_city = forms.CharField(label=_("Company city"), max_length=100, required=False)

    ANSWER_FIELDS = (
        "pickup_point",
        "first_name",
        "last_name",
        "phone",
        "street",
        "postal_code",
        "city",
        "wants_invoice",
        "company_name",
        "tax_id",
        "billing_street",
        "billing_postal_code",
        "billing_city",
    )

    def __init__(
        self,
        *args,
        needs_shipping: bool,
        needs_payment: bool,
        shipping_methods,
        payment_methods,
        sms_consent_label: str = "",
        **kw,
    ):
        super().__init__(*args, **kw)
        if sms_consent_label:
            # The store sends SMS reminders: ask for that consent next to the phone number (an
            # answer counts only with a number).
            self.fields["sms_consent"] = forms.BooleanField(required=False, label=sms_consent_label)
        self.needs_shipping = needs_shipping
        self.needs_payment = needs_payment
        # Choices come from what the view loaded already: no queries here.
        self.fields["shipping_method"].choices = [(str(m.pk), m.name) for m in shipping_methods]
        self.fields["payment_method"].choices = [(str(m.pk), m.name) for m in payment_methods]
        self._shipping = {m.pk: m for m in shipping_methods}
        self._payment = {m.pk: m for m in payment_methods}
        # What this cart does not need is not asked (and not validated).
        if not needs_shipping:
            for name in (
                "shipping_method",
                "pickup_point",
                "pickup_point_choice",
                "points_q",
                "phone",
                "street",
                "postal_code",
                "city",
            ):
                del self.fields[name]
        if not needs_payment:
            del self.fields["payment_method"]
        self.pickup_point_check: pickup_points.PointCheck | None = None
        self.locker_search: LockerSearch | None = None
        self.geowidget_token = settings.INPOST_GEOWIDGET_TOKEN
        self.geowidget_url = settings.INPOST_GEOWIDGET_URL.rstrip("/")
        self.searching = bool(needs_shipping and self.is_bound and self.data.get("points_search"))

    def full_clean(self):
        super().full_clean()
        if not self.searching:
            return
        # "Search" is not "continue": keep what was typed, show the lockers found, and ask only for
        # the choice (other fields are checked when the shopper continues).
        query = str(self.data.get("points_q", ""))
        payment = self.cleaned_data.get("payment_method") if hasattr(self, "cleaned_data") else None
        self.locker_search = LockerSearch(
            query, cash_on_delivery=bool(payment and payment.is_cash_on_delivery)
        )
        self._errors = type(self._errors)()
        message = self.locker_search.error or _("Choose a parcel locker from the list.")
        self._errors["points_q" if self.locker_search.error else "pickup_point"] = self.error_class([message])

    def clean_shipping_method(self):
        raw = self.cleaned_data.get("shipping_method")
        return self._shipping.get(int(raw)) if raw else None

    def clean_pickup_point(self):
        chosen = str(self.data.get("pickup_point_choice") or "").strip()
        if chosen and len(chosen) <= 32:
            return chosen
        return (self.cleaned_data.get("pickup_point") or "").strip()

    def clean_payment_method(self):
        raw = self.cleaned_data.get("payment_method")
        return self._payment.get(int(raw)) if raw else None

    def clean(self):
        data = super().clean()
        method: ShippingMethod | None = data.get("shipping_method")
        if self.needs_shipping:
            if method is None:
                self.add_error("shipping_method", _("Choose a delivery method."))
            else:
                for name in ("first_name", "last_name"):
                    if not data.get(name):
                        self.add_error(name, _("This field is required."))
                if method.kind != ShippingMethod.Kind.PICKUP or data.get("phone"):
                    self._run("phone", phones.normalise)
                if method.needs_address:
                    for name in ("street", "city"):
                        if not data.get(name):
                            self.add_error(name, _("This field is required."))
                    self._run("postal_code", clean_postal_code)
                if method.needs_pickup_point:
                    self._run("pickup_point", lambda v: clean_pickup_point(v, method))
        payment = data.get("payment_method")
        if (
            self.needs_shipping
            and method is not None
            and method.needs_pickup_point
            and data.get("pickup_point")
            and "pickup_point" not in self.errors
            and not self.searching
        ):
            cod = bool(payment and payment.is_cash_on_delivery)
            try:
                self.pickup_point_check = verify_pickup_point(data["pickup_point"], cash_on_delivery=cod)
            except ValidationError as exc:
                self.add_error("pickup_point", exc)
        if self.needs_payment:
            if payment is None:
                self.add_error("payment_method", _("Choose a payment method."))
            elif method is not None:
                if (
                    payment.is_cash_on_delivery
                    and method.cash_on_delivery == ShippingMethod.CashOnDelivery.NO
                ):
                    self.add_error(
                        "payment_method", _("Cash on delivery is not available with this delivery method.")
                    )
                if (
                    not payment.is_cash_on_delivery
                    and method.cash_on_delivery == ShippingMethod.CashOnDelivery.ONLY
                ):
                    self.add_error("payment_method", _("This delivery method is paid in cash on delivery."))
        if data.get("wants_invoice"):
            for name in ("company_name", "billing_street", "billing_city"):
                if not data.get(name):
                    self.add_error(name, _("This field is required."))
            if not self.needs_shipping:
                for name in ("first_name", "last_name"):
                    if not data.get(name):
                        self.add_error(name, _("This field is required."))
            self._run("tax_id", clean_nip)
            self._run("billing_postal_code", clean_postal_code)
        return data

    def _run(self, name, fn):
        if name in self.errors:
            return
        try:
            self.cleaned_data[name] = fn(self.cleaned_data.get(name, ""))
        except ValidationError as exc:
            self.add_error(name, exc)

    def answers(self) -> dict:
        data = self.cleaned_data
        out = {name: data.get(name) or "" for name in self.ANSWER_FIELDS}
        out["wants_invoice"] = bool(data.get("wants_invoice"))
        check = self.pickup_point_check
        if check is not None:
            payment = data.get("payment_method")
            # Re-checked at place_order: cash on delivery needs a locker that takes payments.
            out["pickup_point_cod"] = bool(payment and payment.is_cash_on_delivery)
            out["pickup_point_verified"] = check.verified
            out["pickup_point_details"] = pickup_points.describe(check.point)
        return out


class CodeForm(forms.Form):
    code = forms.CharField(label=_("Discount code or gift card"), max_length=40)


class SummaryForm(forms.Form):
    checkout_token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    expected_total = forms.CharField(widget=forms.HiddenInput, max_length=20, required=False)
    expected_amount_due = forms.CharField(widget=forms.HiddenInput, max_length=20, required=False)
    customer_note = forms.CharField(
        label=_("Note to the shop (optional)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    accept_terms = forms.BooleanField(
        label=_("I accept the shop's terms and conditions and privacy policy."),
        error_messages={"required": _("Please accept the terms to place the order.")},
    )


def max_quantity() -> int:
    return settings.CART_MAX_LINE_QUANTITY

"""Checks of what shoppers type at checkout, shared by the forms and ``place_order`` (which
re-checks everything, so an API caller or a tampered form cannot skip a rule)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from shop import phones
from shop.identifiers import clean_nip

from .. import pickup_points
from ..models import ShippingMethod

POSTAL_CODE_RE = re.compile(r"^\d{2}-\d{3}$")


def clean_pickup_point(value: str, method: ShippingMethod) -> str:
    code = re.sub(r"\s+", "", (value or "").upper())
    pattern = method.pickup_point_pattern or ""
    if not code:
        raise ValidationError(_("Enter the code of the parcel locker (e.g. KRA01M)."))
    try:
        ok = re.fullmatch(pattern, code) is not None if pattern else len(code) <= 32
    except re.error:
        ok = len(code) <= 32
    if not ok or len(code) > 32:
        raise ValidationError(
            _("“%(code)s” is not a parcel locker code (e.g. KRA01M).") % {"code": code[:32]}
        )
    return code


def verify_pickup_point(code: str, *, cash_on_delivery: bool = False) -> pickup_points.PointCheck:
    """The parcel locker behind an already pattern-checked ``code``: it must exist, be operating,
    hand out parcels and, for cash on delivery, take payments. When the points API cannot be
    asked the code is accepted on its pattern alone (``verified`` False; the order gets a note)."""
    try:
        return pickup_points.check_point(code, cash_on_delivery=cash_on_delivery)
    except pickup_points.PointRefused as exc:
        raise ValidationError(exc.message) from None


def clean_country(value: str) -> str:
    """An ISO 3166-1 alpha-2 country code that exists (pycountry's list, kept up to date with
    the standard), upper-cased; empty means Poland. Shared by the address book form and the API."""
    import pycountry

    code = (value or "PL").strip().upper()
    if len(code) != 2 or not code.isalpha() or pycountry.countries.get(alpha_2=code) is None:
        raise ValidationError(
            _("“%(code)s” is not a country code; use a two-letter code such as PL or DE.")
            % {"code": (value or "").strip()[:8]}
        )
    return code


def clean_postal_code(value: str) -> str:
    code = (value or "").strip()
    if not POSTAL_CODE_RE.match(code):
        raise ValidationError(_("Enter a postal code such as 00-950."))
    return code


def validate_answers(answers: dict, *, shipping_method: ShippingMethod | None, basket) -> list[str]:
    """Messages for whatever the delivery step still lacks (empty when complete)."""
    problems: list[str] = []

    def check(fn, *args):
        try:
            fn(*args)
        except ValidationError as exc:
            problems.extend(exc.messages)

    needs_person = basket.needs_shipping or answers.get("wants_invoice")
    if needs_person and not (answers.get("first_name") and answers.get("last_name")):
        problems.append(_("Enter your first and last name."))
    if basket.needs_shipping and shipping_method is not None:
        if shipping_method.kind != ShippingMethod.Kind.PICKUP or answers.get("phone"):
            check(phones.normalise, answers.get("phone", ""))
        if shipping_method.needs_address:
            if not answers.get("street") or not answers.get("city"):
                problems.append(_("Enter the delivery address."))
            check(clean_postal_code, answers.get("postal_code", ""))
        if shipping_method.needs_pickup_point:
            before = len(problems)
            check(clean_pickup_point, answers.get("pickup_point", ""), shipping_method)
            if len(problems) == before:
                code = clean_pickup_point(answers.get("pickup_point", ""), shipping_method)
                cod = bool(answers.get("pickup_point_cod"))
                check(lambda c: verify_pickup_point(c, cash_on_delivery=cod), code)
    if answers.get("wants_invoice"):
        if not answers.get("company_name"):
            problems.append(_("Enter the company name for the invoice."))
        check(clean_nip, answers.get("tax_id", ""))
        if not answers.get("billing_street") or not answers.get("billing_city"):
            problems.append(_("Enter the company address for the invoice."))
        check(clean_postal_code, answers.get("billing_postal_code", ""))
    return problems

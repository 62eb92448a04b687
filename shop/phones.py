"""Phone numbers: the shop's one reading of them, on Google's ``phonenumbers`` metadata.

Every phone that enters the shop -- the checkout form and the API's cart answers, the address
book, marketplace orders -- goes through :func:`normalise` (or :func:`normalise_lenient` for data
the shop must accept as it comes) and is stored in E.164 (``+48600100200``). A number typed
without a country prefix is read in the address's country (Poland by default), so ``600 100 200``
is Polish and ``030 1234567`` with country DE is a Berlin number. Carriers and the SMS gateway
want other spellings of the same number: :func:`carrier_digits` and :func:`sms_digits`.
"""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

DEFAULT_REGION = "PL"
# Longer input is refused before it reaches the parser: no real number with spaces, dashes and an
# extension comes near it, and the checkout stores 32 characters.
MAX_INPUT_LENGTH = 64


def _region(country: str | None) -> str:
    code = (country or "").strip().upper()
    return code if len(code) == 2 and code.isalpha() else DEFAULT_REGION


def _parse(value: str, country: str | None) -> phonenumbers.PhoneNumber | None:
    text = str(value or "").strip()
    if not text or len(text) > MAX_INPUT_LENGTH:
        return None
    try:
        number = phonenumbers.parse(text, _region(country))
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise(value: str, *, country: str | None = None) -> str:
    """A valid phone number in E.164 (``"600 100-200"`` -> ``"+48600100200"``); a number without
    a ``+``/``00`` prefix is read in ``country`` (ISO code; Poland when empty or unknown).
    Raises ``ValidationError`` with a message for the shopper when it is not a real number."""
    number = _parse(value, country)
    if number is None:
        raise ValidationError(
            _("Enter a valid phone number, e.g. 600 100 200 or with the country code, +49 30 1234567."),
            code="invalid_phone",
        )
    return _e164(number)


def normalise_lenient(value: str, *, country: str | None = None, max_length: int = 32) -> str:
    """E.164 when ``value`` is a valid number, else the trimmed text (cut to ``max_length``):
    for numbers the shop must take as they come (a marketplace's order, an old record)."""
    number = _parse(value, country)
    if number is not None:
        return _e164(number)
    return " ".join(str(value or "").split())[:max_length]


def is_valid(value: str, *, country: str | None = None) -> bool:
    return _parse(value, country) is not None


def carrier_digits(value: str) -> str:
    """The digits a Polish carrier expects: the national number of a Polish phone
    (``+48 600-100-200`` -> ``600100200``), the country code and number of a foreign one
    (``+49 30 1234567`` -> ``49301234567``); an unreadable value as its digits, left for the
    carrier to judge."""
    number = _parse(value, None)
    if number is None:
        return "".join(c for c in str(value or "")[:MAX_INPUT_LENGTH] if c.isdigit())
    if number.country_code == 48:
        return phonenumbers.national_significant_number(number)
    return _e164(number).removeprefix("+")


def sms_digits(value: str) -> str:
    """The number as SMS gateways take it, country code first without ``+``
    (``600 100 200`` -> ``48600100200``); ``""`` when it is not a valid number."""
    number = _parse(value, None)
    return _e164(number).removeprefix("+") if number is not None else ""

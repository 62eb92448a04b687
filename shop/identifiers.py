"""Numbers with a check digit that shoppers and merchants type: NIP, bank accounts, EAN/GTIN.

The one place each rule lives, on python-stdnum (maintained, with the official check-digit
algorithms); each function returns the stored spelling or raises ``ValidationError`` with a
message for the person who typed it.

- NIP (Polish tax id): 10 digits; ``PL`` prefixes, dashes and spaces are accepted.
- Bank account: a Polish NRB (26 digits) or any IBAN; stored as a compact IBAN (``PL61…``),
  since an NRB is the Polish IBAN without its ``PL`` and has the same check digits.
- EAN/GTIN: 8, 12, 13 or 14 digits with a valid check digit.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import ean, iban
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.pl import nip

# Far above any real spelling (an IBAN is at most 34 characters plus spaces); longer input is
# refused before anything parses it.
MAX_INPUT_LENGTH = 64


def _compact(value: str) -> str:
    return "".join(str(value or "").split()).replace("-", "").upper()


def clean_nip(value: str) -> str:
    """A valid Polish NIP as 10 digits (``PL 526-000-12-46`` -> ``5260001246``)."""
    raw = _compact(value)[:MAX_INPUT_LENGTH].removeprefix("PL")
    try:
        return nip.validate(raw)
    except StdnumError:
        raise ValidationError(
            _("Enter a valid NIP (10 digits, e.g. 526-000-12-46)."), code="invalid_nip"
        ) from None


def clean_bank_account(value: str) -> str:
    """A bank account for a refund: a Polish NRB (26 digits) or an IBAN, as a compact IBAN
    (``61 1090 1014 0000 0712 1981 2874`` -> ``PL61109010140000071219812874``); ``""`` stays ``""``."""
    raw = _compact(value)
    if not raw:
        return ""
    if len(raw) > MAX_INPUT_LENGTH:
        raw = raw[:MAX_INPUT_LENGTH]
    if raw.isdigit():
        if len(raw) != 26:
            raise ValidationError(
                _("A Polish account number (NRB) has 26 digits; enter all of them or an IBAN."),
                code="invalid_bank_account",
            )
        raw = "PL" + raw
    try:
        return iban.validate(raw)
    except StdnumError:
        raise ValidationError(
            _("This is not a valid account number: check the digits (26 for a Polish account, or an IBAN)."),
            code="invalid_bank_account",
        ) from None


def clean_polish_account(value: str) -> str:
    """A Polish account as the 26 digits of its NRB (what Polish carriers and banks want for
    cash-on-delivery transfers); an IBAN with ``PL`` is accepted. ``""`` stays ``""``."""
    account = clean_bank_account(value)
    if account and not account.startswith("PL"):
        raise ValidationError(
            _("Enter a Polish bank account (26 digits)."),
            code="invalid_bank_account",
        )
    return account.removeprefix("PL")


def clean_gtin(value: str) -> str:
    """A valid EAN/GTIN (8, 12, 13 or 14 digits with the right check digit); ``""`` stays ``""``."""
    code = _compact(value)
    if not code:
        return ""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        raise ValidationError(_("An EAN/GTIN has 8, 12, 13 or 14 digits."), code="invalid_gtin")
    if not ean.is_valid(code):
        raise ValidationError(_("This EAN/GTIN has a wrong check digit."), code="invalid_gtin")
    return code


def gtin_check_digit(body: str) -> str:
    """The check digit to append to ``body`` (e.g. 12 digits for an EAN-13)."""
    return ean.calc_check_digit(body)

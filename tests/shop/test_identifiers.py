"""NIP, bank accounts and EAN/GTIN: the one copy of each rule (shop/identifiers.py)."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from shop import identifiers

HOSTILE = ["<svg onload=alert(1)>", "1" * 10_000, "\x00" * 5, "٥٢٦٠٠٠١٢٤٦", "' OR 1=1 --"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("526-000-12-46", "5260001246"), ("PL 526 000 12 46", "5260001246"), ("pl5260001246", "5260001246")],
)
def test_nip_is_validated_and_compacted(typed, stored):
    assert identifiers.clean_nip(typed) == stored


@pytest.mark.parametrize("typed", ["5260001247", "526000124", "", "DE5260001246", *HOSTILE])
def test_a_wrong_nip_is_refused(typed):
    with pytest.raises(ValidationError) as caught:
        identifiers.clean_nip(typed)
    assert caught.value.code == "invalid_nip"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("61 1090 1014 0000 0712 1981 2874", "PL61109010140000071219812874"),  # an NRB
        ("PL61 1090 1014 0000 0712 1981 2874", "PL61109010140000071219812874"),
        ("pl61-1090-1014-0000-0712-1981-2874", "PL61109010140000071219812874"),
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),  # any valid IBAN
        ("GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_bank_accounts_are_validated_and_stored_as_a_compact_iban(typed, stored):
    assert identifiers.clean_bank_account(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "62 1090 1014 0000 0712 1981 2874",  # a wrong check digit
        "1090 1014 0000 0712 1981 2874",  # 24 digits
        "DE89 3704 0044 0532 0130 01",
        "PL61 1090 1014 0000 0712 1981 287",  # a Polish IBAN is 28 characters
        "XX00 1234",
        *HOSTILE,
    ],
)
def test_a_wrong_bank_account_is_refused(typed):
    with pytest.raises(ValidationError) as caught:
        identifiers.clean_bank_account(typed)
    assert caught.value.code == "invalid_bank_account"


def test_bank_account_errors_are_translated():
    with translation.override("pl"):
        for typed in ("123", "62109010140000071219812874"):
            with pytest.raises(ValidationError) as caught:
                identifiers.clean_bank_account(typed)
            assert "26" in caught.value.messages[0] and "numer" in caught.value.messages[0]


def test_a_polish_account_for_cash_on_delivery_is_its_26_digits():
    assert (
        identifiers.clean_polish_account("PL61 1090 1014 0000 0712 1981 2874") == "61109010140000071219812874"
    )
    assert identifiers.clean_polish_account("") == ""
    with pytest.raises(ValidationError):
        identifiers.clean_polish_account("DE89 3704 0044 0532 0130 00")
    with pytest.raises(ValidationError):
        identifiers.clean_polish_account("12 34")


@pytest.mark.parametrize(
    "code", ["5901234123457", "96385074", "036000291452", "05901234123457", " 5901234123457 "]
)
def test_valid_gtins(code):
    assert identifiers.clean_gtin(code) == code.strip()


@pytest.mark.parametrize(
    "code", ["5901234123458", "590123412345", "59012341234570", "abcdefghijklm", *HOSTILE]
)
def test_invalid_gtins_are_refused(code):
    with pytest.raises(ValidationError) as caught:
        identifiers.clean_gtin(code)
    assert caught.value.code == "invalid_gtin"


def test_gtin_check_digit_completes_a_valid_code():
    assert identifiers.gtin_check_digit("590123412345") == "7"
    assert identifiers.clean_gtin("590123412345" + identifiers.gtin_check_digit("590123412345"))


def test_the_longest_iban_written_in_groups_fits_the_return_form_and_api():
    from orders.account_forms import ReturnRequestForm
    from orders.api.serializers import ReturnInput

    spaced = "RU03 0445 2522 5408 1781 0538 0913 1041 9"  # 33 characters compact, 41 as printed
    assert identifiers.clean_bank_account(spaced) == "RU0304452522540817810538091310419"
    assert ReturnRequestForm.base_fields["bank_account"].max_length >= len(spaced)
    assert ReturnInput().fields["bank_account"].max_length >= len(spaced)

"""The shop's one phone rule (shop/phones.py) and the places that use it."""

import pytest
from django.core.exceptions import ValidationError

from shop import phones


@pytest.mark.parametrize(
    ("typed", "country", "e164"),
    [
        ("600 100 200", None, "+48600100200"),
        ("600-100-200", "PL", "+48600100200"),
        ("+48 600 100 200", None, "+48600100200"),
        ("0048600100200", None, "+48600100200"),
        ("(22) 123 45 67", None, "+48221234567"),
        ("+49 30 1234567", None, "+49301234567"),
        ("030 1234567", "DE", "+49301234567"),  # no prefix: read in the address's country
        ("+44 20 7946 0958", "PL", "+442079460958"),  # a prefix wins over the country
        ("600 100 200", "pl", "+48600100200"),
        ("600 100 200", "X1", "+48600100200"),  # an unknown country falls back to Poland
    ],
)
def test_valid_numbers_come_back_in_e164(typed, country, e164):
    assert phones.normalise(typed, country=country) == e164
    assert phones.is_valid(typed, country=country)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "111 222 333",  # no such Polish range
        "12345",
        "600 100 2000",  # a digit too many
        "abc",
        "+",
        "600100200; DROP TABLE orders",
        "<script>alert(1)</script>",
        "6" * 10_000,  # oversized: refused before the parser
        "+48 600 100 200 ext. " + "1" * 60,  # oversized with a real number in front
        None,
    ],
)
def test_hostile_or_malformed_input_is_refused_with_one_clear_message(typed):
    with pytest.raises(ValidationError) as caught:
        phones.normalise(typed)
    assert caught.value.code == "invalid_phone"
    assert "600 100 200" in caught.value.messages[0]
    assert not phones.is_valid(typed)


@pytest.mark.parametrize("typed", ["\x00600100200", "٦٠٠١٠٠٢٠٠", "\u200b600\u00a0100\u00a0200"])
def test_control_characters_and_other_digits_leave_only_the_number_stored(typed):
    # phonenumbers reads Arabic-Indic digits and skips junk around the number; what is stored is
    # always the plain E.164 form, never the typed characters.
    assert phones.normalise(typed) == "+48600100200"


def test_the_error_is_translated(settings):
    from django.utils import translation

    with translation.override("pl"), pytest.raises(ValidationError) as caught:
        phones.normalise("12")
    assert caught.value.messages[0].startswith("Podaj poprawny numer telefonu")


def test_lenient_keeps_what_is_not_a_number_but_cuts_it():
    assert phones.normalise_lenient("+48 600-100-200") == "+48600100200"
    assert phones.normalise_lenient("30 1234567", country="DE") == "+49301234567"
    assert phones.normalise_lenient("  call  me\n later ") == "call me later"
    assert phones.normalise_lenient("9" * 500) == "9" * 32
    assert phones.normalise_lenient(None) == ""


@pytest.mark.parametrize(
    ("phone", "digits"),
    [
        ("+48 600-100-200", "600100200"),
        ("0048600100200", "600100200"),
        ("600100200", "600100200"),
        ("+49 30 1234567", "49301234567"),  # a foreign number keeps its country code
        ("tel. 12-34", "1234"),  # unreadable: its digits, for the carrier to judge
        ("", ""),
        ("1" * 1000, "1" * 64),
    ],
)
def test_carrier_digits(phone, digits):
    assert phones.carrier_digits(phone) == digits


@pytest.mark.parametrize(
    ("phone", "digits"),
    [
        ("600 100 200", "48600100200"),
        ("+48 600-100-200", "48600100200"),
        ("+44 20 7946 0958", "442079460958"),
        ("12", ""),
        ("", ""),
        ("x" * 10_000, ""),
    ],
)
def test_sms_digits(phone, digits):
    assert phones.sms_digits(phone) == digits

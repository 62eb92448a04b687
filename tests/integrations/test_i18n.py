"""Every integrations string has a Polish translation, and the compiled catalogue is in use."""

from pathlib import Path

from django.utils import translation

import integrations

PO = Path(integrations.__file__).parent / "locale" / "pl" / "LC_MESSAGES" / "django.po"


def test_every_msgid_is_translated():
    text = PO.read_text(encoding="utf-8")
    entries = text.split("\n\n")[1:]
    untranslated = [e for e in entries if 'msgstr ""' in e and '\n"' not in e.split('msgstr ""', 1)[1][:2]]
    assert not untranslated
    assert "#, fuzzy" not in text
    assert (PO.parent / "django.mo").exists()


def test_messages_are_polish_in_polish():
    from integrations.wholesalers.normalise import RowError, normalise
    from integrations.wholesalers.pricing import PriceRules
    from integrations.wholesalers.profile import load_profile

    with translation.override("pl"):
        try:
            normalise({"sku": ""}, mode="full", profile=load_profile(slug="generic-csv"), rules=PriceRules())
        except RowError as exc:
            assert str(exc) == "Wiersz nie ma SKU."

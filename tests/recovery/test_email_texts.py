"""What shoppers read in cart reminders: Polish plural forms, gender-neutral wording, no made-up
name ("Kliencie"), the store's name where the nominative fits, amounts in the shop's money format,
and English without Polish in it. Rendered through the real composer with real carts."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import translation

from orders.models import Voucher
from recovery import defaults, services, templating
from recovery.messages import compose
from recovery.models import Step, StepTemplate, TrackedCart
from recovery.services.campaigns import ensure_default_campaign
from tests.orders.factories import VoucherFactory
from tests.recovery.factories import make_cart, make_variant

pytestmark = pytest.mark.django_db

FORBIDDEN = ("Kliencie", "łeś", "(-aś)", "łaś", "-aś", " PLN")
POLISH_LETTERS = re.compile("[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]")


@pytest.fixture(autouse=True)
def _urgency(settings):
    settings.RECOVERY_URGENCY_MAX_UNITS = 30


def reminders_for(store, *, language: str, first_name: str = "", stock: int = 100, name: str = "Linen shirt"):
    """The three default reminders of a real abandoned cart, as composed for sending (the second
    with its coupon)."""
    ensure_default_campaign(store=store)
    variant = make_variant(store, price="1234.50", stock=stock, product__name=name)
    cart = make_cart(store, variants=[variant], language=language, first_name=first_name)
    services.detect_abandoned()
    tracked = TrackedCart.objects.get(cart=cart)
    voucher = VoucherFactory(
        store=store,
        code="WROC-TEST01",
        kind=Voucher.Kind.PERCENTAGE,
        value=Decimal("10"),
        valid_until=datetime(2030, 1, 15, 12, 0, tzinfo=UTC),
    )
    messages = []
    for step in Step.objects.filter(campaign__store=store).order_by("position"):
        messages.append(
            compose(
                step=step,
                variant=None,
                cart=cart,
                tracked=tracked,
                reminder=None,
                voucher=voucher if step.incentive_kind else None,
                language=language,
                to=cart.email,
            )
        )
    return messages


@pytest.mark.parametrize(
    ("count", "html_phrase", "text_phrase"),
    [
        (1, "Została tylko 1 sztuka.", "została tylko 1 sztuka"),
        (2, "Zostały tylko 2 sztuki.", "zostały tylko 2 sztuki"),
        (5, "Zostało tylko 5 sztuk.", "zostało tylko 5 sztuk"),
        (12, "Zostało tylko 12 sztuk.", "zostało tylko 12 sztuk"),
        (22, "Zostały tylko 22 sztuki.", "zostały tylko 22 sztuki"),
    ],
)
def test_units_left_take_the_polish_plural_form(store, count, html_phrase, text_phrase):
    first = reminders_for(store, language="pl", stock=count)[0]
    assert html_phrase in first.html
    assert text_phrase in first.text
    assert "szt." not in first.html


@pytest.mark.parametrize(
    ("count", "phrase"),
    [
        (1, "1 osoba kupiła produkt „Kubek ceramiczny”"),
        (2, "2 osoby kupiły produkt „Kubek ceramiczny”"),
        (5, "5 osób kupiło produkt „Kubek ceramiczny”"),
        (22, "22 osoby kupiły produkt „Kubek ceramiczny”"),
    ],
)
def test_social_proof_takes_the_polish_plural_form(count, phrase):
    html = defaults.template_texts(defaults.STEPS[0], "pl")["html_body"]
    context = templating.sample_context()
    context["social_proof"] = {"count": count, "product_name": "Kubek ceramiczny"}
    with translation.override("pl"):
        assert phrase in templating.render(html, context, autoescape=True)


@pytest.mark.parametrize("count", [1, 2, 5])
def test_english_counts_are_english(count):
    html = defaults.template_texts(defaults.STEPS[0], "en")["html_body"]
    context = templating.sample_context()
    context["social_proof"] = {"count": count, "product_name": "Mug"}
    with translation.override("en"):
        rendered = templating.render(html, context, autoescape=True)
    assert f"{count} {'person' if count == 1 else 'people'} bought “Mug”" in rendered


@pytest.mark.parametrize("language", ["pl", "en"])
@pytest.mark.parametrize("first_name", ["", "Anna"])
def test_reminders_greet_neutrally_and_never_guess_a_gender(store, language, first_name):
    messages = reminders_for(store, language=language, first_name=first_name, stock=3)
    assert len(messages) == 3
    expected = {
        ("pl", ""): "Dzień dobry!",
        ("pl", "Anna"): "Dzień dobry, Anna!",
        ("en", ""): "Hello!",
        ("en", "Anna"): "Hello Anna!",
    }[(language, first_name)]
    for message in messages:
        assert message.text.startswith(expected), message.text
        assert f"<p>{expected}</p>" in message.html
        for part in (message.subject, message.text, message.html):
            assert not [word for word in FORBIDDEN if word in part], part
        # Amounts in the shop's one format, with "zł".
        assert "1\xa0234,50\xa0zł" in message.text and "1\xa0234,50\xa0zł" in message.html
    coupon = {
        "pl": "kod rabatowy WROC-TEST01 (-10%), ważny do 15.01.2030",
        "en": "discount code, WROC-TEST01 (-10%), valid until 15.01.2030",
    }[language]
    assert coupon in messages[1].text and coupon in re.sub(r"</?strong>", "", messages[1].html)
    assert "WROC-TEST01" not in messages[0].text + messages[2].text
    if language == "en":
        for message in messages:
            for part in (message.subject, message.text, message.html):
                assert not POLISH_LETTERS.search(part.replace("zł", "")), part  # the currency is "zł"


def test_the_store_name_stands_where_its_form_never_changes(store):
    store.name = "Sklep Koszyk"
    store.save()
    subjects = [m.subject for m in reminders_for(store, language="pl")]
    assert subjects == [
        "Twój koszyk wciąż czeka – Sklep Koszyk",
        "-10% na Twój koszyk – Sklep Koszyk",
        "Ostatnie przypomnienie o Twoim koszyku – Sklep Koszyk",
    ]
    assert not [s for s in subjects if " w Sklep Koszyk" in s]


def test_a_fixed_coupon_label_uses_the_money_format(store):
    from recovery.personalise import coupon_label

    voucher = VoucherFactory(store=store, kind=Voucher.Kind.FIXED, value=Decimal("20"))
    assert coupon_label(voucher, "PLN") == "-20,00\xa0zł"


def test_a_merchant_template_still_using_greeting_name_reads_well_without_a_name(store):
    """Templates written for the old variable keep working: in Polish the unknown name is left out
    together with the space or comma around it, never replaced with "Kliencie"."""
    ensure_default_campaign(store=store)
    step = Step.objects.get(campaign__store=store, position=1)
    StepTemplate.objects.filter(step=step, language="pl").update(
        subject="{{ greeting_name }}, Twój koszyk czeka",
        html_body="<p>Cześć {{ greeting_name }}!</p><p>Wróć: {{ restore_url }}</p>",
        text_body="Cześć {{ greeting_name }}! Wróć: {{ restore_url }}",
    )
    variant = make_variant(store)
    cart = make_cart(store, variants=[variant], language="pl", first_name="")
    services.detect_abandoned()
    tracked = TrackedCart.objects.get(cart=cart)
    message = compose(
        step=step,
        variant=None,
        cart=cart,
        tracked=tracked,
        reminder=None,
        voucher=None,
        language="pl",
        to=cart.email,
    )
    assert message.subject == "Twój koszyk czeka"
    assert message.text.startswith("Cześć! Wróć: ")
    assert "<p>Cześć!</p>" in message.html
    assert "\x01" not in message.subject + message.text + message.html
    with translation.override("en"):
        assert templating.greeting_name("") == "there"
    with translation.override("pl"):
        assert templating.greeting_name("Anna") == "Anna"


def test_new_templates_pass_the_admin_validation():
    for spec in defaults.STEPS:
        for language in ("pl", "en"):
            texts = defaults.template_texts(spec, language)
            templating.validate_template_fields(channel="email", **texts)
            assert len(texts["subject"]) <= StepTemplate._meta.get_field("subject").max_length


def test_the_admin_preview_greets_in_the_template_language(store):
    from recovery.services.campaigns import preview_step

    ensure_default_campaign(store=store)
    step = Step.objects.get(campaign__store=store, position=1)
    with translation.override("pl"):
        english = preview_step(step=step, language="en")
    with translation.override("en"):
        polish = preview_step(step=step, language="pl")
    assert english.text.startswith("Hello Anna!") and "Dzień dobry" not in english.html
    assert polish.text.startswith("Dzień dobry, Anna!") and "Hello" not in polish.html

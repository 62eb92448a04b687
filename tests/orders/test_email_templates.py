"""Order e-mail texts a merchant edits: defaults are today's texts, an unedited store sends exactly
what it sent before, an edited one its own subject and message (plain text, escaped in the HTML),
the summary stays; hostile texts are refused with a message; preview and test send in the admin."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from orders import email_templates
from orders.emails import render_email
from orders.models import Order, OrderEmail, OrderEmailTemplate, Voucher
from shop import sandbox_templates
from shop.money import format_money
from tests.orders.test_emails import place_busy_order
from tests.shop.factories import StaffFactory, StoreFactory, SuperuserFactory

pytestmark = pytest.mark.django_db
D = Decimal
Key = OrderEmailTemplate.Key


@pytest.fixture
def staff(client):
    user = SuperuserFactory(email="szef@example.com")
    client.force_login(user)
    client.user = user
    return client


def _render(order, kind, language="pl", context=None):
    email = OrderEmail(
        order=order, kind=kind, language=language, recipient="k@example.com", context=context or {}
    )
    message = render_email(email)
    return message.subject, message.body, message.alternatives[0][0]


def _edit(store, key=Key.PLACED, language="pl", **fields):
    return email_templates.save_template(
        store=store,
        key=key,
        language=language,
        subject=fields.get("subject", "Zamówienie {{ order.number }} przyjęte!"),
        body=fields.get(
            "body", "Cześć {{ customer.first_name }},\ndzięki za {{ order.total }} <b>zakupów</b>."
        ),
        is_active=fields.get("is_active", True),
    )


# --- Unedited stores send what they sent before --------------------------------------------------


@pytest.mark.parametrize("language", ["pl", "en"])
@pytest.mark.parametrize(
    ("kind", "context"),
    [
        ("placed", {}),
        ("paid", {}),
        ("shipped", {}),
        ("delivered", {}),
        ("cancelled", {"reason": "sold_out"}),
        (
            "return",
            {
                "template": "orders/emails/return_accepted",
                "event": "accepted",
                "return_id": 3,
                "refund_amount": "10.00",
                "note": "",
                "lines": [],
            },
        ),
    ],
)
def test_an_unedited_or_switched_off_text_changes_nothing(store, language, kind, context):
    order = place_busy_order(store, language=language)
    before = _render(order, kind, language, context)
    key = email_templates.key_for(OrderEmail(order=order, kind=kind, context=context))
    template = _edit(store, key=key, language=language, is_active=False)
    assert _render(order, kind, language, context) == before
    template.delete()
    # The shop's own sentences open the e-mail (the default text the editor starts from says them).
    with translation.override(language):
        default = sandbox_templates.render(
            email_templates.default_body(key, language),
            email_templates.text_context(order=order, store=store, language=language, extra=context),
            autoescape=False,
        )
    assert before[1].split("\n\n")[1].startswith(default.split("\n\n")[1].split("{%")[0].strip()[:30])
    assert before[0] == sandbox_templates.render(
        email_templates.default_subject(key, language), {"order": {"number": order.number}}, autoescape=False
    )


def test_the_default_texts_are_todays_in_each_language(store):
    assert email_templates.default_subject(Key.PLACED, "pl") == "Dziękujemy za zamówienie {{ order.number }}"
    assert (
        email_templates.default_body(Key.PLACED, "pl")
        == "Dzień dobry,\n\nDziękujemy za zamówienie {{ order.number }}."
    )
    assert (
        email_templates.default_body(Key.SHIPPED, "en")
        == "Hello,\n\nYour order {{ order.number }} is on its way."
    )
    for key in Key.values:
        for language in ("pl", "en"):
            email_templates.validate(
                subject=email_templates.default_subject(key, language),
                body=email_templates.default_body(key, language),
                store=store,
                language=language,
            )


# --- Edited texts ----------------------------------------------------------------------------------


def test_an_edited_text_replaces_subject_and_message_and_keeps_the_summary(store):
    order = place_busy_order(store)
    _edit(store)
    subject, text, html = _render(order, "placed")
    assert subject == f"Zamówienie {order.number} przyjęte!"
    first_name = order.shipping_address.first_name
    assert first_name
    assert text.startswith(f"Cześć {first_name},\ndzięki za {format_money(order.total)} <b>zakupów</b>.\n")
    assert "Dziękujemy za zamówienie" not in text and "Dzień dobry," not in text
    assert "&lt;b&gt;zakupów&lt;/b&gt;" in html and "<b>zakupów</b>" not in html  # merchant HTML is text
    assert "Koszula lniana" in text and "Koszula lniana" in html  # the summary follows
    assert 'class="total"' in html and order.number in html


def test_a_text_in_the_other_language_is_not_used(store):
    order = place_busy_order(store, language="en")
    _edit(store, language="pl")
    subject, _text, _html = _render(order, "placed", "en")
    assert subject == f"Thank you for your order {order.number}"


def test_an_edited_return_text(store):
    order = place_busy_order(store)
    _edit(store, key=Key.RETURN_REJECTED, subject="Zwrot {{ return_number }}", body="Niestety nie.")
    context = {
        "template": "orders/emails/return_rejected",
        "event": "rejected",
        "return_id": 9,
        "refund_amount": "1.00",
        "note": "Ślady użycia",
        "lines": [],
    }
    subject, text, html = _render(order, "return", context=context)
    assert subject == "Zwrot 9"
    assert text.startswith("Niestety nie.") and "Ślady użycia" in text
    assert "Niestety nie." in html


def test_gift_card_and_invoice_emails_are_not_editable(store):
    order = place_busy_order(store)
    assert email_templates.key_for(OrderEmail(order=order, kind="gift_cards")) is None
    assert email_templates.key_for(OrderEmail(order=order, kind="invoice")) is None


# --- Hostile texts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "source", "message"),
    [
        ("body", "{% load static %}{% static 'x' %}", "Template error"),
        ("body", "{% load log %}", "Template error"),
        ("body", "{% if %}", "Template error"),
        ("body", "{{ order.number|nosuchfilter }}", "Template error"),
        ("body", "{{ order.number", None),  # an unclosed brace is plain text
        ("body", "{% include 'orders/email/order.txt' %}", "Template error"),
        ("body", "{% extends 'email/base.txt' %}", "Template error"),
        ("body", "{{ order.password }}", "Unknown variable"),
        ("body", "{{ settings.SECRET_KEY }}", "Unknown variable"),
        ("body", "   ", "cannot be empty"),
        ("subject", "", "cannot be empty"),
        ("subject", "{% if False %}x{% endif %}", "comes out empty"),
        ("subject", "{% load i18n %}{{ customer.first_name|upper }} {% translate 'Hello,' %}", None),
    ],
)
def test_hostile_texts_are_refused_with_a_clear_message(store, field, source, message):
    texts = {"subject": "Temat", "body": "Treść", field: source}
    with translation.override("en"):
        if message is None:
            email_templates.validate(store=store, language="pl", **texts)
            return
        with pytest.raises(ValidationError) as caught:
            email_templates.validate(store=store, language="pl", **texts)
    assert message in " ".join(caught.value.message_dict[field])


def test_a_hostile_text_in_the_admin_is_a_form_error_not_a_500(staff, store):
    response = staff.post(
        reverse("admin:orders_orderemailtemplate_add"),
        {
            "store": store.pk,
            "key": "placed",
            "language": "pl",
            "subject": "{% load i18n %}{% if %}",
            "body": "{% load x %}",
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "subject" in errors and "body" in errors
    assert not OrderEmailTemplate.objects.exists()


# --- Admin: start from the defaults, preview with an order, test send --------------------------------


def test_the_add_form_starts_from_the_shops_text(staff, store):
    response = staff.get(reverse("admin:orders_orderemailtemplate_add") + "?key=shipped&language=pl")
    form = response.context["adminform"].form
    assert form.initial["subject"] == "Twoje zamówienie {{ order.number }} jest w drodze"
    assert form.initial["body"].startswith("Dzień dobry,")
    assert (
        staff.get(reverse("admin:orders_orderemailtemplate_add") + "?key=nope&language=xx").status_code == 200
    )


def test_the_editor_previews_with_the_latest_or_a_chosen_order(staff, store, django_assert_max_num_queries):
    first = place_busy_order(store)
    Voucher.objects.filter(store=store, code="LATO10").update(code="WIOSNA10")
    latest = place_busy_order(store)
    template = _edit(store)
    url = reverse("admin:orders_orderemailtemplate_change", args=[template.pk])
    with django_assert_max_num_queries(45):
        response = staff.get(url)
    assert response.status_code == 200
    assert response.context["preview"]["subject"] == f"Zamówienie {latest.number} przyjęte!"
    response = staff.get(url, {"order": first.number})
    assert response.context["preview"]["order"] == first
    response = staff.get(url, {"order": "NIE-MA"})
    assert "nie ma zamówienia" in response.context["preview_error"]


def test_the_preview_never_uses_another_stores_order(staff, store):
    other = StoreFactory()
    foreign = place_busy_order(other)
    template = _edit(store)
    response = staff.get(
        reverse("admin:orders_orderemailtemplate_change", args=[template.pk]), {"order": foreign.number}
    )
    assert response.context["preview"] is None and response.context["preview_error"]


def test_a_store_without_orders_says_so(staff, store):
    template = _edit(store)
    response = staff.get(reverse("admin:orders_orderemailtemplate_change", args=[template.pk]))
    assert response.status_code == 200 and response.context["preview_error"]


def test_the_test_send_goes_to_the_staff_members_own_address(staff, store):
    order = place_busy_order(store)
    template = _edit(store)
    mail.outbox.clear()
    url = reverse("admin:orders_orderemailtemplate_test", args=[template.pk])
    assert staff.get(url).status_code == 404
    response = staff.post(url, {"order": order.number})
    assert response.status_code == 302
    (sent,) = mail.outbox
    assert sent.to == ["szef@example.com"] and sent.subject == f"[TEST] Zamówienie {order.number} przyjęte!"
    assert order.email not in sent.to
    assert (
        not Order.objects.get(pk=order.pk)
        .emails.filter(kind="placed", sent_at__isnull=False)
        .exclude(pk__in=order.emails.values("pk"))
        .exists()
    )


def test_staff_of_another_store_cannot_preview_or_send(client, store):
    place_busy_order(store)
    template = _edit(store)
    user = StaffFactory(all_stores=False, email="obcy@example.com")
    from django.contrib.auth.models import Permission

    user.user_permissions.set(Permission.objects.filter(codename__endswith="_orderemailtemplate"))
    StoreFactory().staff.add(user)
    client.force_login(user)
    mail.outbox.clear()
    assert client.get(reverse("admin:orders_orderemailtemplate_change", args=[template.pk])).status_code in (
        302,
        404,
    )
    assert client.post(reverse("admin:orders_orderemailtemplate_test", args=[template.pk])).status_code == 404
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "{% load static %}",
            "Nie można wczytać „static”; {% load %} przyjmuje tylko: humanize, i18n, l10n.",
        ),
        ("{% if order.is_paid %}tak", "nieznany lub niezamknięty tag"),
        ("{{ order.number|shout }}", "nieznany filtr „shout”."),
    ],
)
def test_syntax_errors_are_explained_in_polish(store, source, expected):
    with translation.override("pl"), pytest.raises(ValidationError) as caught:
        email_templates.validate(subject="Temat", body=source, store=store, language="pl")
    (message,) = caught.value.message_dict["body"]
    assert message.startswith("Błąd szablonu: ") and expected in message

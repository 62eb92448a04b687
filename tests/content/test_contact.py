"""The contact form: a person's message is kept and e-mailed; bots are refused with a clear
message (too fast, no or forged token, honeypot, links, flood) and a person loses nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client

from content import contact
from content.models import ContactMessage, Page
from tests.content.factories import published_page
from tests.shop.factories import StoreFactory

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def shop():
    store = StoreFactory(domain="sklep.example.pl", support_email="obsluga@sklep.example.pl", name="Sklep")
    published_page(store=store, kind=Page.Kind.CONTACT, slug="kontakt", title="Kontakt")
    return store


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def form(client):
    response = client.get("/strona/kontakt/")
    assert response.status_code == 200
    return response.context["form"].initial["token"]


def data(token, /, **extra):
    return {
        "name": "Anna Nowak",
        "email": "anna@example.com",
        "subject": "Pytanie o rozmiar",
        "message": "Czy buty w rozmiarze 38 są wąskie?",
        "website": "",
        "token": token,
    } | extra


def test_a_genuine_message_is_kept_and_emailed_to_the_shop(shop, clock, django_capture_on_commit_callbacks):
    client = Client(HTTP_HOST=shop.domain)
    token = form(client)
    clock.shift(timedelta(seconds=20))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/strona/kontakt/", data(token))
    assert response.status_code == 302
    message = ContactMessage.objects.get()
    assert (message.store, message.email, message.is_read) == (shop, "anna@example.com", False)
    assert message.emailed_at is not None
    (sent,) = mail.outbox
    assert sent.to == ["obsluga@sklep.example.pl"] and sent.reply_to == ["anna@example.com"]
    assert "Pytanie o rozmiar" in sent.subject and "rozmiarze 38" in sent.body
    assert "Dziękujemy" in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("wait", "extra", "expected"),
    [
        (0, {}, "zbyt szybko"),  # a bot posts at once
        (1, {}, "zbyt szybko"),
        (2 * 3600 + 1, {}, "zbyt długo"),
        (20, {"token": ""}, "Nie udało się sprawdzić formularza"),
        (20, {"token": "forged:token"}, "Nie udało się sprawdzić formularza"),
        (20, {"website": "https://spam.example"}, "ukryte pole"),
        (
            20,
            {"message": "Tanie! https://a.example https://b.example www.c.example"},
            "za dużo linków",
        ),
    ],
)
def test_bots_are_refused_with_a_clear_message_and_the_form_keeps_what_was_written(
    shop, clock, wait, extra, expected
):
    client = Client(HTTP_HOST=shop.domain)
    token = form(client)
    clock.shift(timedelta(seconds=wait))
    response = client.post("/strona/kontakt/", data(token, **extra))
    assert response.status_code == 400
    html = response.content.decode()
    assert expected in html
    assert "Czy buty w rozmiarze 38" in html or "Tanie!" in html  # nothing lost
    assert ContactMessage.objects.count() == 0 and mail.outbox == []
    # The form comes back with a fresh token: the person just sends it again a moment later.
    retry = response.context["form"].data["token"]
    if not extra:
        clock.shift(timedelta(seconds=5))
        assert client.post("/strona/kontakt/", data(retry)).status_code == 302


def test_a_token_of_another_store_is_refused(shop, clock):
    other = StoreFactory(domain="inny.example.pl")
    token = contact.issue_token(store=other)
    clock.shift(timedelta(seconds=10))
    response = Client(HTTP_HOST=shop.domain).post("/strona/kontakt/", data(token))
    assert response.status_code == 400 and ContactMessage.objects.count() == 0


@pytest.mark.parametrize(
    "extra",
    [
        {"message": "x" * (1024 * 1024)},
        {"email": "not-an-address"},
        {"name": ""},
        {"subject": "s" * 5000},
        {"message": "krótko"},
    ],
)
def test_malformed_and_oversized_input_gets_field_errors(shop, clock, extra):
    client = Client(HTTP_HOST=shop.domain)
    token = form(client)
    clock.shift(timedelta(seconds=10))
    response = client.post("/strona/kontakt/", data(token, **extra))
    assert response.status_code == 400
    assert response.context["form"].errors and ContactMessage.objects.count() == 0


def test_one_address_is_limited_to_a_few_messages_an_hour(shop, clock):
    client = Client(HTTP_HOST=shop.domain)
    for _ in range(contact.RATE_LIMIT):
        token = form(client)
        clock.shift(timedelta(seconds=5))
        assert client.post("/strona/kontakt/", data(token)).status_code == 302
    token = form(client)
    clock.shift(timedelta(seconds=5))
    response = client.post("/strona/kontakt/", data(token))
    assert response.status_code == 429
    assert "Spróbuj ponownie" in response.content.decode()
    assert ContactMessage.objects.count() == contact.RATE_LIMIT


def test_the_contact_form_is_only_on_the_contact_page(shop):
    published_page(store=shop, slug="o-nas", kind=Page.Kind.ABOUT)
    client = Client(HTTP_HOST=shop.domain)
    assert client.get("/strona/o-nas/").context["form"] is None
    assert client.post("/strona/o-nas/", {"name": "x"}).status_code == 405


def test_forwarding_twice_sends_once(shop):
    message = ContactMessage.objects.create(
        store=shop, name="A", email="a@example.com", subject="S", message="M"
    )
    assert contact.forward(message.pk) is True
    assert contact.forward(message.pk) is False
    assert len(mail.outbox) == 1

import pytest
from django.core.mail import EmailMultiAlternatives

from shop.mail import list_mailbox, read_mail
from tests.shop.factories import StaffFactory, SuperuserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailbox(settings):
    settings.EMAIL_BACKEND = "shop.mail.MailboxBackend"
    msg = EmailMultiAlternatives(
        "Twoje zamówienie", "Dziękujemy za zakupy!", "sklep@example.pl", ["anna@example.com"]
    )
    msg.attach_alternative("<p>Dziękujemy <b>za zakupy</b>!</p>", "text/html")
    msg.send()
    return settings.MAIL_DIR


def test_messages_are_written_as_eml_files_and_read_back(mailbox):
    files = list(mailbox.glob("*.eml"))
    assert len(files) == 1
    mail = list_mailbox()[0]
    assert mail.subject == "Twoje zamówienie"
    assert mail.to == "anna@example.com"
    assert "Dziękujemy za zakupy!" in mail.text
    assert "<b>za zakupy</b>" in mail.html


@pytest.mark.parametrize("name", ["../secret_key", "/etc/passwd", "x.eml", "20260101T000000-zzzzzzzz.eml"])
def test_read_mail_refuses_anything_but_our_own_file_names(mailbox, name):
    with pytest.raises(FileNotFoundError):
        read_mail(name)


def test_outbox_in_the_admin_for_superusers_only(client, store, mailbox):
    name = list_mailbox()[0].name
    client.force_login(StaffFactory())
    assert client.get("/admin/outbox/").status_code == 404
    client.force_login(SuperuserFactory())
    listing = client.get("/admin/outbox/")
    assert listing.status_code == 200 and "Twoje zamówienie" in listing.content.decode()
    detail = client.get(f"/admin/outbox/{name}/")
    assert detail.status_code == 200 and "Dziękujemy za zakupy!" in detail.content.decode()
    assert client.get("/admin/outbox/..%2Fsecret_key/").status_code == 404


def test_outbox_requires_login(client, store, mailbox):
    response = client.get("/admin/outbox/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]

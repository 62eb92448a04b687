"""The customer account under /konto/: registration, password reset, orders, addresses and
downloads -- and that nobody sees another customer's data (IDOR: 404, never 403)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from orders.models import Address, ConsentRecord, Order, OrderStatusChange
from tests.catalog.factories import DigitalAssetFactory, DownloadGrantFactory, VariantFactory
from tests.orders.factories_after_sales import AddressFactory, make_order, use_isolated_cache
from tests.shop.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture(autouse=True)
def _own_cache(settings):
    from django.core.cache import cache

    use_isolated_cache(settings)
    cache.clear()  # rate-limit counters of an earlier test must not count in this one


@pytest.fixture
def shopper():
    return UserFactory(email="ola@example.com")


@pytest.fixture
def logged_in(client, shopper, store):
    client.force_login(shopper)
    return client


# --- registration ------------------------------------------------------------------------------------


def register(client, **data):
    payload = {
        "email": "nowy@example.com",
        "password1": "Trudne-Haslo-2026",
        "password2": "Trudne-Haslo-2026",
    }
    payload.update(data)
    return client.post(reverse("orders:account:register"), payload)


def test_registration_with_consent(client, store):
    page = client.get(reverse("orders:account:register"))
    assert page.status_code == 200
    response = register(client, email="Nowy@Example.com", marketing_consent="on")
    assert response.status_code == 302
    user = User.objects.get(email="nowy@example.com")
    assert user.check_password("Trudne-Haslo-2026")
    consent = ConsentRecord.objects.get(email="nowy@example.com")
    assert consent.granted and consent.source == "registration" and consent.user == user
    assert consent.version and store.name in consent.text
    # Logged in straight away.
    assert client.get(reverse("orders:account:dashboard")).status_code == 200


def test_registration_without_consent_records_nothing(client, store):
    register(client)
    assert User.objects.filter(email="nowy@example.com").exists()
    assert not ConsentRecord.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"email": "nie-email"},
        {"password2": "inne-haslo-2026"},
        {"password1": "123", "password2": "123"},
        {"email": "ola@example.com"},
    ],
)
def test_registration_errors(client, store, shopper, data):
    response = register(client, **data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert User.objects.count() == 1


def test_registration_rate_limit(client, store, settings):
    settings.ACCOUNT_FORM_RATE_LIMIT = 2
    for i in range(2):
        register(client, email=f"spam{i}@example.com", password2="zle")
    response = register(client, email="spam9@example.com")
    assert response.status_code == 429
    assert response["Retry-After"]
    assert not User.objects.filter(email="spam9@example.com").exists()


# --- password reset ------------------------------------------------------------------------------------


def test_password_reset_flow(client, store, shopper):
    assert client.get(reverse("orders:account:password_reset")).status_code == 200
    response = client.post(reverse("orders:account:password_reset"), {"email": "ola@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ola@example.com"]
    assert store.sender_email in message.from_email
    link = re.search(r"https?://[^/\s]+(/konto/haslo/reset/\S+/)", message.body).group(1)
    assert message.alternatives and link in message.alternatives[0][0]
    form = client.get(link, follow=True)
    assert form.status_code == 200 and form.context["validlink"]
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Nowe-Haslo-2026!", "new_password2": "Nowe-Haslo-2026!"},
    )
    assert done.status_code == 302
    shopper.refresh_from_db()
    assert shopper.check_password("Nowe-Haslo-2026!")


def test_password_reset_unknown_email_looks_the_same(client, store):
    response = client.post(reverse("orders:account:password_reset"), {"email": "nikt@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_password_reset_rate_limit(client, store, settings):
    settings.ACCOUNT_FORM_RATE_LIMIT = 1
    client.post(reverse("orders:account:password_reset"), {"email": "a@example.com"})
    assert (
        client.post(reverse("orders:account:password_reset"), {"email": "b@example.com"}).status_code == 429
    )


def test_bad_reset_link(client, store):
    response = client.get("/konto/haslo/reset/MQ/zly-token/")
    assert response.status_code == 200
    assert not response.context["validlink"]


# --- orders -----------------------------------------------------------------------------------------------


@pytest.fixture
def variant(store):
    return VariantFactory(store=store, price=Decimal("59.00"), stock=20, product__name="Świeca Sojowa")


def test_login_required(client, store):
    for name in ("dashboard", "orders", "returns", "addresses", "downloads", "address_add"):
        response = client.get(reverse(f"orders:account:{name}"))
        assert response.status_code == 302, name


def test_order_history_shows_only_own_orders(logged_in, store, shopper, variant):
    mine = make_order(store=store, lines=[(variant, 1)], user=shopper)
    theirs = make_order(store=store, lines=[(variant, 1)], user=UserFactory())
    other_store = make_order(store=StoreFactory(), lines=[(variant, 1)], user=shopper)
    response = logged_in.get(reverse("orders:account:orders"))
    content = response.content.decode()
    assert mine.number in content
    assert theirs.number not in content and other_store.number not in content
    assert mine.number in logged_in.get(reverse("orders:account:dashboard")).content.decode()


def test_order_detail(logged_in, store, shopper, variant):
    order = make_order(store=store, lines=[(variant, 2)], user=shopper, status=Order.Status.SHIPPED)
    Order.objects.filter(pk=order.pk).update(tracking_number="6PL000111222")
    OrderStatusChange.objects.create(
        order=order, from_status="paid", to_status="packed", note="internal: box 3"
    )
    OrderStatusChange.objects.create(order=order, from_status="packed", to_status="shipped")
    response = logged_in.get(reverse("orders:account:order", kwargs={"number": order.number}))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Świeca Sojowa" in content
    assert "6PL000111222" in content
    assert 'data-testid="status-history"' in content
    assert "internal: box 3" not in content  # staff notes stay internal
    assert 'data-testid="return-button"' in content
    assert 'data-testid="invoice-link"' not in content  # no invoice yet


def test_order_detail_query_count_is_constant(logged_in, store, shopper, django_assert_max_num_queries):
    def detail_queries(n_lines):
        lines = [(VariantFactory(store=store, stock=5), 1) for _ in range(n_lines)]
        order = make_order(store=store, lines=lines, user=shopper)
        url = reverse("orders:account:order", kwargs={"number": order.number})
        logged_in.get(url)  # warm the store and navigation caches
        with django_assert_max_num_queries(40) as ctx:
            logged_in.get(url)
        return len(ctx.captured_queries)

    assert detail_queries(1) == detail_queries(8)


def test_order_list_query_count_is_constant(
    logged_in, store, shopper, variant, django_assert_max_num_queries
):
    make_order(store=store, lines=[(variant, 1)], user=shopper)
    logged_in.get(reverse("orders:account:orders"))  # warm the caches
    with django_assert_max_num_queries(40) as one:
        logged_in.get(reverse("orders:account:orders"))
    for _ in range(10):
        make_order(store=store, lines=[(variant, 1), (variant, 2)], user=shopper, sold=False)
    with django_assert_max_num_queries(len(one.captured_queries)):
        logged_in.get(reverse("orders:account:orders"))


def test_idor_order_invoice_return_address(logged_in, store, shopper, variant):
    stranger = UserFactory()
    order = make_order(store=store, lines=[(variant, 1)], user=stranger)
    address = AddressFactory(user=stranger)
    guest_order = make_order(store=store, lines=[(variant, 1)])
    for url in (
        reverse("orders:account:order", kwargs={"number": order.number}),
        reverse("orders:account:order", kwargs={"number": guest_order.number}),
        reverse("orders:account:invoice", kwargs={"number": order.number}),
        reverse("orders:account:return_request", kwargs={"number": order.number}),
        reverse("orders:account:address_edit", kwargs={"pk": address.pk}),
        reverse("orders:account:order", kwargs={"number": "KS-nie-ma"}),
    ):
        assert logged_in.get(url).status_code == 404, url
    assert (
        logged_in.post(reverse("orders:account:address_delete", kwargs={"pk": address.pk})).status_code == 404
    )
    assert Address.objects.filter(pk=address.pk).exists()


# --- addresses --------------------------------------------------------------------------------------------


def address_data(**overrides):
    data = {
        "first_name": "Ola",
        "last_name": "Zielińska",
        "company_name": "",
        "tax_id": "",
        "street": "ul. Kwiatowa 3",
        "postal_code": "31-000",
        "city": "Kraków",
        "country": "PL",
        "phone": "600700800",
    }
    data.update(overrides)
    return data


def test_address_crud(logged_in, shopper):
    response = logged_in.post(reverse("orders:account:address_add"), address_data(is_default_shipping="on"))
    assert response.status_code == 302
    first = Address.objects.get(user=shopper)
    assert first.is_default_shipping
    logged_in.post(
        reverse("orders:account:address_add"),
        address_data(
            street="ul. Nowa 1", is_default_shipping="on", company_name="ABC", tax_id="774-000-14-54"
        ),
    )
    second = Address.objects.get(user=shopper, street="ul. Nowa 1")
    first.refresh_from_db()
    assert second.is_default_shipping and not first.is_default_shipping  # one default only
    assert second.tax_id == "7740001454"
    listing = logged_in.get(reverse("orders:account:addresses")).content.decode()
    assert "ul. Nowa 1" in listing and "ul. Kwiatowa 3" in listing
    edit_url = reverse("orders:account:address_edit", kwargs={"pk": first.pk})
    assert logged_in.get(edit_url).status_code == 200
    logged_in.post(edit_url, address_data(city="Gdańsk"))
    first.refresh_from_db()
    assert first.city == "Gdańsk"
    logged_in.post(reverse("orders:account:address_delete", kwargs={"pk": first.pk}))
    assert not Address.objects.filter(pk=first.pk).exists()
    assert (
        logged_in.get(reverse("orders:account:address_delete", kwargs={"pk": second.pk})).status_code == 405
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("postal_code", "31000"), ("tax_id", "1234567890"), ("street", ""), ("country", "Polska")],
)
def test_address_validation(logged_in, shopper, field, value):
    response = logged_in.post(reverse("orders:account:address_add"), address_data(**{field: value}))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Address.objects.filter(user=shopper).exists()


# --- downloads ----------------------------------------------------------------------------------------------


def test_downloads_list_own_grants_only(logged_in, store, shopper):
    asset = DigitalAssetFactory(variant__store=store, title="Poradnik PDF")
    order = make_order(store=store, lines=[(asset.variant, 1)], user=shopper)
    line = order.lines.get()
    DownloadGrantFactory(asset=asset, email=shopper.email, reference=f"order-line:{line.pk}")
    expired_asset = DigitalAssetFactory(variant__store=store, title="Stary plik")
    old = make_order(store=store, lines=[(expired_asset.variant, 1)], user=shopper)
    DownloadGrantFactory(
        asset=expired_asset,
        email=shopper.email,
        reference=f"order-line:{old.lines.get().pk}",
        expires_at=timezone.now() - timedelta(days=1),
    )
    # Someone else's purchase with the same email address (a guest order) is not listed.
    stranger_asset = DigitalAssetFactory(variant__store=store, title="Cudzy plik")
    DownloadGrantFactory(asset=stranger_asset, email=shopper.email, reference="order-line:999999")
    response = logged_in.get(reverse("orders:account:downloads"))
    content = response.content.decode()
    assert "Poradnik PDF" in content and "Stary plik" in content
    assert "Cudzy plik" not in content
    assert content.count('data-testid="download-link"') == 1
    link = re.search(r'href="(/[^"]+)" data-testid="download-link"', content).group(1)
    assert logged_in.get(link).status_code == 200


# --- links to registration and password reset ---------------------------------------------------------


def test_header_and_login_page_lead_to_registration_and_password_reset(client, store):
    home = client.get("/").content.decode()
    assert 'href="/konto/rejestracja/"' in home and "Załóż konto" in home
    login_page = client.get(reverse("orders:login")).content.decode()
    assert f'href="{reverse("orders:account:password_reset")}"' in login_page
    assert "Nie pamiętasz hasła?" in login_page
    assert f'href="{reverse("orders:account:register")}"' in login_page and "Załóż konto" in login_page


def test_password_reset_email_is_polish_and_proves_the_address(client, store, shopper):
    assert not shopper.email_verified
    client.post(reverse("orders:account:password_reset"), {"email": "ola@example.com"})
    message = mail.outbox[0]
    assert message.subject == f"Ustaw nowe hasło w sklepie „{store.name}”"
    assert "Set a new password" not in message.body and "Someone asked" not in message.body
    link = re.search(r"https?://[^/\s]+(/konto/haslo/reset/\S+/)", message.body).group(1)
    form = client.get(link, follow=True)
    client.post(
        form.redirect_chain[-1][0], {"new_password1": "Nowe-Haslo-2026!", "new_password2": "Nowe-Haslo-2026!"}
    )
    shopper.refresh_from_db()
    assert shopper.check_password("Nowe-Haslo-2026!") and shopper.email_verified


def test_password_reset_does_not_flood_one_mailbox_and_says_the_same(client, store, shopper, settings):
    settings.ACCOUNT_RESET_PER_EMAIL_LIMIT = 2
    answers = [
        client.post(reverse("orders:account:password_reset"), {"email": "ola@example.com"}) for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [302] * 4
    assert {a["Location"] for a in answers} == {reverse("orders:account:password_reset_done")}
    assert len(mail.outbox) == 2


# --- e-mail verification -----------------------------------------------------------------------------------


def _verify_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/konto/email/potwierdz/\S+/)", message.body).group(1)


def test_registration_sends_a_verification_link_that_verifies_only_on_post(client, store):
    register(client, email="nowa@example.com")
    user = User.objects.get(email="nowa@example.com")
    assert not user.email_verified
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nowa@example.com"] and store.sender_email in message.from_email
    assert message.subject == f"Potwierdź adres e-mail w sklepie „{store.name}”"
    assert "Dzień dobry" in message.body and "Link jest ważny 3 dni." in message.body
    link = _verify_link(message)
    assert link in message.alternatives[0][0]
    # A mail scanner's GET verifies nothing.
    page = client.get(link)
    assert page.status_code == 200 and "Potwierdzam adres e-mail" in page.content.decode()
    user.refresh_from_db()
    assert not user.email_verified
    response = client.post(link)
    assert response.status_code == 302 and response["Location"] == reverse("orders:account:dashboard")
    user.refresh_from_db()
    assert user.email_verified and user.email_verified_at is not None
    # Opened again later: says it is done, changes nothing.
    assert "jest potwierdzony" in client.get(link).content.decode()


def test_verification_link_verifies_without_logging_anyone_in(client, store, shopper):
    from orders import accounts

    link = reverse("orders:account:verify_email", kwargs={"token": accounts.verification_token(shopper)})
    response = client.post(link)
    assert response.status_code == 200 and "jest potwierdzony" in response.content.decode()
    assert "_auth_user_id" not in client.session
    shopper.refresh_from_db()
    assert shopper.email_verified


def test_verification_link_expires_and_is_bound_to_the_address(
    client, store, shopper, time_machine, settings
):
    from orders import accounts

    settings.ACCOUNT_VERIFY_EMAIL_MAX_AGE = 3600
    time_machine.move_to(timezone.now(), tick=False)
    link = reverse("orders:account:verify_email", kwargs={"token": accounts.verification_token(shopper)})
    time_machine.shift(timedelta(seconds=3601))
    response = client.post(link)
    assert response.status_code == 400 and "nieprawidłowy albo wygasł" in response.content.decode()
    time_machine.shift(timedelta(seconds=-3601))
    shopper.email = "inna@example.com"  # the address changed after the link was sent
    shopper.save()
    assert client.post(link).status_code == 400
    assert client.post("/konto/email/potwierdz/zly-token/").status_code == 400
    shopper.refresh_from_db()
    assert not shopper.verified_email
    # A verified address that is changed is unverified again.
    accounts.mark_email_verified(user=shopper)
    shopper.email = "jeszcze-inna@example.com"
    assert not shopper.email_verified


def test_verification_link_can_be_sent_again_within_limits(logged_in, shopper, settings):
    settings.ACCOUNT_VERIFY_EMAIL_RESENDS = 2
    dashboard = logged_in.get(reverse("orders:account:dashboard")).content.decode()
    assert 'data-testid="verify-email"' in dashboard and "Wyślij mi link" in dashboard
    for _ in range(3):
        logged_in.post(reverse("orders:account:verify_email_send"))
    assert len(mail.outbox) == 2
    assert all(m.to == ["ola@example.com"] for m in mail.outbox)


# --- guest orders -------------------------------------------------------------------------------------------


def test_guest_orders_are_offered_only_after_verification_and_attached_on_confirm(
    logged_in, store, shopper, variant
):
    from orders import accounts

    guest = make_order(store=store, lines=[(variant, 1)], email="Ola@Example.com")
    older = make_order(store=store, lines=[(variant, 2)], email="ola@example.com")
    someone_else = make_order(store=store, lines=[(variant, 1)], email="ala@example.com")
    other_store = make_order(
        store=StoreFactory(), lines=[(VariantFactory(stock=5), 1)], email="ola@example.com"
    )
    theirs = make_order(store=store, lines=[(variant, 1)], user=UserFactory(email="x@example.com"))
    dashboard = reverse("orders:account:dashboard")
    attach = reverse("orders:account:attach_orders")

    # Unverified: nothing offered, and a forged POST attaches nothing.
    page = logged_in.get(dashboard).content.decode()
    assert guest.number not in page and 'data-testid="guest-orders"' not in page
    logged_in.post(attach, {"order": [guest.pk, older.pk]})
    assert Order.objects.filter(user=shopper).count() == 0

    accounts.mark_email_verified(user=shopper)
    page = logged_in.get(dashboard).content.decode()
    assert 'data-testid="guest-orders"' in page and "Zamówienia złożone bez konta" in page
    assert guest.number in page and older.number in page
    assert someone_else.number not in page and other_store.number not in page
    # Viewing offers, it does not attach.
    assert Order.objects.filter(user=shopper).count() == 0

    response = logged_in.post(
        attach, {"order": [guest.pk, someone_else.pk, other_store.pk, theirs.pk, "x"]}, follow=True
    )
    assert "Do konta dodano 1 zamówienie." in response.content.decode()
    assert set(Order.objects.filter(user=shopper)) == {guest}
    someone_else.refresh_from_db(), other_store.refresh_from_db(), theirs.refresh_from_db()
    assert someone_else.user is None and other_store.user is None and theirs.user.email == "x@example.com"
    # The attached order is the customer's now: listed, and its page opens.
    assert logged_in.get(reverse("orders:account:order", kwargs={"number": guest.number})).status_code == 200
    page = logged_in.get(dashboard).content.decode()
    assert older.number in page
    logged_in.post(attach, {"order": [older.pk]})
    assert Order.objects.filter(user=shopper).count() == 2
    assert 'data-testid="guest-orders"' not in logged_in.get(dashboard).content.decode()


class RefusingMailBackend:
    """A mail server that is down."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


def test_registration_stands_when_the_verification_mail_cannot_be_sent(client, store, settings):
    settings.EMAIL_BACKEND = "tests.orders.test_account.RefusingMailBackend"
    response = register(client, email="bez-poczty@example.com")
    assert response.status_code == 302 and response["Location"] == reverse("orders:account:dashboard")
    user = User.objects.get(email="bez-poczty@example.com")
    assert not user.email_verified
    # Logged in; the page offers to send the link again.
    assert 'data-testid="verify-email"' in client.get(reverse("orders:account:dashboard")).content.decode()

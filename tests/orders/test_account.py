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
    use_isolated_cache(settings)


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

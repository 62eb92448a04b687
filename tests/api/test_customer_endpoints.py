"""What a logged-in shopper does through the API, end to end: log in for a token, keep an address
book, download bought files, ask to return a delivered order. Plus constant query counts for
the ``me/*`` lists and the merchant catalog lists (one row and many rows cost the same)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client
from rest_framework.test import APIClient

from orders.models import Address, Order, Return
from shop.api import keys
from tests.api.conftest import error_of, merchant
from tests.catalog.factories import (
    AttributeFactory,
    AttributeValueFactory,
    DigitalAssetFactory,
    DownloadGrantFactory,
    ProductFactory,
    VariantFactory,
)
from tests.orders.factories_after_sales import AddressFactory, make_order
from tests.shop.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "haslo-testowe-123"  # UserFactory's
NEW_ADDRESS = {
    "first_name": "Anna",
    "last_name": "Kowalska",
    "street": "ul. Długa 5/3",
    "postal_code": "00-950",
    "city": "Warszawa",
    "phone": "600 100 200",
}


def _rates(settings, **rates):
    rf = dict(settings.REST_FRAMEWORK)
    rf["DEFAULT_THROTTLE_RATES"] = {"ip": "1000/min", "api_key": "1000/min", "sensitive": "1000/min", **rates}
    settings.REST_FRAMEWORK = rf


# --- auth/token/ ---------------------------------------------------------------------------------


def test_login_with_the_right_password_gives_a_token_for_me(store, shopper):
    r = APIClient().post("/api/v1/auth/token/", {"email": shopper.email, "password": PASSWORD}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == {"token", "expires_at"}
    assert body["token"].startswith("kct_")
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    me = c.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["email"] == shopper.email
    # Logging out revokes exactly this token.
    assert c.delete("/api/v1/auth/token/current/").status_code == 204
    assert c.get("/api/v1/me/").status_code == 401


def test_login_email_is_case_insensitive(store, shopper):
    r = APIClient().post(
        "/api/v1/auth/token/", {"email": shopper.email.upper(), "password": PASSWORD}, format="json"
    )
    assert r.status_code == 201, r.content


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "anna@example.com", "password": "zle-haslo"},
        {"email": "nikt@example.com", "password": PASSWORD},
    ],
)
def test_login_with_wrong_credentials_is_401_without_saying_which(store, shopper, credentials):
    r = APIClient().post("/api/v1/auth/token/", credentials, format="json")
    assert r.status_code == 401
    error = error_of(r)
    assert error["code"] == "authentication_failed"
    assert "token" not in r.json()


def test_login_of_an_inactive_account_is_refused(store, shopper):
    shopper.is_active = False
    shopper.save()
    r = APIClient().post("/api/v1/auth/token/", {"email": shopper.email, "password": PASSWORD}, format="json")
    assert r.status_code == 401


def test_login_input_is_validated(store):
    r = APIClient().post("/api/v1/auth/token/", {"email": "not-an-email"}, format="json")
    assert r.status_code == 400
    error = error_of(r)
    assert error["code"] == "invalid"
    assert {"email", "password"} <= set(error["fields"])
    r = APIClient().post(
        "/api/v1/auth/token/", {"email": "a@example.com", "password": "x", "extra": 1}, format="json"
    )
    assert r.status_code == 400
    assert set(error_of(r)["fields"]) == {"extra"}


def test_login_is_rate_limited_per_ip(store, shopper, settings):
    _rates(settings, sensitive="2/min")
    c = APIClient(REMOTE_ADDR="10.1.0.1")
    for _ in range(2):
        assert (
            c.post(
                "/api/v1/auth/token/", {"email": shopper.email, "password": "x"}, format="json"
            ).status_code
            == 401
        )
    r = c.post("/api/v1/auth/token/", {"email": shopper.email, "password": PASSWORD}, format="json")
    assert r.status_code == 429
    assert error_of(r)["code"] == "throttled"
    assert int(r["Retry-After"]) >= 1


def test_failed_logins_lock_the_account_even_with_the_right_password(store, shopper, settings):
    """The storefront's brute-force lockout (per email and per IP) guards the API login too."""
    settings.LOGIN_RATE_LIMIT = 3
    for i in range(3):
        c = APIClient(REMOTE_ADDR=f"10.2.0.{i}")
        r = c.post("/api/v1/auth/token/", {"email": shopper.email, "password": "zle"}, format="json")
        assert r.status_code == 401
    r = APIClient(REMOTE_ADDR="10.2.0.99").post(
        "/api/v1/auth/token/", {"email": shopper.email, "password": PASSWORD}, format="json"
    )
    assert r.status_code == 429
    assert error_of(r)["code"] == "throttled"


def test_a_token_of_one_shopper_shows_only_that_shopper(store, shopper):
    other = UserFactory(email="ktos@example.com")
    _, raw = keys.create_customer_token(store=store, user=other)
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert c.get("/api/v1/me/").json()["email"] == "ktos@example.com"


# --- me/addresses/ -------------------------------------------------------------------------------


def test_address_create_update_delete(customer_client, shopper):
    r = customer_client.post(
        "/api/v1/me/addresses/",
        {**NEW_ADDRESS, "company_name": "Kowalska sp. z o.o.", "tax_id": "PL 526-000-12-46"},
        format="json",
    )
    assert r.status_code == 201, r.content
    created = r.json()
    assert created["tax_id"] == "5260001246"  # stored compact, like the storefront's form does
    assert created["country"] == "PL"
    address = Address.objects.get(pk=created["id"], user=shopper)
    assert address.city == "Warszawa"

    listed = customer_client.get("/api/v1/me/addresses/").json()
    assert [a["id"] for a in listed["results"]] == [address.pk]

    r = customer_client.patch(
        f"/api/v1/me/addresses/{address.pk}/", {"city": "Kraków", "postal_code": "30-001"}, format="json"
    )
    assert r.status_code == 200, r.content
    assert (r.json()["city"], r.json()["postal_code"]) == ("Kraków", "30-001")
    address.refresh_from_db()
    assert (address.city, address.first_name) == ("Kraków", "Anna")

    assert customer_client.delete(f"/api/v1/me/addresses/{address.pk}/").status_code == 204
    assert not Address.objects.filter(pk=address.pk).exists()
    assert customer_client.delete(f"/api/v1/me/addresses/{address.pk}/").status_code == 404


def test_a_new_default_address_replaces_the_old_default(customer_client, shopper):
    first = customer_client.post(
        "/api/v1/me/addresses/", {**NEW_ADDRESS, "is_default_shipping": True}, format="json"
    ).json()
    second = customer_client.post(
        "/api/v1/me/addresses/", {**NEW_ADDRESS, "city": "Gdańsk", "is_default_shipping": True}, format="json"
    ).json()
    defaults = Address.objects.filter(user=shopper, is_default_shipping=True)
    assert [a.pk for a in defaults] == [second["id"]]
    assert first["id"] != second["id"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tax_id": "526-000-12-47"}, "tax_id"),  # wrong check digit
        ({"tax_id": "123"}, "tax_id"),
        ({"postal_code": "00950"}, "postal_code"),
        ({"first_name": ""}, "first_name"),
        ({"street": ""}, "street"),
        ({"country": "pl"}, "country"),
        ({"nickname": "dom"}, "nickname"),  # unknown fields are errors, not ignored
    ],
)
def test_address_validation_errors(customer_client, shopper, changes, field):
    r = customer_client.post("/api/v1/me/addresses/", {**NEW_ADDRESS, **changes}, format="json")
    assert r.status_code == 400, r.content
    error = error_of(r)
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert not Address.objects.filter(user=shopper).exists()


def test_address_required_fields(customer_client):
    r = customer_client.post("/api/v1/me/addresses/", {}, format="json")
    assert r.status_code == 400
    assert {"first_name", "last_name", "street", "postal_code", "city"} <= set(error_of(r)["fields"])


def test_foreign_postal_codes_and_tax_ids_are_not_judged_by_polish_rules(customer_client):
    r = customer_client.post(
        "/api/v1/me/addresses/",
        {**NEW_ADDRESS, "country": "DE", "postal_code": "10115", "tax_id": "DE123456789"},
        format="json",
    )
    assert r.status_code == 201, r.content


def test_patch_validates_nip_and_keeps_the_address_unchanged(customer_client, shopper):
    address = AddressFactory(user=shopper)
    r = customer_client.patch(f"/api/v1/me/addresses/{address.pk}/", {"tax_id": "1111111112"}, format="json")
    assert r.status_code == 400
    assert "tax_id" in error_of(r)["fields"]
    address.refresh_from_db()
    assert address.tax_id == ""
    # Switching a German address to Poland re-checks its postal code.
    german = AddressFactory(user=shopper, country="DE", postal_code="10115")
    r = customer_client.patch(f"/api/v1/me/addresses/{german.pk}/", {"country": "PL"}, format="json")
    assert r.status_code == 400
    assert "postal_code" in error_of(r)["fields"]


def test_another_shoppers_address_is_not_found(customer_client, shopper):
    theirs = AddressFactory(user=UserFactory(email="inny@example.com"), city="Poznań")
    mine = AddressFactory(user=shopper)
    listed = customer_client.get("/api/v1/me/addresses/").json()["results"]
    assert [a["id"] for a in listed] == [mine.pk]
    r = customer_client.patch(f"/api/v1/me/addresses/{theirs.pk}/", {"city": "Łódź"}, format="json")
    assert r.status_code == 404
    assert error_of(r)["code"] == "not_found"
    assert customer_client.delete(f"/api/v1/me/addresses/{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.city == "Poznań"
    # An order's frozen address (no owner) is not in anybody's book either.
    frozen = AddressFactory(user=None)
    assert (
        customer_client.patch(f"/api/v1/me/addresses/{frozen.pk}/", {"city": "X"}, format="json").status_code
        == 404
    )


# --- me/downloads/ -------------------------------------------------------------------------------


def _bought_file(store, user, title):
    asset = DigitalAssetFactory(variant__store=store, title=title)
    order = make_order(store=store, lines=[(asset.variant, 1)], user=user)
    return DownloadGrantFactory(asset=asset, email=user.email, reference=f"order-line:{order.lines.get().pk}")


def test_downloads_list_only_the_callers_grants_with_working_links(store, shopper, customer_client):
    mine = _bought_file(store, shopper, "Poradnik PDF")
    _bought_file(store, UserFactory(email="inny@example.com"), "Cudzy plik")
    # A guest purchase with the shopper's email address is not theirs to download from here.
    stranger = DigitalAssetFactory(variant__store=store, title="Gościnny plik")
    DownloadGrantFactory(asset=stranger, email=shopper.email, reference="order-line:999999")

    r = customer_client.get("/api/v1/me/downloads/")
    assert r.status_code == 200
    results = r.json()["results"]
    assert [(d["id"], d["title"]) for d in results] == [(mine.pk, "Poradnik PDF")]
    assert results[0]["downloads_left"] == 3
    assert results[0]["product"] == mine.asset.variant.product.name
    url = urlsplit(results[0]["url"])
    assert url.scheme == "http" and url.netloc == "testserver"

    # The signed link downloads the file once per use, for anybody holding it (like the email's).
    response = Client().get(url.path)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    mine.refresh_from_db()
    assert mine.downloads_left == 2
    # An altered token is refused.
    assert Client().get(url.path.rstrip("/") + "x/").status_code == 404


def test_downloads_are_per_store(store, other_store, shopper, customer_client):
    _bought_file(other_store, shopper, "W innym sklepie")
    assert customer_client.get("/api/v1/me/downloads/").json()["results"] == []


# --- me/returns/ ---------------------------------------------------------------------------------


@pytest.fixture
def delivered(store, shopper, variant):
    return make_order(store=store, user=shopper, lines=[(variant, 2)], status=Order.Status.DELIVERED)


def _return(order, quantity=1, **extra):
    return {
        "order_number": order.number,
        "reason": "withdrawal",
        "lines": [{"order_line_id": order.lines.get().pk, "quantity": quantity}],
        **extra,
    }


def test_return_of_a_delivered_order(customer_client, delivered, variant):
    line = delivered.lines.get()
    r = customer_client.post(
        "/api/v1/me/returns/",
        _return(delivered, 2, comment="Za mały rozmiar", bank_account="PL61 1090 1014 0000 0712 1981 2874"),
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["order_number"] == delivered.number
    assert body["status"] == Return.Status.REQUESTED
    assert body["lines"] == [
        {"order_line_id": line.pk, "sku": variant.sku, "quantity": 2, "refund_amount": "200.00"}
    ]
    ret = Return.objects.get(pk=body["id"], order=delivered)
    assert ret.comment == "Za mały rozmiar"
    assert ret.bank_account == "PL61109010140000071219812874"
    listed = customer_client.get("/api/v1/me/returns/").json()["results"]
    assert [x["id"] for x in listed] == [ret.pk]
    # Every unit is now asked for: a second (double-submitted) request is refused.
    again = customer_client.post("/api/v1/me/returns/", _return(delivered, 1), format="json")
    assert again.status_code == 422
    assert "lines" in error_of(again)["fields"]
    assert Return.objects.filter(order=delivered).count() == 1


def test_a_return_with_a_wrong_bank_account_is_refused(customer_client, delivered):
    r = customer_client.post(
        "/api/v1/me/returns/",
        _return(delivered, 1, bank_account="PL62 1090 1014 0000 0712 1981 2874"),
        format="json",
    )
    assert r.status_code == 422
    assert "bank_account" in error_of(r)["fields"]
    assert not Return.objects.exists()


def test_returning_more_than_was_bought_is_refused(customer_client, delivered):
    r = customer_client.post("/api/v1/me/returns/", _return(delivered, 3), format="json")
    assert r.status_code == 422
    error = error_of(r)
    assert error["code"] == "refused"
    assert "lines" in error["fields"]
    assert not Return.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"reason": "bo tak"}, "reason"),
        ({"lines": []}, "lines.non_field_errors"),
        ({"lines": [{"order_line_id": 1, "quantity": 0}]}, "lines.0.quantity"),
        ({"lines": [{"order_line_id": "x", "quantity": 1}]}, "lines.0.order_line_id"),
        ({"order_number": None}, "order_number"),
        ({"refund_to": "card"}, "refund_to"),
    ],
)
def test_return_validation_errors_have_the_standard_shape(customer_client, delivered, payload, field):
    r = customer_client.post("/api/v1/me/returns/", {**_return(delivered), **payload}, format="json")
    assert r.status_code == 400, r.content
    error = error_of(r)
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert not Return.objects.exists()


def test_a_line_of_another_order_is_refused(customer_client, delivered, store, shopper, variant):
    other = make_order(store=store, user=shopper, lines=[(variant, 1)], status=Order.Status.DELIVERED)
    payload = _return(delivered)
    payload["lines"][0]["order_line_id"] = other.lines.get().pk
    r = customer_client.post("/api/v1/me/returns/", payload, format="json")
    assert r.status_code == 422
    assert "lines" in error_of(r)["fields"]


def test_an_order_not_yet_shipped_cannot_be_returned(customer_client, store, shopper, variant):
    paid = make_order(store=store, user=shopper, lines=[(variant, 1)], status=Order.Status.PAID)
    r = customer_client.post("/api/v1/me/returns/", _return(paid), format="json")
    assert r.status_code == 422
    assert error_of(r)["code"] == "refused"


def test_another_shoppers_order_is_not_found(customer_client, store, variant, other_store):
    theirs = make_order(store=store, user=UserFactory(email="inny@example.com"), lines=[(variant, 1)])
    r = customer_client.post("/api/v1/me/returns/", _return(theirs), format="json")
    assert r.status_code == 404
    assert error_of(r)["code"] == "not_found"
    # A guest order (no account) with the shopper's email is not theirs either.
    guest = make_order(store=store, lines=[(variant, 1)], email="anna@example.com")
    assert customer_client.post("/api/v1/me/returns/", _return(guest), format="json").status_code == 404
    assert not Return.objects.exists()


# --- Query counts: one row costs what many rows cost ---------------------------------------------


def _queries(client, url, django_assert_max_num_queries, limit) -> tuple[int, int]:
    assert client.get(url).status_code == 200  # warm the store-by-host and token caches
    with django_assert_max_num_queries(limit) as ctx:
        r = client.get(url)
    assert r.status_code == 200, r.content
    return len(ctx.captured_queries), r.json()["count"]


def _grow_customer_rows(store, shopper, variant, n):
    for _ in range(n):
        order = make_order(
            store=store, user=shopper, lines=[(variant, 2)], status=Order.Status.DELIVERED, sold=False
        )
        ret = Return.objects.create(order=order, reason="withdrawal")
        ret.lines.create(order_line=order.lines.get(), quantity=1, refund_amount=variant.price)
        AddressFactory(user=shopper)
        _bought_file(store, shopper, "Plik")


@pytest.mark.parametrize(
    ("url", "limit"),
    [
        ("/api/v1/me/orders/", 6),
        ("/api/v1/me/addresses/", 6),
        ("/api/v1/me/downloads/", 6),
        ("/api/v1/me/returns/", 7),
    ],
)
def test_me_list_query_counts_are_constant(
    url, limit, store, shopper, variant, customer_client, django_assert_max_num_queries
):
    _grow_customer_rows(store, shopper, variant, 1)
    one, count = _queries(customer_client, url, django_assert_max_num_queries, limit)
    assert count >= 1
    _grow_customer_rows(store, shopper, variant, 7)
    many, count = _queries(customer_client, url, django_assert_max_num_queries, limit)
    assert count >= 8
    assert many == one


def _grow_catalog(store, n):
    size = AttributeFactory(store=store, name="Rozmiar")
    values = [AttributeValueFactory(attribute=size, value=v) for v in ("S", "M", "L")]
    for _ in range(n):
        product = ProductFactory(store=store)
        for value in values:
            VariantFactory(product=product, attribute_values=[value])


@pytest.mark.parametrize(
    ("url", "limit"),
    [
        ("/api/v1/manage/products/", 6),
        ("/api/v1/manage/products/?search=Produkt&published=true", 6),
        ("/api/v1/manage/variants/", 5),
    ],
)
def test_merchant_catalog_list_query_counts_are_constant(url, limit, store, django_assert_max_num_queries):
    client = merchant(store)
    _grow_catalog(store, 1)
    one, count = _queries(client, url, django_assert_max_num_queries, limit)
    assert count >= 1
    _grow_catalog(store, 7)
    many, count = _queries(client, url, django_assert_max_num_queries, limit)
    assert count >= 8
    assert many == one

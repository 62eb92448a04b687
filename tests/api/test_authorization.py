"""Who may call what, for every endpoint: anonymous, customer, merchant key with and without the
endpoint's scope, and a key of another store."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from shop.api import keys
from shop.api.models import Scope
from tests.api.conftest import OTHER_HOST, error_of, merchant
from tests.orders.factories_after_sales import make_order

pytestmark = pytest.mark.django_db

# (method, path template, who: public | customer | scope)
MERCHANT = [
    ("get", "/api/v1/manage/products/", Scope.CATALOG_READ),
    ("post", "/api/v1/manage/products/", Scope.CATALOG_WRITE),
    ("get", "/api/v1/manage/products/{product}/", Scope.CATALOG_READ),
    ("patch", "/api/v1/manage/products/{product}/", Scope.CATALOG_WRITE),
    ("delete", "/api/v1/manage/products/{product}/", Scope.CATALOG_WRITE),
    ("get", "/api/v1/manage/variants/", Scope.CATALOG_READ),
    ("post", "/api/v1/manage/variants/", Scope.CATALOG_WRITE),
    ("get", "/api/v1/manage/variants/{variant}/", Scope.CATALOG_READ),
    ("patch", "/api/v1/manage/variants/{variant}/", Scope.CATALOG_WRITE),
    ("delete", "/api/v1/manage/variants/{variant}/", Scope.CATALOG_WRITE),
    ("post", "/api/v1/stock/bulk/", Scope.STOCK_WRITE),
    ("post", "/api/v1/prices/bulk/", Scope.CATALOG_WRITE),
    ("get", "/api/v1/manage/orders/", Scope.ORDERS_READ),
    ("get", "/api/v1/manage/orders/{order}/", Scope.ORDERS_READ),
    ("post", "/api/v1/manage/orders/{order}/status/", Scope.ORDERS_WRITE),
    ("get", "/api/v1/recovery/campaigns/", Scope.RECOVERY_READ),
    ("get", "/api/v1/recovery/stats/", Scope.RECOVERY_READ),
    ("get", "/api/v1/recovery/lost-messages/", Scope.RECOVERY_READ),
    ("post", "/api/v1/recovery/lost-messages/1/resend/", Scope.RECOVERY_WRITE),
    ("post", "/api/v1/recovery/lost-messages/1/write-off/", Scope.RECOVERY_WRITE),
    ("get", "/api/v1/reports/sales/", Scope.REPORTS_READ),
]
CUSTOMER = [
    ("get", "/api/v1/me/"),
    ("get", "/api/v1/me/orders/"),
    ("get", "/api/v1/me/orders/{order_number}/"),
    ("get", "/api/v1/me/addresses/"),
    ("post", "/api/v1/me/addresses/"),
    ("patch", "/api/v1/me/addresses/1/"),
    ("delete", "/api/v1/me/addresses/1/"),
    ("get", "/api/v1/me/downloads/"),
    ("get", "/api/v1/me/returns/"),
    ("post", "/api/v1/me/returns/"),
    ("delete", "/api/v1/auth/token/current/"),
]
PUBLIC = [
    ("get", "/api/v1/"),
    ("get", "/api/v1/products/"),
    ("get", "/api/v1/products/{product}/"),
    ("get", "/api/v1/categories/"),
    ("get", "/api/v1/groups/"),
    ("post", "/api/v1/carts/"),
    ("get", "/api/v1/carts/{cart}/"),
    ("patch", "/api/v1/carts/{cart}/"),
    ("post", "/api/v1/carts/{cart}/lines/"),
    ("get", "/api/v1/carts/{cart}/shipping-methods/"),
    ("post", "/api/v1/carts/{cart}/voucher/"),
    ("delete", "/api/v1/carts/{cart}/voucher/"),
    ("post", "/api/v1/carts/{cart}/checkout/"),
    ("post", "/api/v1/auth/token/"),
]


@pytest.fixture
def objects(store, variant, shopper):
    from orders import services

    order = make_order(store=store, user=shopper, lines=[(variant, 1)])
    cart = services.get_or_create_cart(store=store)
    return {
        "product": variant.product_id,
        "variant": variant.pk,
        "order": order.pk,
        "order_number": order.number,
        "cart": cart.token,
    }


def call(client, method, template, objects):
    return getattr(client, method)(template.format(**objects), {}, format="json")


@pytest.mark.parametrize(("method", "template", "scope"), MERCHANT)
def test_merchant_endpoints(method, template, scope, store, other_store, objects, customer_client):
    anonymous = call(APIClient(), method, template, objects)
    assert anonymous.status_code == 401, anonymous.content
    assert error_of(anonymous)["code"] == "not_authenticated"
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert call(customer_client, method, template, objects).status_code == 403
    others = [s for s in Scope.values if s != scope]
    lacking = call(merchant(store, others), method, template, objects)
    assert lacking.status_code == 403
    assert error_of(lacking)["code"] == "permission_denied"
    allowed = call(merchant(store, [scope]), method, template, objects)
    assert allowed.status_code not in (401, 403), allowed.content
    # A key of another store is unknown here...
    foreign = call(merchant(other_store, list(Scope.values)), method, template, objects)
    assert foreign.status_code == 401
    # ...and on its own host it sees nothing of this store.
    own_host = call(merchant(other_store, list(Scope.values), host=OTHER_HOST), method, template, objects)
    assert own_host.status_code in (200, 201, 204, 400, 404, 422), own_host.content
    if own_host.status_code == 200 and "results" in own_host.json():
        assert own_host.json()["results"] == [] or all(
            r.get("id") not in (objects["product"], objects["order"]) for r in own_host.json()["results"]
        )


@pytest.mark.parametrize(("method", "template"), CUSTOMER)
def test_customer_endpoints(method, template, store, objects, customer_client):
    anonymous = call(APIClient(), method, template, objects)
    assert anonymous.status_code in (401, 403)
    key = call(merchant(store), method, template, objects)
    assert key.status_code == 403
    ok = call(customer_client, method, template, objects)
    assert ok.status_code not in (401, 403), ok.content


@pytest.mark.parametrize(("method", "template"), PUBLIC)
def test_public_endpoints(method, template, store, objects):
    r = call(APIClient(), method, template, objects)
    assert r.status_code not in (401, 403, 404, 500), r.content


def test_invalid_and_revoked_credentials(store, objects):
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION="Bearer ksk_nope_nope")
    assert c.get("/api/v1/products/").status_code == 401
    c.credentials(HTTP_AUTHORIZATION="Bearer something-else")
    assert c.get("/api/v1/products/").status_code == 401
    key, raw = keys.create_api_key(store=store, name="x", scopes=[Scope.ORDERS_READ])
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert c.get("/api/v1/manage/orders/").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert raw not in str(key.__dict__)  # only a hash is stored
    keys.revoke_api_key(api_key=key)
    assert c.get("/api/v1/manage/orders/").status_code == 401


def test_customer_sees_only_own_orders(store, shopper, customer_client, variant):
    from tests.shop.factories import UserFactory

    mine = make_order(store=store, user=shopper, lines=[(variant, 1)])
    theirs = make_order(store=store, user=UserFactory(), lines=[(variant, 1)])
    r = customer_client.get("/api/v1/me/orders/")
    assert [o["number"] for o in r.json()["results"]] == [mine.number]
    assert customer_client.get(f"/api/v1/me/orders/{theirs.number}/").status_code == 404
    assert customer_client.get(f"/api/v1/me/orders/{mine.number}/").status_code == 200


def test_customer_token_is_per_store(store, other_store, shopper):
    _, raw = keys.create_customer_token(store=store, user=shopper)
    c = APIClient(SERVER_NAME=OTHER_HOST)
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert c.get("/api/v1/me/").status_code == 401

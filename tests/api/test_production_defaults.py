"""With the test gateway off (the production default), the API neither lists nor accepts it."""

import pytest

from tests.api.conftest import ADDRESS, error_of

pytestmark = pytest.mark.django_db


def test_api_carts_do_not_offer_or_accept_the_test_gateway_while_it_is_off(
    client, variant, methods, settings
):
    settings.TEST_GATEWAY_ENABLED = False
    token = client.post("/api/v1/carts/").json()["token"]
    client.post(f"/api/v1/carts/{token}/lines/", {"variant_id": variant.pk, "quantity": 1})
    patch = {"email": "anna@example.com", "shipping_method": methods["shipping"].pk, "answers": ADDRESS}
    assert client.patch(f"/api/v1/carts/{token}/", patch).status_code == 200
    offered = client.get(f"/api/v1/carts/{token}/shipping-methods/").json()["payment_methods"]
    assert [m["id"] for m in offered] == [methods["transfer"].pk]
    refused = client.patch(f"/api/v1/carts/{token}/", {"payment_method": methods["online"].pk})
    assert refused.status_code == 400
    assert "payment_method" in error_of(refused)["fields"]
    accepted = client.patch(f"/api/v1/carts/{token}/", {"payment_method": methods["transfer"].pk})
    assert accepted.status_code == 200

    settings.TEST_GATEWAY_ENABLED = True
    offered = client.get(f"/api/v1/carts/{token}/shipping-methods/").json()["payment_methods"]
    assert {m["id"] for m in offered} == {methods["transfer"].pk, methods["online"].pk}

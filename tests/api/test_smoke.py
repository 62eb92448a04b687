from tests.api.conftest import error_of


def test_products_list_and_detail(client, variant):
    r = client.get("/api/v1/products/")
    assert r.status_code == 200, r.content
    assert r.json()["count"] == 1
    r = client.get(f"/api/v1/products/{variant.product_id}/")
    assert r.status_code == 200, r.content
    assert r.json()["variants"][0]["price"]["gross"] == "100.00"


def test_unknown_path(client, store):
    r = client.get("/api/v1/nope/")
    assert r.status_code == 404
    assert error_of(r)["code"] == "not_found"

"""Allegro client: the media type, Allegro's error lists (hostile ones too), bodies that are not
JSON or too big, 5xx retried, and the token never sent to another host."""

from __future__ import annotations

import json

import httpx
import pytest

from integrations.channels.allegro import client as allegro_client
from integrations.channels.allegro.client import (
    AllegroAPIError,
    AllegroClient,
    AllegroMalformedResponse,
    decode_json,
    parse_errors,
)
from tests.fakes.allegro import FakeAllegro
from tests.fakes.http_server import FakeResponse

from .factories_allegro import allegro_config, fast_allegro  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_allegro")


@pytest.fixture
def fake_allegro():
    with FakeAllegro() as fake:
        yield fake


def response(body: bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(
        status, content=body, request=httpx.Request("GET", "https://api.allegro.pl/x?secret=1")
    )


@pytest.mark.parametrize(
    "data",
    [
        None,
        "text",
        [],
        {"errors": "nope"},
        {"errors": [1, None, "x"]},
        {"errors": [{"code": None, "message": {"deep": True}}]},
        {"error": "", "error_description": "x"},
    ],
)
def test_hostile_error_bodies_never_crash(data):
    items = parse_errors(data)
    assert all(isinstance(i.text(), str) for i in items)


def test_error_list_is_capped_and_cut():
    items = parse_errors({"errors": [{"code": "C" * 1000, "message": "m" * 5000, "path": "p"}] * 500})
    assert len(items) == 100
    assert len(items[0].code) == 200 and len(items[0].message) == 1000
    assert items[0].text().startswith("p: ")
    error = AllegroAPIError(422, items[:2], url="/sale/product-offers")
    assert "HTTP 422" in str(error) and "/sale/product-offers" in str(error)


def test_bodies_that_are_not_json_or_too_big(monkeypatch):
    with pytest.raises(AllegroMalformedResponse, match="not valid JSON") as caught:
        decode_json(response(b"<html>502</html>"))
    assert "secret" not in str(caught.value)  # the query string never reaches a message
    with pytest.raises(AllegroMalformedResponse):
        decode_json(response(b"\xff\xfe{"))
    assert decode_json(response(b"  ")) == {}
    monkeypatch.setattr(allegro_client, "MAX_BODY_BYTES", 10)
    with pytest.raises(AllegroMalformedResponse, match="larger than"):
        decode_json(response(b'{"a": "0123456789"}'))


@pytest.mark.django_db
def test_media_type_both_ways_and_5xx_retried(store, fake_allegro):
    config = allegro_config(store, fake_allegro)
    fake_allegro.fail_next("/me", FakeResponse(503, b"busy"))
    with AllegroClient(config) as api:
        assert api.get("/me")["login"] == fake_allegro.seller_login
        answer = api.put("/order/checkout-forms/none/fulfillment", {"status": "SENT"}, ok=(200, 204, 404))
    assert answer.status == 404
    calls = fake_allegro.calls("GET", "/me")
    assert len(calls) == 2
    assert calls[-1].headers["accept"] == allegro_client.MEDIA_TYPE
    put = fake_allegro.calls("PUT", "/fulfillment")[0]
    assert put.headers["content-type"] == allegro_client.MEDIA_TYPE
    assert json.loads(put.body) == {"status": "SENT"}


@pytest.mark.django_db
def test_4xx_keeps_allegros_messages(store, fake_allegro):
    config = allegro_config(store, fake_allegro)
    with AllegroClient(config) as api, pytest.raises(AllegroAPIError) as caught:
        api.get("/order/checkout-forms/unknown")
    assert caught.value.status == 404
    assert "Checkout form not found" in str(caught.value)
    assert caught.value.codes == {"NotFoundException"}

"""Fixtures of the orders tests."""

from __future__ import annotations

import httpx
import pytest
from django.test import Client

from orders.payments import test_gateway


class DjangoClientTransport(httpx.BaseTransport):
    """Routes the test gateway's webhook POSTs into Django's test client (no network)."""

    def __init__(self):
        self.client = Client()
        self.calls: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-")}
        response = self.client.generic(
            request.method,
            request.url.raw_path.decode(),
            data=request.content,
            content_type=request.headers.get("content-type", "application/json"),
            headers=headers,
        )
        self.calls.append(response.status_code)
        return httpx.Response(response.status_code, content=response.content)


@pytest.fixture
def gateway_transport(monkeypatch):
    transport = DjangoClientTransport()
    monkeypatch.setattr(test_gateway, "transport", transport)
    return transport


@pytest.fixture
def en():
    """Service messages in English (the msgids) for the assertions of this module."""
    from django.utils import translation

    with translation.override("en"):
        yield

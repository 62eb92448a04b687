"""The gateway account form in the admin: secrets write-only and encrypted, fields required per
gateway, the BLIK switch kept, bad input refused with a message."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from orders.models import GatewayAccount

pytestmark = pytest.mark.django_db

ADD = "admin:orders_gatewayaccount_add"


@pytest.fixture
def admin(admin_client):
    admin_client.cookies["django_language"] = "en"
    return admin_client


def p24_data(store, **overrides):
    data = {
        "store": store.pk,
        "provider": "przelewy24",
        "is_sandbox": "on",
        "is_active": "on",
        "merchant_id": "123456",
        "pos_id": "123456",
        "api_key": "klucz-api-abcdef123456",
        "crc": "crc-9876543210",
        "blik": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_a_przelewy24_account_is_saved_with_encrypted_secrets_and_blik(admin, store):
    response = admin.post(reverse(ADD), p24_data(store))
    assert response.status_code == 302
    account = GatewayAccount.objects.get()
    assert account.config == {"merchant_id": "123456", "pos_id": "123456", "blik": True}
    assert account.secrets()["api_key"] == "klucz-api-abcdef123456"
    assert "klucz-api" not in account.secrets_encrypted

    page = admin.get(reverse("admin:orders_gatewayaccount_change", args=[account.pk])).content.decode()
    assert "klucz-api-abcdef123456" not in page and "3456" in page  # masked, never shown back
    checkbox = re.search(r'<input[^>]*name="blik"[^>]*>', page).group(0)
    assert "checked" in checkbox


def test_saving_without_retyping_secrets_keeps_them_and_blik_can_be_switched_off(admin, store):
    admin.post(reverse(ADD), p24_data(store))
    account = GatewayAccount.objects.get()
    url = reverse("admin:orders_gatewayaccount_change", args=[account.pk])
    response = admin.post(url, p24_data(store, api_key="", crc="", blik=None))
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.secrets()["crc"] == "crc-9876543210" and account.config["blik"] is False


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"merchant_id": "12ab"}, "merchant_id", "Przelewy24 ids are numbers."),
        ({"merchant_id": ""}, "merchant_id", "Required for this gateway."),
        ({"crc": ""}, "crc", "Required for this gateway."),
        ({"merchant_id": "<script>alert(1)</script>"}, "merchant_id", "Przelewy24 ids are numbers."),
    ],
)
def test_bad_or_missing_fields_are_refused_with_a_message(admin, store, overrides, field, message):
    response = admin.post(reverse(ADD), p24_data(store, **overrides))
    assert response.status_code == 200
    assert message in response.context["adminform"].form.errors[field][0]
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert not GatewayAccount.objects.exists()


def test_payu_needs_its_own_fields_and_ignores_blik(admin, store):
    data = {
        "store": store.pk,
        "provider": "payu",
        "is_active": "on",
        "pos_id": "300746",
        "client_id": "300746",
        "client_secret": "sekret-klienta",
        "second_key": "drugi-klucz",
        "blik": "on",
    }
    assert admin.post(reverse(ADD), data).status_code == 302
    account = GatewayAccount.objects.get()
    assert account.config == {"pos_id": "300746", "client_id": "300746"}
    assert account.secrets()["second_key"] == "drugi-klucz"

"""Google Merchant API against its fake: the service-account JWT (checked against the public
key), the cached OAuth token, productInputs:insert per changed product, per-item errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import jwt
import pytest
from django.core.exceptions import ValidationError

from integrations import services as framework
from integrations.channels.google_merchant import availability_for, signed_jwt
from integrations.channels.models import ChannelListing
from integrations.models import SyncRun, SyncRunError
from tests.catalog.factories import VariantFactory
from tests.fakes.google_merchant import FakeGoogleMerchant, make_service_account, verify_jwt
from tests.fakes.http_server import FakeResponse

from .factories import channel_config

pytestmark = pytest.mark.django_db


@pytest.fixture
def google(fast_http):
    with FakeGoogleMerchant() as fake:
        yield fake


def g_config(store, fake, *, key=None, **options):
    values = {
        "api_url": fake.url,
        "token_url": fake.token_url,
        "account_id": fake.account_id,
        "data_source_id": fake.data_source_id,
        "list_all_variants": True,
        **options,
    }
    key = json.dumps(fake.service_account) if key is None else key
    return channel_config(store, "google_merchant", secrets={"service_account_json": key}, **values)


def run(config):
    return framework.run_connector(config_id=config.pk, direction="push", trigger="command")


def test_jwt_is_signed_with_the_service_account_key():
    info, public_key = make_service_account()
    token = signed_jwt(
        client_email=info["client_email"],
        private_key_pem=info["private_key"],
        audience="https://oauth2.googleapis.com/token",
        now=1_700_000_000,
    )
    claims = verify_jwt(token, public_key)
    assert claims == {
        "iss": info["client_email"],
        "scope": "https://www.googleapis.com/auth/content",
        "aud": "https://oauth2.googleapis.com/token",
        "iat": 1_700_000_000,
        "exp": 1_700_003_600,
    }
    _other, other_key = make_service_account()
    with pytest.raises(ValueError, match="signature"):
        verify_jwt(token, other_key)


def test_jwt_claims_come_from_the_frozen_clock_and_verify_with_pyjwt(time_machine):
    time_machine.move_to(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), tick=False)
    info, public_key = make_service_account()
    token = signed_jwt(
        client_email=info["client_email"],
        private_key_pem=info["private_key"],
        audience="https://oauth2.googleapis.com/token",
        key_id=info["private_key_id"],
    )
    issued = int(datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp())
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT", "kid": info["private_key_id"]}
    claims = jwt.decode(
        token,
        public_key,
        algorithms=["RS256"],
        audience="https://oauth2.googleapis.com/token",
        issuer=info["client_email"],
        options={"require": ["iss", "aud", "iat", "exp"]},
    )
    assert claims == {
        "iss": info["client_email"],
        "scope": "https://www.googleapis.com/auth/content",
        "aud": "https://oauth2.googleapis.com/token",
        "iat": issued,
        "exp": issued + 3600,
    }
    # An hour and a second later the assertion has expired; another key never verifies it.
    time_machine.move_to(datetime(2026, 3, 1, 13, 0, 1, tzinfo=UTC), tick=False)
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(token, public_key, algorithms=["RS256"], audience="https://oauth2.googleapis.com/token")
    _other, other_key = make_service_account()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, other_key, algorithms=["RS256"], options={"verify_exp": False, "verify_aud": False})


def test_a_key_that_is_not_rsa_is_refused():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    with pytest.raises(ValidationError, match="not an RSA key"):
        signed_jwt(client_email="x@y", private_key_pem=pem, audience="https://oauth2.googleapis.com/token")


def test_price_and_availability_are_pushed_per_product(store, google):
    VariantFactory(store=store, sku="KUB-1", stock=3, price=Decimal("19.99"))
    VariantFactory(store=store, sku="KUB-2", stock=0, price=Decimal("5.00"))
    result = run(g_config(store, google))
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    first = google.products["KUB-1"]
    assert first["contentLanguage"] == "pl" and first["feedLabel"] == "PL"
    assert first["productAttributes"] == {
        "price": {"amountMicros": "19990000", "currencyCode": "PLN"},
        "availability": "IN_STOCK",
    }
    assert google.products["KUB-2"]["productAttributes"]["availability"] == "OUT_OF_STOCK"
    assert google.token_requests == 1
    assert all(x.status == ChannelListing.Status.ACTIVE for x in ChannelListing.objects.all())


def test_token_is_cached_and_renewed_after_a_401(store, google):
    v = VariantFactory(store=store, sku="KUB-1", stock=3)
    config = g_config(store, google)
    run(config)
    google.expire_tokens()
    type(v).objects.filter(pk=v.pk).update(price=Decimal("42.00"))
    assert run(config).status == SyncRun.Status.SUCCEEDED
    assert google.token_requests == 2
    assert google.products["KUB-1"]["productAttributes"]["price"]["amountMicros"] == "42000000"


def test_refused_products_fail_alone(store, google):
    VariantFactory(store=store, sku="KUB-1", stock=3)
    VariantFactory(store=store, sku="GONE", stock=3)
    google.reject_offers = {"GONE"}
    result = run(g_config(store, google))
    assert result.updated == 1 and result.failed == 1
    failed = ChannelListing.objects.get(variant__sku="GONE")
    assert "not in the primary data source" in failed.error and failed.push_due
    assert SyncRunError.objects.get(run=result).key == "GONE"


@pytest.mark.parametrize(
    "key, fragment",
    [
        ("not json", "not valid JSON"),
        ('{"client_email": "x@y"}', "private_key"),
        ('{"client_email": "x@y", "private_key": "-----BEGIN nonsense"}', "cannot be read"),
    ],
)
def test_broken_service_account_keys_are_explained(store, google, key, fragment):
    VariantFactory(store=store, sku="KUB-1", stock=3)
    result = run(g_config(store, google, key=key))
    assert result.status == SyncRun.Status.FAILED and fragment in result.error
    assert ChannelListing.objects.get().push_due


def test_a_key_google_does_not_know_is_refused(store, google):
    other, _public = make_service_account("intruz@evil.iam.gserviceaccount.com")
    VariantFactory(store=store, sku="KUB-1", stock=3)
    result = run(g_config(store, google, key=json.dumps(other)))
    assert result.status == SyncRun.Status.FAILED and "refused the service account" in result.error


def test_connection_test_reads_the_data_source(store, google):
    assert "ceny i dostępność" in framework.connector_for(g_config(store, google)).test_connection()
    wrong = g_config(store, google, name="wrong", data_source_id="999")
    with pytest.raises(Exception, match="HTTP 404"):
        framework.connector_for(wrong).test_connection()


def test_429_is_retried_and_persistent_5xx_fails(store, google):
    VariantFactory(store=store, sku="KUB-1", stock=3)
    config = g_config(store, google)
    framework.connector_for(config).access_token()
    google.script = [FakeResponse(429, b"", {"Retry-After": "0"})]
    assert run(config).status == SyncRun.Status.SUCCEEDED
    ChannelListing.objects.update(push_due=True, last_pushed_price=None)
    google.script = [FakeResponse(500, b"")] * 5
    result = run(config)
    assert result.status == SyncRun.Status.FAILED and ChannelListing.objects.get().push_due


def test_malformed_answer_is_a_per_item_error(store, google):
    VariantFactory(store=store, sku="KUB-1", stock=3)
    config = g_config(store, google)
    framework.connector_for(config).access_token()
    google.script = [FakeResponse(200, b"<html>")]
    result = run(config)
    assert result.failed == 1 and "not JSON" in ChannelListing.objects.get().error


@pytest.mark.parametrize(
    "field, value", [("account_id", "abc"), ("data_source_id", ""), ("content_language", "pol")]
)
def test_settings_are_validated(store, google, field, value):
    with pytest.raises(ValidationError) as exc:
        g_config(store, google, **{field: value})
    assert field in exc.value.message_dict


def test_availability_values():
    assert availability_for(0, is_preorder=True, backorder=False) == "PREORDER"
    assert availability_for(5, is_preorder=False, backorder=False) == "IN_STOCK"
    assert availability_for(0, is_preorder=False, backorder=True) == "BACKORDER"
    assert availability_for(0, is_preorder=False, backorder=False) == "OUT_OF_STOCK"

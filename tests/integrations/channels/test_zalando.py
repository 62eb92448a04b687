"""Zalando zDirect against its fake: client-credentials token (cached, renewed on 401), stock and
prices per EAN and sales channel, per-item refusals, asynchronous price validation, faults."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from integrations import services as framework
from integrations.channels.models import ChannelListing
from integrations.models import SyncRun, SyncRunError
from tests.catalog.factories import VariantFactory
from tests.fakes.http_server import FakeResponse
from tests.fakes.zalando import FakeZalando

from .factories import channel_config

pytestmark = pytest.mark.django_db

PLN_CHANNEL = "01924c48-49bb-40c2-9c32-ab582e6db6f4"
EUR_CHANNEL = "2b7a0b1e-0b7e-4b1a-9f6a-0c9ec0d2d3e4"


@pytest.fixture
def zalando(fast_http):
    with FakeZalando(channels={PLN_CHANNEL: "PLN", EUR_CHANNEL: "EUR"}) as fake:
        yield fake


def z_config(store, fake, *, secret="zal-secret", **options):
    values = {
        "api_url": fake.url,
        "merchant_id": fake.merchant_id,
        "client_id": fake.client_id,
        "sales_channels": [{"id": PLN_CHANNEL, "currency": "PLN"}],
        "list_all_variants": True,
        **options,
    }
    return channel_config(store, "zalando", secrets={"client_secret": secret}, **values)


def run(config):
    return framework.run_connector(config_id=config.pk, direction="push", trigger="command")


def test_stock_and_prices_go_per_ean_and_channel(store, zalando):
    VariantFactory(store=store, sku="BUT-42", ean="4063614512884", stock=5, price=Decimal("299.00"))
    VariantFactory(store=store, sku="BUT-43", ean="4063614512891", stock=0, price=Decimal("299.00"))
    config = z_config(
        store,
        zalando,
        sales_channels=[{"id": PLN_CHANNEL, "currency": "PLN"}, {"id": EUR_CHANNEL, "currency": "EUR"}],
    )
    result = run(config)
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    assert zalando.stock == {
        (PLN_CHANNEL, "4063614512884"): 5,
        (EUR_CHANNEL, "4063614512884"): 5,
        (PLN_CHANNEL, "4063614512891"): 0,
        (EUR_CHANNEL, "4063614512891"): 0,
    }
    # Prices only where the channel sells in the store's currency; no conversion.
    assert zalando.prices == {
        (PLN_CHANNEL, "4063614512884"): {"amount": 299.0, "currency": "PLN"},
        (PLN_CHANNEL, "4063614512891"): {"amount": 299.0, "currency": "PLN"},
    }
    listing = ChannelListing.objects.get(external_id="4063614512884")
    assert listing.status == ChannelListing.Status.PENDING  # Zalando validates prices later
    assert not listing.push_due and listing.last_pushed_price == Decimal("299.00")
    assert zalando.token_requests == 1


def test_token_is_cached_and_renewed_after_a_401(store, zalando):
    v = VariantFactory(store=store, sku="A", ean="4063614512884", stock=5)
    config = z_config(store, zalando)
    run(config)
    assert zalando.token_requests == 1
    zalando.expire_tokens()
    type(v).objects.filter(pk=v.pk).update(price=Decimal("12.00"))
    result = run(config)
    assert result.status == SyncRun.Status.SUCCEEDED and zalando.token_requests == 2


def test_variant_without_ean_is_reported(store, zalando):
    VariantFactory(store=store, sku="NO-EAN", ean="", stock=5)
    result = run(z_config(store, zalando))
    listing = ChannelListing.objects.get()
    assert "EAN" in listing.error and listing.push_due
    assert SyncRunError.objects.get(run=result).key == "NO-EAN"


def test_refused_items_stay_due_with_the_reason(store, zalando):
    VariantFactory(store=store, sku="A", ean="4063614512884", stock=5)
    VariantFactory(store=store, sku="B", ean="4063614512891", stock=5)
    zalando.unknown_eans = {"4063614512891"}
    result = run(z_config(store, zalando))
    assert result.updated == 1 and result.failed == 1
    failed = ChannelListing.objects.get(external_id="4063614512891")
    assert failed.push_due and "EAN not found" in failed.error


def test_rejected_price_fails_the_item(store, zalando):
    VariantFactory(store=store, sku="A", ean="4063614512884", stock=5, price=Decimal("0.00"))
    result = run(z_config(store, zalando))
    listing = ChannelListing.objects.get()
    assert result.failed == 1 and "INVALID_AMOUNT" in listing.error and listing.push_due


def test_wrong_secret_fails_clearly(store, zalando):
    VariantFactory(store=store, sku="A", ean="4063614512884", stock=5)
    config = z_config(store, zalando, secret="wrong")
    result = run(config)
    assert result.status == SyncRun.Status.FAILED and "client id or secret" in result.error
    assert ChannelListing.objects.get().push_due
    with pytest.raises(Exception, match="client id or secret"):
        framework.connector_for(config).test_connection()


def test_connection_test_gets_a_token(store, zalando):
    assert "m-123" in framework.connector_for(z_config(store, zalando)).test_connection()


@pytest.mark.parametrize(
    "response, fragment",
    [
        (FakeResponse(200, b"<html>"), "not JSON"),
        (FakeResponse(200, b'{"unexpected": true}'), "no items list"),
        (FakeResponse(429, b"", {"Retry-After": "0"}), "attempts"),
        (FakeResponse(503, b"down"), "attempts"),
        (FakeResponse(400, b'{"detail": "bad"}'), "HTTP 400"),
    ],
)
def test_faults_fail_the_run_and_lose_nothing(store, zalando, response, fragment):
    VariantFactory(store=store, sku="A", ean="4063614512884", stock=5)
    config = z_config(store, zalando)
    framework.connector_for(config).access_token()  # the token first, then the scripted answers
    zalando.script = [response] * 5
    result = run(config)
    assert result.status == SyncRun.Status.FAILED and fragment in result.error
    assert ChannelListing.objects.get().push_due
    zalando.script = []
    assert run(config).status == SyncRun.Status.SUCCEEDED


def test_429_then_success_is_retried(store, zalando):
    VariantFactory(store=store, sku="A", ean="4063614512884", stock=5)
    config = z_config(store, zalando)
    framework.connector_for(config).access_token()
    zalando.script = [FakeResponse(429, b"", {"Retry-After": "0"})]
    assert run(config).status == SyncRun.Status.SUCCEEDED
    assert zalando.stock[(PLN_CHANNEL, "4063614512884")] == 5


@pytest.mark.parametrize(
    "channels",
    [[], "x", [{"id": ""}], [{"id": "a", "currency": "PLNX"}], [1, 2]],
)
def test_sales_channels_are_validated(store, zalando, channels):
    with pytest.raises(ValidationError) as exc:
        z_config(store, zalando, sales_channels=channels)
    assert "sales_channels" in exc.value.message_dict


def test_batches_respect_the_item_limit_across_channels(store, zalando):
    config = z_config(
        store,
        zalando,
        sales_channels=[{"id": PLN_CHANNEL, "currency": "PLN"}, {"id": EUR_CHANNEL, "currency": "EUR"}],
        batch_size=3,
    )
    connector = framework.connector_for(config)
    assert connector.batch_size == 3
    config.settings["batch_size"] = 1000
    assert framework.connector_for(config).batch_size == 500

"""Connector framework: registry, typed schema validation, encrypted secrets, profiles, pricing,
encoding detection."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from integrations.connectors import (
    Capability,
    ConfigField,
    Connector,
    get_connector_class,
    register,
    registered,
)
from integrations.models import ConnectorConfig
from integrations.wholesalers import encoding
from integrations.wholesalers.pricing import PriceRules, round_up_99, shop_price
from integrations.wholesalers.profile import Profile, builtin_profiles, load_profile
from shop import crypto

from .conftest import make_config


def test_wholesaler_connector_is_registered_with_capabilities():
    cls = get_connector_class("wholesaler_feed")
    assert {Capability.PRODUCT_SOURCE, Capability.STOCK_PRICE_SOURCE, Capability.ORDER_SINK} == set(
        cls.capabilities
    )
    assert cls.directions() == ["full", "stock"]
    with pytest.raises(LookupError):
        get_connector_class("nope")


def test_register_a_new_connector():
    @register
    class Exporter(Connector):
        type = "test_exporter"
        label = "Test"
        capabilities = frozenset({Capability.FEED_EXPORTER, Capability.STOCK_PRICE_SINK})
        config_schema = (
            ConfigField("token", "Token", secret=True),
            ConfigField("limit", "Limit", "int", default=5),
        )

    try:
        assert registered()["test_exporter"] is Exporter
        assert Exporter.directions() == ["push", "export"]
        settings_out, secrets = Exporter.clean_settings({"token": "abc", "limit": "7"})
        assert settings_out == {"limit": 7} and secrets == {"token": "abc"}
    finally:
        from integrations.connectors import base

        base._registry.pop("test_exporter")


def test_schema_validation_reports_every_field():
    cls = get_connector_class("wholesaler_feed")
    with pytest.raises(ValidationError) as exc:
        cls.clean_settings(
            {
                "profile": "no-such",
                "markup_percent": "abc",
                "source_urls": '{"full": "ftp://x"}',
                "dropship": True,
                "order_method": "email",
            }
        )
    errors = exc.value.message_dict
    assert {"profile", "markup_percent"} <= set(errors)


def test_cross_field_validation():
    cls = get_connector_class("wholesaler_feed")
    with pytest.raises(ValidationError) as exc:
        cls.clean_settings(
            {
                "profile": "idosell-iof",
                "source_urls": {"nope": "https://x.example/f.xml"},
                "dropship": True,
                "order_method": "http",
            }
        )
    assert set(exc.value.message_dict) == {"source_urls", "order_api_url"}


def test_typed_options_are_decimals_and_bools():
    cls = get_connector_class("wholesaler_feed")
    settings_out, _ = cls.clean_settings(
        {"profile": "generic-csv", "markup_percent": "12,5", "round_99": "on"}
    )
    typed = cls.typed_options(settings_out)
    assert typed["markup_percent"] == Decimal("12.5") and typed["round_99"] is True


@pytest.mark.django_db
def test_secrets_are_encrypted_at_rest_and_kept_when_blank(store):
    from integrations import services

    config = make_config(store, password="tajne-haslo-1234", api_token="tok-xyz-5678")
    raw = ConnectorConfig.objects.filter(pk=config.pk).values_list("secrets_encrypted", flat=True).get()
    assert "tajne" not in raw and "tok-xyz" not in raw
    assert "tajne" not in str(ConnectorConfig.objects.filter(pk=config.pk).values().get())
    assert config.secrets == {"password": "tajne-haslo-1234", "api_token": "tok-xyz-5678"}
    assert config.masked_secrets()["password"] == "••••1234"
    # Saving again without the secrets keeps them; clearing removes one.
    services.save_config(
        config=config, raw_settings={**config.settings, "password": ""}, clear_secrets=("api_token",)
    )
    config.refresh_from_db()
    assert config.secrets == {"password": "tajne-haslo-1234"}


def test_crypto_roundtrip_rotation_and_wrong_key(settings):
    settings.INTEGRATIONS_ENCRYPTION_KEY = "old-passphrase"
    token = crypto.encrypt_secrets({"password": "p"}, purpose="integrations")
    settings.INTEGRATIONS_ENCRYPTION_KEY = "new-passphrase,old-passphrase"
    assert crypto.decrypt_secrets(token, purpose="integrations") == {"password": "p"}
    settings.INTEGRATIONS_ENCRYPTION_KEY = "new-passphrase"
    with pytest.raises(crypto.SecretsUnreadable):
        crypto.decrypt_secrets(token, purpose="integrations")
    settings.INTEGRATIONS_ENCRYPTION_KEY = ""
    assert crypto.decrypt_secrets(
        crypto.encrypt_secrets({"a": "b"}, purpose="integrations"), purpose="integrations"
    ) == {"a": "b"}
    assert crypto.encrypt_secrets({}, purpose="integrations") == ""
    assert crypto.mask("short") == "••••" and crypto.mask("") == ""


def test_every_builtin_profile_is_valid():
    profiles = builtin_profiles()
    assert {"idosell-iof", "generic-csv", "ptak-csv", "tim-xml"} <= set(profiles)
    for slug in profiles:
        assert load_profile(slug=slug).sources


def test_invalid_profile_lists_its_problems():
    with pytest.raises(ValidationError) as exc:
        Profile.from_dict(
            {
                "sources": {
                    "a": {"format": "xml", "record": "p", "fields": {"sku": "@id", "bogus": "x"}},
                    "b": {"format": "csv", "fields": {"price_gross": "p"}},
                    "c": {"format": "xml", "record": "p", "fields": {"sku": "((("}},
                },
                "directions": {"full": ["b", "a"], "weird": ["a"]},
            }
        )
    text = " ".join(exc.value.messages)
    assert "unknown field bogus" in text and "Unknown direction weird" in text
    assert "must map name, sku" in text and "not a valid XPath" in text


@pytest.mark.parametrize(
    ("rules", "cost", "feed", "expected"),
    [
        (PriceRules(markup_percent=Decimal(30)), Decimal("70"), None, Decimal("111.93")),
        (PriceRules(markup_percent=Decimal(30), round_99=True), Decimal("70"), None, Decimal("111.99")),
        (PriceRules(markup_fixed=Decimal(10)), Decimal("10"), None, Decimal("24.60")),
        (PriceRules(source="feed"), Decimal("70"), Decimal("149.00"), Decimal("149.00")),
        (
            PriceRules(source="feed", min_margin_percent=Decimal(25)),
            Decimal("100"),
            Decimal("120"),
            Decimal("153.75"),
        ),
        (PriceRules(default_vat="8", markup_percent=Decimal(0)), Decimal("10"), None, Decimal("10.80")),
        (PriceRules(), None, None, None),
    ],
)
def test_price_rules(rules, cost, feed, expected):
    assert shop_price(rules=rules, vat=rules.default_vat, cost_net=cost, feed_gross=feed) == expected


def test_round_up_99():
    assert [round_up_99(Decimal(x)) for x in ("12.30", "12.99", "13.00", "0.50")] == [
        Decimal("12.99"),
        Decimal("12.99"),
        Decimal("13.99"),
        Decimal("0.99"),
    ]


POLISH = "Zażółć gęślą jaźń. Świeże źdźbła, Łódź, Śląsk, Ćma, Źrebię, Ąę. " * 20


@pytest.mark.parametrize("codec", ["windows-1250", "iso-8859-2", "utf-8"])
def test_encoding_detection_by_content(codec):
    assert encoding.detect(POLISH.encode(codec))[0] == codec


def test_encoding_bom_declaration_and_profile():
    assert encoding.detect(b"\xef\xbb\xbfsku;name")[0] == "utf-8-sig"
    xml = '<?xml version="1.0" encoding="ISO-8859-2"?><a>ąś</a>'.encode("iso-8859-2")
    assert encoding.detect(xml, xml=True) == ("iso-8859-2", "declaration")
    lying = '<?xml version="1.0" encoding="UTF-8"?><a>zażółć</a>'.encode("cp1250")
    enc, how = encoding.detect(lying, xml=True)
    assert enc == "windows-1250" and "declared UTF-8" in how
    assert encoding.detect(b"abc", configured="cp1250") == ("windows-1250", "profile")

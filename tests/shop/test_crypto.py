"""shop.crypto: one Fernet helper, a key per purpose, rotation, and values written by the code
before it (``shop/api/crypto.py`` for webhooks, the first ``shop/crypto.py``) still readable."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken

from shop import crypto

OLD_SECRET_KEY = "old-code-secret-key-for-the-test"
RAW_FERNET_KEY = "Yb7fHkfJ0gYQnq9J7cJr8cJtq5b7oY0r5J6s8T6mX1A="

# Produced by the code this module replaced (git 49c01ec), with the settings noted beside each.
OLD = {
    # shop/api/crypto.encrypt("whsec_old_secret"), no WEBHOOK_ENCRYPTION_KEY, SECRET_KEY above
    "webhook_secret_key": "gAAAAABrFyuGXC5xTt2vkL5EWosy282LOvG_5sbQJV7UO7xhX4llJ61t61qXt8tolJJRbsMZ9sRq5SQXdhD6NISiZkHPAlUR90M4B7qngUD5wcCR-LsNGmw=",
    # shop/crypto.encrypt_secrets({"api_key": "p24-key"}, purpose="payments"), SECRET_KEY above
    "payments_secret_key": "gAAAAABrFyuGOot3UFo0erzvxbss7Syv4DUi7LOSWsvUDZyGuGCb07Llm8q0jzYZzSxNGKAl2seIHjZ--Ap91le4f9AEPIVzCrDxOXSJXfxglMiwSZl_lzA=",
    # shop/crypto.encrypt_secrets({"password": "hurt"}, purpose="integrations"), SECRET_KEY above
    "integrations_secret_key": "gAAAAABrFyuGQBi7OaXCGi7zdIqKtmlnOUVBbBqX5zykizFAhD6HNAYFCs2_c-q5_HM5LuiYkws5Dl7SLWP7Spw_7_RVCZbAiiaJ5aMe7QLZRJH5dZI_Whg=",
    # shop/api/crypto.encrypt("whsec_old_secret"), WEBHOOK_ENCRYPTION_KEY="webhook passphrase"
    "webhook_passphrase": "gAAAAABrFyuG5B2tF2vmUIH759inUVcZlDkM2Oucqa0jtRL4h5QjswSU8vf75FakuNlEtUSG0PXa0g0RUBriIV7mqI1Y0UsJCtGTRepD_EszHsNGMCfxaFE=",
    # shop/crypto.encrypt_secrets({"token": "shipx"}, purpose="carriers"), INTEGRATIONS_ENCRYPTION_KEY=RAW_FERNET_KEY
    "carriers_rawkey": "gAAAAABrFyuGpubxIHFjFkHOj5VtGnIExenrN7gokhf5GuphgirjW-ueK6CpwRJiTM50kHwY6495EwZexuxtYogkSDEz9soZoe8XAROT-mjqw4CdjzlT_Sc=",
}


@pytest.fixture
def keys(settings):
    settings.SECRET_KEY = OLD_SECRET_KEY
    settings.SECRET_KEY_FALLBACKS = []
    settings.WEBHOOK_ENCRYPTION_KEY = ""
    settings.INTEGRATIONS_ENCRYPTION_KEY = ""
    return settings


def test_values_written_by_the_old_code_still_decrypt(keys):
    assert crypto.decrypt(OLD["webhook_secret_key"], purpose="webhooks") == "whsec_old_secret"
    assert crypto.decrypt_secrets(OLD["payments_secret_key"], purpose="payments") == {"api_key": "p24-key"}
    assert crypto.decrypt_secrets(OLD["integrations_secret_key"], purpose="integrations") == {
        "password": "hurt"
    }
    keys.WEBHOOK_ENCRYPTION_KEY = "webhook passphrase"
    keys.INTEGRATIONS_ENCRYPTION_KEY = RAW_FERNET_KEY
    assert crypto.decrypt(OLD["webhook_passphrase"], purpose="webhooks") == "whsec_old_secret"
    assert crypto.decrypt_secrets(OLD["carriers_rawkey"], purpose="carriers") == {"token": "shipx"}


def test_old_values_are_rotated_onto_the_per_purpose_key(keys):
    keys.INTEGRATIONS_ENCRYPTION_KEY = RAW_FERNET_KEY
    rotated = crypto.rotate(OLD["carriers_rawkey"], purpose="carriers")
    assert crypto.decrypt_secrets(rotated, purpose="carriers") == {"token": "shipx"}
    # The raw key no longer reads it: the new value is under the key derived for "carriers".
    with pytest.raises(InvalidToken):
        Fernet(RAW_FERNET_KEY.encode()).decrypt(rotated.encode())
    # ... and a value written now is not readable with the raw key either.
    fresh = crypto.encrypt("x", purpose="carriers")
    with pytest.raises(InvalidToken):
        Fernet(RAW_FERNET_KEY.encode()).decrypt(fresh.encode())


def test_one_purpose_cannot_read_another(keys):
    for setting in ("", RAW_FERNET_KEY, "one passphrase"):
        keys.INTEGRATIONS_ENCRYPTION_KEY = setting
        token = crypto.encrypt_secrets({"api_key": "k"}, purpose="payments")
        assert crypto.decrypt_secrets(token, purpose="payments") == {"api_key": "k"}
        with pytest.raises(crypto.SecretsUnreadable):
            crypto.decrypt_secrets(token, purpose="carriers")
        with pytest.raises(crypto.SecretsUnreadable):
            crypto.decrypt_secrets(token, purpose="integrations")


def test_rotation_encrypts_with_the_newest_and_reads_with_any(keys):
    keys.WEBHOOK_ENCRYPTION_KEY = "old-passphrase"
    token = crypto.encrypt("whsec_1", purpose="webhooks")
    keys.WEBHOOK_ENCRYPTION_KEY = "new-passphrase, old-passphrase"
    assert crypto.decrypt(token, purpose="webhooks") == "whsec_1"
    newer = crypto.encrypt("whsec_2", purpose="webhooks")
    keys.WEBHOOK_ENCRYPTION_KEY = "new-passphrase"
    assert crypto.decrypt(newer, purpose="webhooks") == "whsec_2"
    with pytest.raises(crypto.SecretsUnreadable):
        crypto.decrypt(token, purpose="webhooks")


def test_secret_key_fallbacks_keep_values_readable_after_rotating_secret_key(keys):
    token = crypto.encrypt("whsec_1", purpose="webhooks")
    keys.SECRET_KEY = "a brand new secret key"
    with pytest.raises(crypto.SecretsUnreadable):
        crypto.decrypt(token, purpose="webhooks")
    keys.SECRET_KEY_FALLBACKS = [OLD_SECRET_KEY]
    assert crypto.decrypt(token, purpose="webhooks") == "whsec_1"


@pytest.mark.parametrize(
    "token",
    ["", "not-a-token", "gAAAAA", "ż" * 10, OLD["payments_secret_key"][:-5] + "AAAA="],
)
def test_garbage_is_unreadable_not_a_crash(keys, token):
    with pytest.raises(crypto.SecretsUnreadable):
        crypto.decrypt(token, purpose="payments")


def test_a_token_that_is_not_a_json_object_is_unreadable_secrets(keys):
    with pytest.raises(crypto.SecretsUnreadable):
        crypto.decrypt_secrets(crypto.encrypt("[1, 2]", purpose="payments"), purpose="payments")
    assert crypto.decrypt_secrets("", purpose="payments") == {}
    assert crypto.encrypt_secrets({"empty": ""}, purpose="payments") == ""


def test_an_unknown_purpose_is_a_programming_error(keys):
    with pytest.raises(ValueError, match="unknown encryption purpose"):
        crypto.encrypt("x", purpose="paymnets")


def test_mask():
    assert crypto.mask("s3cr3t-1234") == "••••1234"
    assert crypto.mask("short") == "••••"
    assert crypto.mask("") == ""

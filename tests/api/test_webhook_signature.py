"""The verification snippet of docs/api.md (shop/api/webhook_verify.py, included verbatim)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from shop.api.webhook_verify import InvalidSignature, verify_signature
from shop.api.webhooks.signing import signature_header

SECRET = "whsec_test"
BODY = b'{"id":"evt_1","type":"order.paid"}'


def test_valid_signature():
    header = signature_header(body=BODY, secret=SECRET)
    assert abs(verify_signature(BODY, header, SECRET) - time.time()) < 5


@pytest.mark.parametrize(
    "header",
    ["", "t=abc,v1=00", "v1=00", "t=1", "garbage"],
)
def test_malformed_headers(header):
    with pytest.raises(InvalidSignature):
        verify_signature(BODY, header, SECRET)


def test_tampered_body_wrong_secret_and_replay():
    header = signature_header(body=BODY, secret=SECRET)
    with pytest.raises(InvalidSignature):
        verify_signature(BODY + b" ", header, SECRET)
    with pytest.raises(InvalidSignature):
        verify_signature(BODY, header, "whsec_other")
    old = signature_header(body=BODY, secret=SECRET, timestamp=int(time.time()) - 301)
    with pytest.raises(InvalidSignature, match="tolerance"):
        verify_signature(BODY, old, SECRET)
    assert verify_signature(BODY, old, SECRET, now=time.time() - 10)  # within tolerance of its time


def test_docs_include_the_module_verbatim():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    module = (Path(__file__).resolve().parents[2] / "shop" / "api" / "webhook_verify.py").read_text()
    assert module.strip() in doc

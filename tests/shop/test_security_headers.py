"""Content-Security-Policy with a per-request nonce, Permissions-Policy and the language cookie's
flags (shop/security_headers.py). The real-browser check that no page violates the policy is
tests/e2e/test_csp.py."""

from __future__ import annotations

import json
import logging
import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from orders.selectors import CART_SESSION_KEY
from tests.catalog.factories import ProductFactory, VariantFactory
from tests.integrations.marketing.factories import MarketingSettingsFactory
from tests.orders.factories import ShippingMethodFactory, ready_cart

# Script types a browser executes (CSP governs them); JSON data blocks are never executed.
JS_TYPES = {"", "text/javascript", "module", "application/javascript"}


class Scripts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts.append(dict(attrs))


def executable_scripts(html: str) -> list[dict]:
    parser = Scripts()
    parser.feed(html)
    return [s for s in parser.scripts if (s.get("type") or "").lower() in JS_TYPES]


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in header.split(";")) if d}


def nonce_of(response) -> str:
    (value,) = [s for s in policy(response)["script-src"] if s.startswith("'nonce-")]
    return value[len("'nonce-") : -1]


@pytest.fixture
def shop_with_everything(store, settings):
    """Custom JS, every marketing tag and the InPost map: every kind of script the shop renders."""
    store.custom_js = "window.shopCustom = 1;"
    store.save()
    MarketingSettingsFactory(store=store)
    settings.INPOST_GEOWIDGET_TOKEN = "geo-token-123"
    product = ProductFactory(store=store, name='Kubek <script>alert(1)</script>" onerror="x')
    return VariantFactory(product=product, stock=5)


@pytest.mark.django_db
def test_every_page_has_the_policy_with_a_fresh_nonce(client, store):
    first, second = client.get("/"), client.get("/")
    assert first.status_code == second.status_code == 200
    a, b = nonce_of(first), nonce_of(second)
    assert a != b and len(a) >= 22
    directives = policy(first)
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["report-uri"] == ["/csp-report/"]
    assert "Content-Security-Policy-Report-Only" not in first
    permissions = first["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        assert feature in permissions


@pytest.mark.django_db
def test_report_only_when_not_enforced(client, store, settings):
    settings.CSP_ENFORCE = False
    response = client.get("/")
    assert "Content-Security-Policy" not in response
    assert "'nonce-" in response["Content-Security-Policy-Report-Only"]


@pytest.mark.django_db
def test_storefront_pages_carry_the_nonce_on_every_script(client, store, shop_with_everything):
    variant = shop_with_everything
    locker = ShippingMethodFactory(store=store, code="paczkomat", kind="parcel_locker")
    cart = ready_cart(store, [(variant, 1)], shipping=locker, answers={"pickup_point": "KRA01M"})
    session = client.session
    session[CART_SESSION_KEY] = cart.token
    session.save()
    pages = [
        "/",
        variant.product.get_absolute_url(),
        reverse("orders:cart"),
        reverse("orders:checkout"),
        reverse("orders:checkout-delivery"),
        reverse("orders:checkout-summary"),
    ]
    sources = []
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        nonce = nonce_of(response)
        scripts = executable_scripts(html)
        assert scripts, url
        for script in scripts:
            assert script.get("nonce") == nonce, (url, script)
            sources.append(script.get("src") or "")
        assert f'<script nonce="{nonce}">window.shopCustom = 1;</script>' in html, url
        assert "onchange=" not in html and "<script>alert(1)" not in html, url
    assert "https://geowidget.inpost.pl/inpost-geowidget.js" in sources  # the delivery step's map
    assert any(src.endswith("consent.js") for src in sources)


@pytest.mark.django_db
def test_marketing_hosts_only_when_the_store_has_the_tags(client, store):
    plain = policy(client.get("/"))
    for host in ("googletagmanager", "facebook", "trustedshops", "doubleclick"):
        assert host not in " ".join(plain["script-src"] + plain["connect-src"])
    tags = MarketingSettingsFactory(store=store, google_ads_enabled=False, meta_pixel_enabled=False)
    tags.review_widget_enabled = False
    tags.save()
    from django.core.cache import cache

    cache.clear()
    ga_only = policy(client.get("/"))
    assert "https://www.googletagmanager.com" in ga_only["script-src"]
    assert "https://*.google-analytics.com" in ga_only["connect-src"]
    assert "https://connect.facebook.net" not in ga_only["script-src"]
    assert "https://widgets.trustedshops.com" not in ga_only["script-src"]
    tags.meta_pixel_enabled = tags.review_widget_enabled = True
    tags.save()
    cache.clear()
    everything = policy(client.get("/"))
    assert "https://connect.facebook.net" in everything["script-src"]
    assert "https://widgets.trustedshops.com" in everything["script-src"]


@pytest.mark.django_db
def test_payment_gateways_may_receive_the_checkout_form(client, store, settings):
    settings.PRZELEWY24_URL = "https://secure.przelewy24.pl"
    settings.PAYU_SANDBOX_URL = "http://127.0.0.1:8123/payu"
    form_action = policy(client.get("/"))["form-action"]
    assert form_action[0] == "'self'"
    assert "https://secure.przelewy24.pl" in form_action
    assert "http://127.0.0.1:8123" in form_action
    assert "https://checkout.stripe.com" in form_action


@pytest.mark.django_db
def test_the_admin_has_the_back_office_policy(admin_client, store):
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    directives = policy(response)
    assert "'unsafe-inline'" in directives["script-src"]
    assert not any(s.startswith("'nonce-") for s in directives["script-src"])
    assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == ["'none'"]


@pytest.mark.django_db
def test_the_report_endpoint_logs_violations(client, store, caplog):
    report = {
        "csp-report": {
            "document-uri": "http://testserver/",
            "violated-directive": "script-src-elem",
            "blocked-uri": "https://evil.example/x.js",
        }
    }
    with caplog.at_level(logging.WARNING, logger="shop.security_headers"):
        response = client.post("/csp-report/", json.dumps(report), content_type="application/csp-report")
    assert response.status_code == 204
    assert "script-src-elem blocked https://evil.example/x.js" in caplog.text
    assert client.post("/csp-report/", "x" * 20000, content_type="application/csp-report").status_code == 413
    assert client.get("/csp-report/").status_code == 405


@pytest.mark.django_db
def test_the_language_cookie_is_secure_lax_and_http_only(client, store, settings):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en"
    assert cookie["samesite"] == "Lax"
    assert cookie["httponly"] is True
    assert bool(cookie["secure"]) is settings.LANGUAGE_COOKIE_SECURE is True


def test_production_settings_make_the_language_cookie_secure(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    probe = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps([settings.LANGUAGE_COOKIE_SECURE, settings.LANGUAGE_COOKIE_SAMESITE, "
        "settings.LANGUAGE_COOKIE_HTTPONLY, settings.CSP_ENFORCE]))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECURE_HTTPS", "CSP_ENFORCE")}
    env.update(VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="shop.settings")
    root = Path(__file__).resolve().parents[2]

    def run(**extra):
        out = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=root,
            env={**env, **extra},
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    assert run() == [True, "Lax", True, True]
    assert run(DEBUG="1") == [False, "Lax", True, True]


def test_the_nonce_attribute_is_on_every_script_tag_of_the_templates():
    """A new template's <script> without the nonce would be blocked on the storefront."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    missing = []
    for path in root.glob("**/templates/**/*.html"):
        if ".venv" in path.parts or "admin" in path.parts or "email" in path.parts:
            continue
        for tag in re.findall(r"<script\b[^>]*>", path.read_text()):
            if "nonce=" not in tag and "application/ld+json" not in tag and "application/json" not in tag:
                missing.append(f"{path.relative_to(root)}: {tag}")
    assert missing == []

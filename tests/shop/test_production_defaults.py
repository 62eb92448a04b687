"""Safe production defaults: the test gateway is off unless DEBUG, and `check --deploy` says so."""

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core import checks

from orders import selectors, services
from orders.models import PaymentMethod
from tests.catalog.factories import VariantFactory
from tests.orders.factories import PaymentMethodFactory, ready_cart

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps([settings.DEBUG, settings.TEST_GATEWAY_ENABLED]))"
)


def probe(tmp_path, **env_vars) -> list:
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "TEST_GATEWAY_ENABLED")}
    env.update(VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="shop.settings", **env_vars)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_test_gateway_is_off_unless_debug(tmp_path):
    assert probe(tmp_path) == [False, False]
    assert probe(tmp_path, DEBUG="1") == [True, True]  # make run / manage.py serve
    assert probe(tmp_path, TEST_GATEWAY_ENABLED="1") == [False, True]  # an explicit choice


def deploy_warnings() -> set[str]:
    return {m.id for m in checks.run_checks(include_deployment_checks=True) if m.id.startswith("koszyk.")}


def test_check_deploy_warns_while_the_test_gateway_is_on(settings):
    settings.TEST_GATEWAY_ENABLED = True
    assert "koszyk.W001" in deploy_warnings()
    settings.TEST_GATEWAY_ENABLED = False
    assert "koszyk.W001" not in deploy_warnings()


def test_check_deploy_warns_about_the_technical_404_page(settings):
    settings.DEBUG, settings.DEBUG_TECHNICAL_404 = True, True
    assert "koszyk.W002" in deploy_warnings()
    settings.DEBUG_TECHNICAL_404 = False
    assert "koszyk.W002" not in deploy_warnings()


@pytest.mark.django_db
def test_while_off_shoppers_are_not_offered_the_test_gateway_and_its_page_is_gone(client, store, settings):
    online = PaymentMethodFactory(store=store, provider=PaymentMethod.Provider.TEST_GATEWAY)
    transfer = PaymentMethodFactory(store=store, provider=PaymentMethod.Provider.BANK_TRANSFER)
    v = VariantFactory(store=store, stock=5, price=Decimal("50.00"))
    order = services.place_order(cart=ready_cart(store, [(v, 1)]))  # chosen while it was on
    payment = services.open_payment(order)
    services.start_payment(order=order, payment=payment)
    payment.refresh_from_db()
    page = f"/platnosc/test/{payment.gateway_reference}/"
    assert client.get(page).status_code == 200
    assert online in selectors.available_payment_methods(store)

    settings.TEST_GATEWAY_ENABLED = False
    assert selectors.available_payment_methods(store) == [transfer]
    assert client.get(page).status_code == 404
    assert client.post(page, {"outcome": "paid"}).status_code == 404
    order.refresh_from_db()
    assert order.payment_status != "paid"

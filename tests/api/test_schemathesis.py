"""Property-based checks of the whole API against its own OpenAPI schema (schemathesis, every
check it has: ``--checks all``): for the public, cart, customer and merchant endpoints,
generated requests never get a 5xx, every response conforms to the schema (status codes,
content types, headers, bodies), requests the schema allows are accepted and requests it forbids
are refused (positive_data_acceptance / negative_data_rejection). Bounded to a few examples per
operation, derandomized, and run as one test (one live server, one flush): a few minutes on 2 cores.

422 counts as "accepted" for schema-valid requests: in this API it is a business refusal of a
well-formed request (an unknown category id, a sold-out variant), never a shape error (400)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.checks import load_all_checks
from schemathesis.config._checks import POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES

from shop.api import keys
from shop.api.models import Scope
from tests.api.conftest import reload_live_server_middleware
from tests.catalog.factories import VariantFactory, give_stock
from tests.orders.factories import PaymentMethodFactory, ShippingMethodFactory
from tests.shop.factories import StoreFactory, UserFactory

load_all_checks()
CHECKS = list(REGISTERED_CHECKS.get_all())  # all of them, as `schemathesis run --checks all`


def _load_schema():
    import json

    from drf_spectacular.generators import SchemaGenerator
    from rest_framework.renderers import JSONRenderer

    raw = json.loads(JSONRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.config.checks.positive_data_acceptance.expected_statuses = [
        *POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES,
        "422",
    ]
    return loaded


schema = _load_schema()
CREDENTIALS: dict[str, str] = {}


@pytest.fixture(autouse=True)
def shop_on_localhost(live_server):
    """Schemathesis sends real HTTP requests to the live server on "localhost": the store answering there, with a
    product in stock, delivery and payment methods, a merchant key and a shopper token."""
    CREDENTIALS["base_url"] = live_server.url
    reload_live_server_middleware(live_server)
    store = StoreFactory(domain="localhost", name="Sklep", is_default=True)
    variant = VariantFactory(store=store)
    give_stock(variant, 50)
    ShippingMethodFactory(store=store, code="kurier")
    PaymentMethodFactory(store=store)
    user = UserFactory(email="schema@example.com")
    _, CREDENTIALS["merchant"] = keys.create_api_key(
        store=store, name="schemathesis", scopes=list(Scope.values)
    )
    _, CREDENTIALS["customer"] = keys.create_customer_token(store=store, user=user)


def _auth(case) -> dict:
    creds = CREDENTIALS
    path = case.operation.path
    if path.startswith("/api/v1/me/") or path.startswith("/api/v1/auth/token/current"):
        return {"Authorization": f"Bearer {creds['customer']}"}
    if path.startswith(
        ("/api/v1/manage/", "/api/v1/stock/", "/api/v1/prices/", "/api/v1/recovery/", "/api/v1/reports/")
    ):
        return {"Authorization": f"Bearer {creds['merchant']}"}
    return {}


SETTINGS = settings(
    max_examples=5,  # fuzzing examples per operation, on top of the schema's examples and coverage cases
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same cases every run: a failure reproduces, and CI never flakes
    database=None,
)


def _operation_test(operation, check):
    """Schemathesis's own per-operation test (examples, coverage and fuzzing phases, as
    ``@schema.parametrize()`` builds it), to run inside one pytest test."""
    from schemathesis.generation.feedback import FeedbackSources
    from schemathesis.pytest._test_builder import build_operation_test

    return build_operation_test(
        config=schema.config,
        operation=operation,
        test_func=check,
        given_kwargs={},
        feedback=FeedbackSources(),
        explicit_settings=SETTINGS,
    )


def test_api_conforms_to_its_schema(shop_on_localhost):
    """Every operation in ONE test: one live server and one database flush for the whole run,
    instead of one per operation (the flushes were most of the time). Failures of all
    operations are gathered and reported together."""
    failures: dict[str, BaseException] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        def check(case):
            # A loaded CI machine can take more than requests' 10 s for a write; a slow answer is
            # not what this test judges (bench/ measures speed), a wrong one is.
            case.call_and_validate(
                base_url=CREDENTIALS["base_url"], headers=_auth(case), checks=CHECKS, timeout=120
            )

        try:
            _operation_test(operation, check)()
        except (Exception, BaseExceptionGroup) as exc:  # reported below with the operation's name
            failures[operation.label] = exc
    assert operations > 30
    assert not failures, "\n\n".join(f"{label}:\n{exc}" for label, exc in failures.items())

"""One plug-in pattern for gateways and carriers: a provider declared in one place (here, in the
test) gets a working admin account form (required fields, its own validators, write-only
secrets) and a connection check recorded on the account."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy

from orders.carriers import CarrierError, get_carrier
from orders.carriers.base import CarrierBackend, carriers
from orders.carriers.base import ConnectionCheck as CarrierCheck
from orders.external_accounts import AccountField, digits_only, record_check
from orders.models import CarrierAccount, GatewayAccount
from orders.payments import get_provider
from orders.payments.base import ConnectionCheck, PaymentProvider, gateways
from tests.orders.factories_shipping import CarrierAccountFactory

pytestmark = pytest.mark.django_db


class DummyGateway(PaymentProvider):
    code = "dummy_pay"
    label = "Dummy Pay"
    is_online = True
    url_settings = ("DUMMY_PAY_URL", "DUMMY_PAY_SANDBOX_URL")
    account_fields = (
        AccountField(
            "shop_number",
            gettext_lazy("shop number"),
            required=True,
            validators=(digits_only("The shop number is digits."),),
        ),
        AccountField("signing_key", gettext_lazy("signing key"), secret=True, required=True),
    )
    calls: list = []

    def test_connection(self, account):
        self.calls.append(account.secret("signing_key"))
        ok = account.secret("signing_key") == "good-key"
        return ConnectionCheck(ok=ok, message="Dummy says hello" if ok else "Dummy refused the key")


class DummyCarrier(CarrierBackend):
    code = "dummy_post"
    label = "Dummy Post"
    account_fields = (
        AccountField("depot", gettext_lazy("depot"), choices=(("", "any"), ("north", "north"))),
        AccountField("customer_key", gettext_lazy("customer key"), secret=True, required=True),
    )

    def account_errors(self, data):
        return {} if data.get("sender_phone") else {"sender_phone": "Dummy Post calls the sender."}

    def test_connection(self, account):
        return CarrierCheck(ok=True, message=f"depot {account.get('depot') or 'any'}")


@pytest.fixture
def admin(admin_client):
    admin_client.cookies["django_language"] = "en"
    return admin_client


@pytest.fixture
def dummy_gateway():
    gateways.register(DummyGateway)
    DummyGateway.calls = []
    yield DummyGateway
    gateways.unregister(DummyGateway.code)


@pytest.fixture
def dummy_carrier():
    carriers.register(DummyCarrier)
    yield DummyCarrier
    carriers.unregister(DummyCarrier.code)


def test_a_gateway_declared_in_one_module_gets_an_admin_form_and_a_recorded_check(
    admin, store, dummy_gateway, settings
):
    settings.DUMMY_PAY_URL = "https://pay.example.com/"
    settings.DUMMY_PAY_SANDBOX_URL = "https://sandbox.pay.example.com"
    add = reverse("admin:orders_gatewayaccount_add")
    page = admin.get(add).content.decode()
    assert 'name="shop_number"' in page and 'value="dummy_pay"' in page
    assert get_provider("dummy_pay").code == "dummy_pay"

    data = {"store": store.pk, "provider": "dummy_pay", "is_active": "on", "shop_number": "12ab"}
    response = admin.post(add, data)
    errors = response.context["adminform"].form.errors
    assert errors["shop_number"] == ["The shop number is digits."]
    assert errors["signing_key"] == ["Required for this gateway."]
    assert not GatewayAccount.objects.exists()

    response = admin.post(add, {**data, "shop_number": " 42 ", "signing_key": "good-key", "merchant_id": ""})
    assert response.status_code == 302
    account = GatewayAccount.objects.get()
    assert account.config == {"shop_number": "42"}  # only the fields this gateway declares
    assert account.secret("signing_key") == "good-key" and "good-key" not in account.secrets_encrypted
    assert account.base_url == "https://pay.example.com"  # sandbox not ticked
    assert isinstance(account.provider_backend(), DummyGateway)

    changelist = reverse("admin:orders_gatewayaccount_changelist")
    admin.post(changelist, {"action": "test_connection", "_selected_action": [account.pk]})
    account.refresh_from_db()
    assert dummy_gateway.calls == ["good-key"]
    assert account.last_check_ok is True and account.last_check_message == "Dummy says hello"
    assert account.last_checked_at is not None


def test_a_code_no_provider_registered_is_refused(admin, store):
    response = admin.post(
        reverse("admin:orders_gatewayaccount_add"),
        {"store": store.pk, "provider": "dummy_pay", "shop_number": "42", "signing_key": "k"},
    )
    assert "provider" in response.context["adminform"].form.errors
    assert not GatewayAccount.objects.exists()
    with pytest.raises(KeyError):
        get_provider("dummy_pay")


def test_a_carrier_declared_in_one_module_gets_an_admin_form_and_a_recorded_check(
    admin, store, dummy_carrier
):
    add = reverse("admin:orders_carrieraccount_add")
    data = {"store": store.pk, "carrier": "dummy_post", "is_active": "on", "sender_country": "PL"}
    response = admin.post(add, {**data, "depot": "south"})
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"depot", "customer_key", "sender_phone"}
    assert errors["sender_phone"] == ["Dummy Post calls the sender."]

    response = admin.post(add, {**data, "depot": "north", "customer_key": "ck", "sender_phone": "500600700"})
    assert response.status_code == 302
    account = CarrierAccount.objects.get()
    assert account.config == {"depot": "north"} and account.secret("customer_key") == "ck"
    assert isinstance(get_carrier("dummy_post"), DummyCarrier)

    response = admin.post(reverse("admin:orders_carrieraccount_test", args=[account.pk]), follow=True)
    assert b"depot north" in response.content
    account.refresh_from_db()
    assert account.last_check_ok is True and account.last_check_message == "depot north"


def test_an_unknown_carrier_is_a_carrier_error():
    with pytest.raises(CarrierError):
        get_carrier("dummy_post")


def test_a_value_in_a_field_the_selected_carrier_ignores_is_still_checked_but_not_stored(admin, store):
    base = {"store": store.pk, "carrier": "inpost", "organization_id": "77", "api_token": "t"}
    base["sender_country"] = "PL"
    response = admin.post(reverse("admin:orders_carrieraccount_add"), {**base, "cod_bank_account": "PL12"})
    assert "cod_bank_account" in response.context["adminform"].form.errors
    response = admin.post(reverse("admin:orders_carrieraccount_add"), {**base, "app_id": "ignored"})
    assert response.status_code == 302
    assert CarrierAccount.objects.get().config == {"organization_id": "77"}


@pytest.mark.parametrize("value", ["12ab", "٤٢", "4 2", "-42", "4²", "<script>alert(1)</script>"])
def test_digits_only_refuses_anything_but_ascii_digits(value):
    with pytest.raises(ValidationError):
        AccountField("n", "n", validators=(digits_only("digits"),)).clean(value)


def test_a_field_cleans_what_forms_send():
    assert AccountField("n", "n", validators=(digits_only("digits"),)).clean("  0042 ") == "0042"
    assert (
        AccountField("n", "n", validators=(digits_only("digits"),)).clean(None) == ""
    )  # required is the form's job
    assert AccountField("b", "b", kind="bool").clean("") is False
    with pytest.raises(ValueError):
        AccountField("s", "s", kind="bool", secret=True)
    with pytest.raises(ValueError):
        AccountField("s", "s", kind="json")


def test_a_check_is_recorded_with_a_capped_message(store):
    account = CarrierAccountFactory(store=store, carrier="inpost")
    record_check(account, ok=False, message="x" * 1000)
    account.refresh_from_db()
    assert account.last_check_ok is False and len(account.last_check_message) == 255


def test_the_shared_account_form_says_whose_field_each_one_is(admin):
    """Every gateway's fields share one form: a field only some gateways use names them, in
    Polish, and labels start with a capital as model fields do."""
    from django.utils import translation

    response = admin.get(reverse("admin:orders_gatewayaccount_add"))
    crc = response.context["adminform"].form.fields["crc"]
    assert "Used by: Przelewy24." in response.content.decode()
    assert "PayU" not in str(crc.help_text)
    assert str(crc.label)[0].isupper()
    with translation.override("pl"):
        assert translation.gettext("Used by: %(providers)s.") == "Używane przez: %(providers)s."

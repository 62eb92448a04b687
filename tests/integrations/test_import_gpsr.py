"""Wholesaler imports carry product safety data (GPSR) when the feed has it: the manufacturer's
name, postal address and e-mail become a reusable catalog.Manufacturer, the warnings the
product's safety information; what the merchant set is never overwritten."""

from pathlib import Path

import pytest

from catalog.models import Manufacturer, Product
from integrations import services
from integrations.models import ConnectorConfig, SyncRun
from tests.catalog.factories import ManufacturerFactory

from .conftest import make_config

pytestmark = pytest.mark.django_db

PROFILE = {
    "name": "gpsr",
    "sources": {
        "p": {
            "format": "csv",
            "encoding": "utf-8",
            "delimiter": ";",
            "fields": {
                "sku": "sku",
                "name": "name",
                "cost_net": "cost_net",
                "manufacturer_name": "producent",
                "manufacturer_address": "adres",
                "manufacturer_email": "email",
                "safety_information": "ostrzezenia",
            },
        }
    },
}
HEADER = "sku;name;cost_net;producent;adres;email;ostrzezenia\n"


def run(store, tmp_path: Path, rows: str) -> SyncRun:
    config = ConnectorConfig.objects.filter(store=store, name="gpsr").first() or make_config(
        store, name="gpsr", custom_profile=PROFILE
    )
    path = tmp_path / "feed.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    return services.run_connector(
        config_id=config.pk, direction="full", trigger="command", files={"p": str(path)}
    )


def test_manufacturer_and_warnings_are_imported_once(store, tmp_path):
    result = run(
        store,
        tmp_path,
        "A1;Kask rowerowy;50;Helmet Works sp. z o.o.;ul. Fabryczna 3, 30-001 Kraków;bhp@helmet.example;Nie używać po upadku.\n"
        "A2;Kask dziecięcy;40;Helmet Works sp. z o.o.;ul. Fabryczna 3, 30-001 Kraków;bhp@helmet.example;\n",
    )
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    maker = Manufacturer.objects.get(store=store)
    assert (maker.name, maker.address, maker.email) == (
        "Helmet Works sp. z o.o.",
        "ul. Fabryczna 3, 30-001 Kraków",
        "bhp@helmet.example",
    )
    products = {p.name: p for p in Product.objects.filter(store=store)}
    assert products["Kask rowerowy"].manufacturer == maker
    assert products["Kask rowerowy"].safety_information == "Nie używać po upadku."
    assert products["Kask dziecięcy"].manufacturer == maker
    assert products["Kask dziecięcy"].safety_information == ""


def test_incomplete_or_invalid_data_is_a_warning_not_a_record(store, tmp_path):
    result = run(
        store, tmp_path, "B1;Lampka;20;Bez Adresu Ltd;;;\nB2;Lampka 2;20;Zły Mail;ul. A 1;nie-mail;\n"
    )
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    assert not Manufacturer.objects.exists()
    assert Product.objects.filter(manufacturer__isnull=True).count() == 2
    warnings = " ".join(result.summary.get("warnings", []))
    assert "Bez Adresu Ltd" in warnings


def test_the_merchants_choice_stays(store, tmp_path):
    run(store, tmp_path, "C1;Rower;900;;;;\n")
    product = Product.objects.get(store=store)
    own = ManufacturerFactory(store=store, name="Własny Producent")
    product.manufacturer = own
    product.safety_information = "Moje ostrzeżenie."
    product.save()
    run(
        store,
        tmp_path,
        "C1;Rower;900;Inny Producent;ul. B 2, 00-001 Warszawa;x@inny.example;Ich ostrzeżenie.\n",
    )
    product.refresh_from_db()
    assert product.manufacturer == own and product.safety_information == "Moje ostrzeżenie."

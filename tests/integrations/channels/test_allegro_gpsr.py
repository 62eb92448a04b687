"""Allegro: product safety (GPSR) on offers. The shop's manufacturer and EU responsible person
become Allegro records (/sale/responsible-producers, /sale/responsible-persons) created once per
connector, updated when they change, and named by id in productSet[]; warnings go in
safetyInformation. A record Allegro refuses fails the listing with Allegro's reason."""

from __future__ import annotations

import json

import pytest

from integrations import services as framework
from integrations.channels.allegro import gpsr
from integrations.channels.allegro.client import AllegroClient
from integrations.channels.models import ChannelListing
from integrations.models import SyncRun
from tests.catalog.factories import ManufacturerFactory, ResponsiblePersonFactory
from tests.fakes.allegro import FakeAllegro

from .factories_allegro import (  # noqa: F401
    ChannelListingFactory,
    allegro_config,
    fast_allegro,
    offerable_variant,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_allegro")]


@pytest.fixture
def fake_allegro():
    with FakeAllegro() as fake:
        yield fake


@pytest.fixture
def config(store, fake_allegro):
    return allegro_config(store, fake_allegro)


def push(config) -> SyncRun:
    return framework.run_connector(config_id=config.pk, direction="push", trigger="command")


def _gpsr_product(store, variant):
    product = variant.product
    product.manufacturer = ManufacturerFactory(
        store=store,
        name="Shenzhen Outdoor Co., Ltd.",
        address="88 Keji Road\n518000 Shenzhen",
        country="CN",
        email="",
        url="https://outdoor.example.cn/contact",
    )
    product.responsible_person = ResponsiblePersonFactory(
        store=store,
        name="Import Butów sp. z o.o.",
        address="ul. Portowa 2\n80-001 Gdańsk",
        email="gpsr@buty.example",
    )
    product.safety_information = "<p>Nie suszyć przy grzejniku.</p>"
    product.save()
    return product


@pytest.mark.parametrize(
    ("text", "country", "expected"),
    [
        ("ul. Długa 1\n00-001 Warszawa", "pl", ("PL", "ul. Długa 1", "00-001", "Warszawa")),
        ("ul. Długa 1, 00-001 Warszawa", "PL", ("PL", "ul. Długa 1", "00-001", "Warszawa")),
        ("Hauptstraße 5\nHaus B\n10115 Berlin", "DE", ("DE", "Hauptstraße 5, Haus B", "10115", "Berlin")),
        ("88 Keji Road\n518000 Shenzhen", "CN", ("CN", "88 Keji Road", "518000", "Shenzhen")),
        ("Somewhere only", "PL", ("PL", "Somewhere only", "", "")),
    ],
)
def test_split_address(text, country, expected):
    address = gpsr.split_address(text, country)
    assert (address["countryCode"], address["street"], address["postalCode"], address["city"]) == expected


def test_offer_names_the_producer_person_and_warnings(config, fake_allegro, store):
    first = offerable_variant(store, sku="BUT-1")
    product = _gpsr_product(store, first)
    second = offerable_variant(store, sku="BUT-2")
    second.product.manufacturer = product.manufacturer
    second.product.save()
    for variant in (first, second):
        ChannelListingFactory(config=config, variant=variant, external_id="")

    run = push(config)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error

    producers = fake_allegro.calls("POST", "/sale/responsible-producers")
    assert len(producers) == 1  # one record for both products
    producer_id, producer = next(iter(fake_allegro.responsible_producers.items()))
    assert producer["producerData"]["tradeName"] == "Shenzhen Outdoor Co., Ltd."
    assert producer["producerData"]["address"] == {
        "countryCode": "CN",
        "street": "88 Keji Road",
        "postalCode": "518000",
        "city": "Shenzhen",
    }
    assert producer["producerData"]["contact"] == {"formUrl": "https://outdoor.example.cn/contact"}
    person_id = next(iter(fake_allegro.responsible_persons))

    bodies = {
        json.loads(r.body)["external"]["id"]: json.loads(r.body)
        for r in fake_allegro.calls("POST", "/sale/product-offers")
    }
    entry = bodies["BUT-1"]["productSet"][0]
    assert entry["responsibleProducer"] == {"type": "ID", "id": producer_id}
    assert entry["responsiblePerson"] == {"id": person_id}
    assert entry["safetyInformation"] == {"type": "TEXT", "description": "Nie suszyć przy grzejniku."}
    other = bodies["BUT-2"]["productSet"][0]
    assert other["responsibleProducer"] == {"type": "ID", "id": producer_id}
    assert "responsiblePerson" not in other and "safetyInformation" not in other


def test_records_are_reused_and_updated_when_changed(config, fake_allegro, store):
    variant = offerable_variant(store)
    product = _gpsr_product(store, variant)
    client = AllegroClient(config)
    first = gpsr.product_set_entries(client, product)
    again = gpsr.product_set_entries(AllegroClient(config), product)
    assert first == again
    assert len(fake_allegro.calls("POST", "/sale/responsible-")) == 2
    product.manufacturer.address = "1 New Street\n518001 Shenzhen"
    product.manufacturer.save()
    changed = gpsr.product_set_entries(AllegroClient(config), product)
    assert changed["responsibleProducer"] == first["responsibleProducer"]
    assert len(fake_allegro.calls("PUT", "/sale/responsible-producers/")) == 1
    record = fake_allegro.responsible_producers[first["responsibleProducer"]["id"]]
    assert record["producerData"]["address"]["street"] == "1 New Street"


def test_refused_record_fails_the_listing_with_allegros_reason(config, fake_allegro, store):
    variant = offerable_variant(store)
    product = _gpsr_product(store, variant)
    product.manufacturer.address = "no postal code here"
    product.manufacturer.save()
    listing = ChannelListingFactory(config=config, variant=variant, external_id="")
    push(config)
    listing.refresh_from_db()
    assert listing.status == ChannelListing.Status.ERROR
    assert "GPSR" in listing.error and "postalCode" in listing.error
    assert not fake_allegro.calls("POST", "/sale/product-offers")

"""Allegro: offers created from variants (asynchronous operations polled to the end), refused with
field errors, never duplicated; stock and prices pushed as batch commands with per-offer results."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import StockItem
from integrations import services as framework
from integrations.channels.allegro import offers
from integrations.channels.allegro.tasks import poll_offer_operations
from integrations.channels.models import ChannelListing
from integrations.models import SyncRun, SyncRunError
from tests.catalog.factories import VariantFactory, give_stock
from tests.fakes.allegro import FakeAllegro
from tests.fakes.http_server import FakeResponse

from .factories_allegro import (  # noqa: F401
    ALLEGRO_CATEGORY,
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


def push(config) -> SyncRun:
    return framework.run_connector(config_id=config.pk, direction="push", trigger="command")


def body_of(request) -> dict:
    return json.loads(request.body)


@pytest.fixture
def config(store, fake_allegro):
    return allegro_config(store, fake_allegro)


# --- building offers -----------------------------------------------------------------------------


def test_title_is_cut_at_a_word_to_75_characters():
    long_name = "Buty trekkingowe męskie wodoodporne z membraną i wkładką ortopedyczną Góral Extreme"
    title = offers.offer_title(long_name, "rozmiar 44")
    assert len(title) <= 75
    assert long_name.startswith(title)
    assert not title.endswith(" ")
    assert offers.offer_title("  Krótka   nazwa ", "XL") == "Krótka nazwa XL"
    assert len(offers.offer_title("x" * 200)) == 75


def test_description_is_escaped_paragraphs():
    desc = offers.description_sections("<p>Pierwszy</p><script>alert(1)</script>\n\nA & B <b>mocno</b>")
    content = desc["sections"][0]["items"][0]["content"]
    assert "<script>" not in content
    assert "<p>Pierwszy</p>" in content and "A &amp; B mocno" in content


def test_markup_rounds_half_up():
    assert offers.allegro_price(Decimal("10.00"), Decimal("12.5")) == Decimal("11.25")
    assert offers.allegro_price(Decimal("0.05"), Decimal("10")) == Decimal("0.06")
    assert offers.allegro_price(Decimal("99.99"), None) == Decimal("99.99")


# --- creating offers -----------------------------------------------------------------------------


def test_offer_is_created_and_polled_to_completion(config, fake_allegro, store):
    variant = offerable_variant(store, stock=7, price="199.00", ean="5901234123457")
    listing = ChannelListingFactory(config=config, variant=variant, external_id="")

    run = push(config)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error

    create = fake_allegro.calls("POST", "/sale/product-offers")
    assert len(create) == 1
    assert create[0].headers["content-type"] == "application/vnd.allegro.public.v1+json"
    assert create[0].headers["accept"] == "application/vnd.allegro.public.v1+json"
    body = body_of(create[0])
    assert body["external"] == {"id": variant.sku}
    assert len(body["name"]) <= 75
    assert body["sellingMode"]["price"] == {"amount": "199.00", "currency": "PLN"}
    assert body["stock"] == {"available": 7, "unit": "UNIT"}
    product = body["productSet"][0]["product"]
    assert product["category"] == {"id": ALLEGRO_CATEGORY}
    assert product["idType"] == "GTIN" and product["id"] == "5901234123457"
    assert {"id": "225693", "values": ["5901234123457"]} in product["parameters"]
    assert all(url.startswith("http") and "/media/products/" in url for url in body["images"])
    assert body["delivery"]["shippingRates"] == {"id": "ship-1"}
    assert body["afterSalesServices"]["returnPolicy"] == {"id": "ret-1"}

    listing.refresh_from_db()
    assert listing.status == ChannelListing.Status.PENDING
    assert listing.external_id in fake_allegro.offers
    assert listing.data["operation"]["url"].endswith(fake_allegro.offers[listing.external_id].operation_id)

    # The poll task follows the operation (202 twice, then 303 to the offer).
    poll_offer_operations(config.pk)
    listing.refresh_from_db()
    assert listing.status == ChannelListing.Status.ACTIVE
    assert "operation" not in listing.data
    assert listing.last_pushed_quantity == 7
    assert listing.last_pushed_price == Decimal("199.00")
    assert len(fake_allegro.calls("GET", "/operations/")) == 3
    # Nothing left to push: a second run sends nothing.
    requests = len(fake_allegro.requests)
    assert push(config).status == SyncRun.Status.SUCCEEDED
    assert not fake_allegro.calls("PUT", "-change-commands/")
    assert len(fake_allegro.calls("POST", "/sale/product-offers")) == 1
    assert len(fake_allegro.requests) == requests


def test_retry_after_of_an_operation_is_honoured(config, fake_allegro, store):
    fake_allegro.retry_after = "30"
    listing = ChannelListingFactory(config=config, variant=offerable_variant(store), external_id="")
    push(config)
    poll_offer_operations(config.pk)
    # The create said "ask again in 30 s": nothing was asked yet.
    assert fake_allegro.calls("GET", "/operations/") == []
    listing.refresh_from_db()
    assert listing.status == ChannelListing.Status.PENDING
    assert 25 < offers.next_poll_delay([listing]) <= 30


def test_offer_failing_validation_reports_the_fields(config, fake_allegro, store):
    variant = offerable_variant(store)
    fake_allegro.reject_on_completion[variant.sku] = [
        {
            "code": "ParameterRequired",
            "message": "Parameter Rozmiar is required",
            "userMessage": "Podaj rozmiar",
            "path": "parameters.236",
        }
    ]
    listing = ChannelListingFactory(config=config, variant=variant, external_id="")
    push(config)
    poll_offer_operations(config.pk)
    listing.refresh_from_db()
    assert listing.status == ChannelListing.Status.ERROR
    assert "parameters.236: Podaj rozmiar" in listing.error
    # The same refused body is not sent again on the next runs.
    run = push(config)
    assert len(fake_allegro.calls("POST", "/sale/product-offers")) == 1
    assert run.status == SyncRun.Status.SUCCEEDED


def test_create_refused_at_once_is_reported_and_the_rest_go_on(config, fake_allegro, store):
    bad = offerable_variant(store, sku="ZLY-1")
    good = offerable_variant(store, sku="DOBRY-1")
    first = ChannelListingFactory(config=config, variant=bad, external_id="")
    second = ChannelListingFactory(config=config, variant=good, external_id="")
    fake_allegro.fail_next(
        "/sale/product-offers",
        FakeResponse(
            422,
            json.dumps(
                {
                    "errors": [
                        {
                            "code": "InvalidCategory",
                            "message": "Category is not a leaf",
                            "userMessage": "",
                            "path": "category.id",
                        }
                    ]
                }
            ).encode(),
            {"Content-Type": "application/vnd.allegro.public.v1+json"},
        ),
    )
    run = push(config)
    assert run.status == SyncRun.Status.SUCCEEDED
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == ChannelListing.Status.ERROR
    assert "category.id: Category is not a leaf" in first.error
    assert second.status == ChannelListing.Status.PENDING and second.external_id
    assert SyncRunError.objects.filter(run=run, key="ZLY-1", message__contains="not a leaf").exists()


def test_variant_that_cannot_be_offered_is_reported_without_a_call(config, fake_allegro, store):
    no_image = VariantFactory(store=store, sku="BEZ-ZDJECIA", stock=3)
    listing = ChannelListingFactory(config=config, variant=no_image, external_id="")
    run = push(config)
    listing.refresh_from_db()
    assert listing.status == ChannelListing.Status.ERROR
    assert "not mapped to an Allegro category" in listing.error and "no image" in listing.error
    assert fake_allegro.calls("POST", "/sale/product-offers") == []
    assert SyncRunError.objects.filter(run=run, key="BEZ-ZDJECIA").exists()


def test_lost_create_answer_never_makes_a_second_offer(config, fake_allegro, store):
    """Allegro made the offer but the answer was a 500: the next run finds it by our SKU."""
    variant = offerable_variant(store)
    listing = ChannelListingFactory(config=config, variant=variant, external_id="")
    fake_allegro.lose_create_answers.append(FakeResponse(500, b"upstream timeout"))
    push(config)
    listing.refresh_from_db()
    assert listing.external_id == ""
    assert "create_started_at" in listing.data
    assert len(fake_allegro.calls("POST", "/sale/product-offers")) == 1  # not retried blindly

    push(config)
    listing.refresh_from_db()
    assert len(fake_allegro.offers) == 1
    assert listing.external_id == next(iter(fake_allegro.offers))
    assert len(fake_allegro.calls("POST", "/sale/product-offers")) == 1
    assert fake_allegro.calls("GET", "/sale/offers")[0].query == f"external.id={variant.sku}&limit=2"
    assert len(fake_allegro.calls("PATCH", "/sale/product-offers/")) == 1


def test_operation_location_on_another_host_is_refused(config, fake_allegro, store):
    listing = ChannelListingFactory(
        config=config,
        variant=offerable_variant(store),
        external_id="123",
        status=ChannelListing.Status.PENDING,
        push_due=False,
        data={
            # Started a minute ago: well inside the 6-hour give-up, so the host check decides.
            "operation": {
                "url": "https://evil.example.com/steal",
                "started_at": (timezone.now() - timedelta(minutes=1)).isoformat(),
            }
        },
    )
    run = push(config)
    listing.refresh_from_db()
    assert listing.status == ChannelListing.Status.ERROR
    assert "operation" not in listing.data
    assert SyncRunError.objects.filter(run=run, message__contains="not on its API host").exists()
    assert not any("steal" in r.path for r in fake_allegro.requests)


# --- batch stock and price commands --------------------------------------------------------------


def offered(config, fake, store, *, sku, stock, pushed_quantity, price="100.00"):
    variant = offerable_variant(store, sku=sku, stock=stock, price=price)
    offer = fake.add_offer(sku, quantity=pushed_quantity, price=price)
    return ChannelListingFactory(
        config=config,
        variant=variant,
        external_id=offer.id,
        status=ChannelListing.Status.ACTIVE,
        last_pushed_quantity=pushed_quantity,
        last_pushed_price=Decimal(price),
        push_due=True,
    )


def test_stock_changes_go_as_grouped_commands_with_partial_failures(config, fake_allegro, store):
    a = offered(config, fake_allegro, store, sku="A", stock=4, pushed_quantity=9)
    b = offered(config, fake_allegro, store, sku="B", stock=4, pushed_quantity=9)
    c = offered(config, fake_allegro, store, sku="C", stock=2, pushed_quantity=9)
    fake_allegro.failing_offers[b.external_id] = "Offer is ended"

    run = push(config)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error

    puts = fake_allegro.calls("PUT", "/sale/offer-quantity-change-commands/")
    assert len(puts) == 2  # one per quantity: 4 (A, B) and 2 (C)
    bodies = sorted((body_of(p) for p in puts), key=lambda b: b["modification"]["value"])
    assert bodies[0]["modification"] == {"changeType": "FIXED", "value": 2}
    assert {o["id"] for o in bodies[1]["offerCriteria"][0]["offers"]} == {a.external_id, b.external_id}
    for p in puts:
        uuid.UUID(p.path.rsplit("/", 1)[1])
    assert fake_allegro.offers[a.external_id].quantity == 4
    assert fake_allegro.offers[c.external_id].quantity == 2
    assert not fake_allegro.calls("PUT", "/sale/offer-price-change-commands/")  # prices unchanged

    for listing in (a, b, c):
        listing.refresh_from_db()
    assert (a.last_pushed_quantity, c.last_pushed_quantity) == (4, 2)
    assert a.error == "" and a.push_due is False and a.data.get("commands") == {}
    assert b.status == ChannelListing.Status.ERROR and b.push_due is True
    assert "Offer is ended" in b.error and b.last_pushed_quantity == 9
    assert SyncRunError.objects.filter(run=run, key="B", message__contains="Offer is ended").count() == 1
    assert run.updated == 2 and run.failed == 1

    # The failed one is retried on the next run, alone.
    del fake_allegro.failing_offers[b.external_id]
    push(config)
    b.refresh_from_db()
    assert b.last_pushed_quantity == 4 and b.error == "" and b.push_due is False
    last = fake_allegro.calls("PUT", "/sale/offer-quantity-change-commands/")[-1]
    assert body_of(last)["offerCriteria"][0]["offers"] == [{"id": b.external_id}]


def test_prices_go_with_the_markup(store, fake_allegro):
    config = allegro_config(store, fake_allegro, price_markup_percent="10")
    listing = offered(config, fake_allegro, store, sku="P", stock=3, pushed_quantity=3, price="100.00")
    listing.variant.price = Decimal("120.00")
    listing.variant.save(update_fields=["price"])
    push(config)
    put = fake_allegro.calls("PUT", "/sale/offer-price-change-commands/")
    assert len(put) == 1
    assert body_of(put[0])["modification"] == {
        "type": "FIXED_PRICE",
        "price": {"amount": "132.00", "currency": "PLN"},
    }
    assert fake_allegro.offers[listing.external_id].price == "132.00"
    listing.refresh_from_db()
    assert listing.last_pushed_price == Decimal("120.00")  # the shop's price, compared by the channel layer
    assert not fake_allegro.calls("PUT", "/sale/offer-quantity-change-commands/")


def test_units_kept_back_are_not_offered(store, fake_allegro):
    config = allegro_config(store, fake_allegro, stock_reserve=2)
    listing = offered(config, fake_allegro, store, sku="R", stock=5, pushed_quantity=0)
    push(config)
    assert fake_allegro.offers[listing.external_id].quantity == 3


def test_a_command_still_processing_is_checked_again_next_run_under_the_same_id(config, fake_allegro, store):
    listing = offered(config, fake_allegro, store, sku="N", stock=6, pushed_quantity=1)
    fake_allegro.task_polls_new = 100
    push(config)
    listing.refresh_from_db()
    command_id = listing.data["commands"]["quantity"]["id"]
    assert listing.push_due is True and "still applying" in listing.error
    fake_allegro.task_polls_new = 0
    push(config)
    listing.refresh_from_db()
    assert len(fake_allegro.calls("PUT", "/sale/offer-quantity-change-commands/")) == 1
    assert fake_allegro.calls("GET", f"/{command_id}/tasks")
    assert listing.last_pushed_quantity == 6 and listing.push_due is False and listing.error == ""


def test_a_command_lost_in_a_crash_is_sent_again_with_its_own_id(config, fake_allegro, store):
    """The id was written, the PUT never arrived (Allegro answers 404 for its tasks)."""
    listing = offered(config, fake_allegro, store, sku="K", stock=6, pushed_quantity=1)
    command_id = str(uuid.uuid4())
    listing.data = {"commands": {"quantity": {"id": command_id, "value": "6"}}}
    listing.save()
    push(config)
    puts = fake_allegro.calls("PUT", "/sale/offer-quantity-change-commands/")
    assert [p.path.rsplit("/", 1)[1] for p in puts] == [command_id]
    listing.refresh_from_db()
    assert listing.last_pushed_quantity == 6 and listing.data["commands"] == {}


def test_429_is_waited_out_and_the_command_is_not_duplicated(config, fake_allegro, store):
    listing = offered(config, fake_allegro, store, sku="T", stock=8, pushed_quantity=1)
    fake_allegro.fail_next(
        "/sale/offer-quantity-change-commands/",
        FakeResponse(
            429, b'{"errors":[{"code":"TooManyRequests","message":"slow down"}]}', {"Retry-After": "0"}
        ),
    )
    run = push(config)
    assert run.status == SyncRun.Status.SUCCEEDED
    puts = fake_allegro.calls("PUT", "/sale/offer-quantity-change-commands/")
    assert len(puts) == 2 and puts[0].path == puts[1].path
    assert len(fake_allegro.commands) == 1
    listing.refresh_from_db()
    assert listing.last_pushed_quantity == 8


def test_malformed_task_report_fails_that_command_only(config, fake_allegro, store):
    a = offered(config, fake_allegro, store, sku="M1", stock=3, pushed_quantity=1)
    b = offered(config, fake_allegro, store, sku="M2", stock=5, pushed_quantity=1)
    fake_allegro.fail_next(
        "/tasks", FakeResponse(200, b"<html>proxy error</html>", {"Content-Type": "text/html"})
    )
    run = push(config)
    assert run.status == SyncRun.Status.SUCCEEDED
    a.refresh_from_db()
    b.refresh_from_db()
    failed, ok = (a, b) if a.push_due else (b, a)
    assert "not valid JSON" in failed.error
    assert failed.data["commands"]["quantity"]["id"]  # outcome unknown: asked again next run
    assert ok.error == "" and ok.push_due is False
    push(config)
    failed.refresh_from_db()
    assert failed.error == "" and failed.push_due is False
    assert len(fake_allegro.commands) == 2


def test_invalid_tokens_fail_the_run_clearly_and_lose_nothing(config, fake_allegro, store):
    listing = offered(config, fake_allegro, store, sku="X", stock=3, pushed_quantity=1)
    fake_allegro.revoke_access_tokens()
    fake_allegro.refresh_tokens.clear()
    run = push(config)
    assert run.status == SyncRun.Status.FAILED
    assert "connect the Allegro account again" in run.error
    listing.refresh_from_db()
    assert listing.push_due is True and listing.last_pushed_quantity == 1


def test_stock_change_in_the_shop_marks_the_listing_due_and_the_next_push_sends_it(
    config, fake_allegro, store
):
    listing = offered(config, fake_allegro, store, sku="S", stock=3, pushed_quantity=3)
    ChannelListing.objects.filter(pk=listing.pk).update(push_due=False)
    from catalog import stock as catalog_stock

    item = StockItem.objects.get(variant=listing.variant)
    catalog_stock.adjust_stock(
        variant=listing.variant, warehouse=item.warehouse, set_to=11, reason="delivery"
    )
    from integrations.channels.services import handle_stock_changed
    from shop.models import Event

    handle_stock_changed(Event.objects.filter(type="stock.changed").latest("pk"))
    listing.refresh_from_db()
    assert listing.push_due is True
    push(config)
    assert fake_allegro.offers[listing.external_id].quantity == 11


def test_no_stock_ends_the_offer_and_stock_back_renews_it(config, fake_allegro, store):
    listing = offered(config, fake_allegro, store, sku="Z", stock=0, pushed_quantity=4)
    offer = fake_allegro.offers[listing.external_id]
    push(config)
    # Allegro takes no quantity below 1: the offer is ended instead.
    assert not fake_allegro.calls("PUT", "/sale/offer-quantity-change-commands/")
    end = fake_allegro.calls("PUT", "/sale/offer-publication-commands/")
    assert len(end) == 1 and body_of(end[0])["publication"] == {"action": "END"}
    assert offer.status == "ENDED" and offer.quantity == 4
    listing.refresh_from_db()
    assert listing.data["ended"] is True and listing.last_pushed_quantity == 0 and listing.push_due is False

    give_stock(listing.variant, 6)
    ChannelListing.objects.filter(pk=listing.pk).update(push_due=True)
    push(config)
    assert offer.quantity == 6 and offer.status == "ACTIVE"
    activate = fake_allegro.calls("PUT", "/sale/offer-publication-commands/")[-1]
    assert body_of(activate)["publication"] == {"action": "ACTIVATE"}
    listing.refresh_from_db()
    assert listing.data["ended"] is False and listing.last_pushed_quantity == 6


def test_renewal_waits_when_the_stock_change_fails(config, fake_allegro, store):
    listing = offered(config, fake_allegro, store, sku="ZZ", stock=3, pushed_quantity=0)
    listing.data = {"ended": True}
    listing.save()
    fake_allegro.failing_offers[listing.external_id] = "Offer is locked"
    push(config)
    assert not fake_allegro.calls("PUT", "/sale/offer-publication-commands/")
    listing.refresh_from_db()
    assert listing.push_due is True and "Offer is locked" in listing.error


def test_offer_is_created_only_once_there_is_stock(config, fake_allegro, store):
    variant = offerable_variant(store, stock=0)
    listing = ChannelListingFactory(config=config, variant=variant, external_id="")
    push(config)
    assert fake_allegro.calls("POST", "/sale/product-offers") == []
    listing.refresh_from_db()
    assert listing.status == ChannelListing.Status.PENDING and listing.error == ""
    give_stock(variant, 2)
    push(config)
    assert body_of(fake_allegro.calls("POST", "/sale/product-offers")[0])["stock"]["available"] == 2


def test_a_big_push_costs_a_few_commands_and_a_bounded_number_of_queries(
    config, fake_allegro, store, django_assert_max_num_queries
):
    """120 changed offers with 3 distinct quantities and 2 prices: 5 commands, 5 task reads."""
    from integrations.channels.allegro import services as allegro_services
    from integrations.channels.allegro.client import AllegroClient
    from integrations.channels.base import ListingUpdate

    listings = [
        offered(config, fake_allegro, store, sku=f"BIG-{n}", stock=1 + n % 3, pushed_quantity=9)
        for n in range(120)
    ]
    batch = [
        ListingUpdate(
            listing_id=li.pk,
            variant_id=li.variant_id,
            sku=li.variant.sku,
            ean="",
            external_id=li.external_id,
            quantity=1 + n % 3,
            price=Decimal("100.00") + n % 2,
            quantity_changed=True,
            price_changed=True,
        )
        for n, li in enumerate(listings)
    ]
    before = len(fake_allegro.requests)
    with AllegroClient(config) as client, django_assert_max_num_queries(20):
        results = allegro_services.push_batch(
            config=config, client=client, batch=batch, options=client.options
        )
    assert all(r.ok for r in results) and len(results) == 120
    calls = fake_allegro.requests[before:]
    assert len([r for r in calls if r.method == "PUT"]) == 5
    assert len([r for r in calls if r.path.endswith("/tasks")]) == 5
    assert {o.quantity for o in fake_allegro.offers.values()} == {1, 2, 3}


def test_command_timing_out_is_sent_again_under_the_same_id(config, fake_allegro, store, settings):
    settings.INTEGRATIONS_HTTP_TIMEOUT = 0.3
    listing = offered(config, fake_allegro, store, sku="TO", stock=7, pushed_quantity=1)
    slow = FakeResponse(201, b"{}", delay=1.0)
    fake_allegro.fail_next("/sale/offer-quantity-change-commands/", slow, slow, slow)
    run = push(config)
    assert run.status == SyncRun.Status.SUCCEEDED
    listing.refresh_from_db()
    command_id = listing.data["commands"]["quantity"]["id"]
    assert "timed out" in listing.error and listing.push_due is True
    assert fake_allegro.commands == {}

    push(config)
    listing.refresh_from_db()
    puts = fake_allegro.calls("PUT", "/sale/offer-quantity-change-commands/")
    assert {p.path.rsplit("/", 1)[1] for p in puts} == {command_id}
    assert list(fake_allegro.commands) == [command_id]
    assert listing.last_pushed_quantity == 7 and listing.error == "" and listing.push_due is False

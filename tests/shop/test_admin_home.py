"""The admin home page, "the day at a glance" (shop/admin_home.py): figures from the report
selectors, each linking to the admin list that holds exactly what it counts, for the member of
staff's stores only, in a fixed number of queries; and the first-steps checklist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations.models import ConnectorConfig, SyncRun
from orders.models import Order, OrderEmail, Return
from recovery.models import TrackedCart
from reports.selectors import sales_series
from reports.selectors.sales import sales_totals
from shop import setup_checklist
from shop.models import Event, EventDelivery
from shop.roles import permissions_for
from tests.catalog.factories import VariantFactory, give_stock
from tests.orders.factories import ShippingMethodFactory
from tests.orders.factories_after_sales import OrderFactory
from tests.shop.factories import StaffFactory, StoreFactory, SuperuserFactory

pytestmark = pytest.mark.django_db

# Wednesday 10 June 2026, 12:00 in Warsaw.
NOW = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _order(store, *, days_ago=0, total="100.00", status=Order.Status.PAID, **kwargs):
    return OrderFactory(
        store=store, status=status, total=Decimal(total), created_at=NOW - timedelta(days=days_ago), **kwargs
    )


def _dashboard(client, user, **params):
    client.force_login(user)
    response = client.get(reverse("admin:index"), params)
    assert response.status_code == 200
    return response.context["dashboard"]


def _list_count(client, url) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    if "cl" in response.context:
        return response.context["cl"].result_count
    return response.context["row_count"]  # the stock report page


def _shop_with_everything(store):
    """Orders in every window and state, a refund, low and sold-out stock, carts, failures."""
    _order(store, days_ago=0, total="120.00")
    _order(store, days_ago=1, total="80.00")
    _order(store, days_ago=3, total="50.00", status=Order.Status.PACKED)
    _order(store, days_ago=10, total="70.00", status=Order.Status.SHIPPED)
    refunded = _order(store, days_ago=2, total="40.00", status=Order.Status.DELIVERED)
    Return.objects.create(order=refunded, status=Return.Status.REFUNDED, refund_amount=Decimal("15.00"))
    Return.objects.create(order=refunded, status=Return.Status.REQUESTED)
    _order(store, days_ago=40, total="300.00")
    _order(store, days_ago=0, total="999.00", status=Order.Status.CANCELLED)
    _order(store, days_ago=0, status=Order.Status.AWAITING_PAYMENT, payment_status=Order.PaymentStatus.UNPAID)
    _order(store, days_ago=0, status=Order.Status.NEW, payment_status=Order.PaymentStatus.UNPAID)
    give_stock(VariantFactory(product__store=store, low_stock_threshold=5), 3)  # low
    VariantFactory(product__store=store, low_stock_threshold=2)  # sold out (nothing on hand)
    give_stock(VariantFactory(product__store=store, low_stock_threshold=2), 50)  # fine
    for state, revenue in (
        ("abandoned", None),
        ("recovered", Decimal("60.00")),
        ("recovered", Decimal("40.00")),
    ):
        TrackedCart.objects.create(
            store=store,
            state=state,
            abandoned_at=NOW - timedelta(days=2),
            is_reachable=True,
            recovered_via="via_link" if revenue else "",
            recovered_revenue=revenue,
        )
    TrackedCart.objects.create(store=store, state="abandoned", abandoned_at=NOW - timedelta(days=45))
    config = ConnectorConfig.objects.create(store=store, connector_type="wholesaler_feed", name="Hurtownia")
    SyncRun.objects.create(config=config, direction="full", status="failed", trigger="schedule")
    SyncRun.objects.create(
        config=config,
        direction="full",
        status="failed",
        trigger="schedule",
        started_at=NOW - timedelta(days=9),
    )
    SyncRun.objects.create(config=config, direction="stock", status="succeeded", trigger="schedule")
    order = Order.objects.filter(store=store).first()
    OrderEmail.objects.create(
        order=order, kind="placed", recipient="a@example.com", attempts=2, last_error="x"
    )
    OrderEmail.objects.create(order=order, kind="paid", recipient="a@example.com", attempts=1, sent_at=NOW)
    event = Event.objects.create(type="order.created", store=store)
    EventDelivery.objects.create(event=event, handler="a.b", status="failed")
    EventDelivery.objects.create(event=event, handler="a.c", status="done")


def test_sales_totals_are_the_sales_reports_totals():
    store = StoreFactory()
    _shop_with_everything(store)
    windows = {"today": (0, 0), "week": (6, 0), "prev_week": (13, 7), "month": (29, 0)}
    (totals,) = sales_totals(stores=[store], windows=windows)
    today = datetime(2026, 6, 10).date()
    for key, (back_from, back_to) in windows.items():
        series = sales_series(
            store=store, date_from=today - timedelta(days=back_from), date_to=today - timedelta(days=back_to)
        ).totals
        figures = totals.figures[key]
        assert (figures["gross"], figures["refunds"], figures["revenue"], figures["orders"]) == (
            series["gross"],
            series["refunds"],
            series["revenue"],
            series["orders"],
        ), key
    assert totals.figures["week"] == {
        "gross": Decimal("290.00"),
        "refunds": Decimal("15.00"),
        "revenue": Decimal("275.00"),
        "orders": 4,
    }


def test_every_figure_links_to_the_list_that_holds_exactly_what_it_counts(client):
    store = StoreFactory()
    _shop_with_everything(store)
    dashboard = _dashboard(client, SuperuserFactory())
    checked = 0
    for card in dashboard["sales"][0]["cards"]:
        assert _list_count(client, card["url"]) == card["orders"], card["key"]
        checked += 1
    today, week, month = dashboard["sales"][0]["cards"]
    assert (today["orders"], week["orders"], month["orders"]) == (1, 4, 5)
    assert "\xa0zł" in week["value"] and week["value"].startswith("275,00")
    for row in dashboard["work"]:
        assert _list_count(client, row["url"]) == row["count"], row["key"]
        checked += 1
    assert {r["key"]: r["count"] for r in dashboard["work"]} == {
        "new": 1,
        "to_pay": 1,
        "to_pack": 3,
        "to_ship": 1,
        "returns": 1,
    }
    (stock,) = dashboard["stock"]
    assert (stock["below"], stock["out"]) == (2, 1)
    assert _list_count(client, stock["url"]) == stock["below"]
    (recovery,) = dashboard["recovery"]
    assert (recovery["abandoned"], recovery["recovered"]) == (3, 2)
    assert recovery["revenue"].startswith("100,00")
    assert _list_count(client, recovery["abandoned_url"]) == 3
    assert _list_count(client, recovery["recovered_url"]) == 2
    failures = {row["key"]: row for row in dashboard["failures"]}
    assert {k: r["count"] for k, r in failures.items()} == {
        "sync_runs": 1,
        "ksef": 0,
        "emails": 1,
        "deliveries": 1,
    }
    for row in failures.values():
        assert _list_count(client, row["url"]) == row["count"], row["key"]
        checked += 1
    assert checked == 3 + 5 + 4


def test_staff_see_only_their_stores_figures_and_lists(client):
    mine, other = StoreFactory(), StoreFactory()
    _shop_with_everything(mine)
    _shop_with_everything(other)
    _order(other, days_ago=0, total="5000.00")
    staff = StaffFactory(all_stores=False, is_superuser=False)
    mine.staff.add(staff)
    from django.contrib.auth.models import Group

    from shop.roles import ROLES, permissions_for

    owner = Group.objects.create(name="owner-test")
    owner.permissions.set(permissions_for(ROLES["Właściciel sklepu (owner)"]))
    staff.groups.add(owner)
    dashboard = _dashboard(client, staff)
    assert dashboard["stores"] == [mine.name]
    today = dashboard["sales"][0]["cards"][0]
    assert today["orders"] == 1 and today["value"].startswith("120,00")
    assert _list_count(client, today["url"]) == 1
    assert {r["key"]: r["count"] for r in dashboard["work"]}["to_pack"] == 3
    for row in dashboard["work"]:
        assert _list_count(client, row["url"]) == row["count"], row["key"]
    assert {o["store"] for o in dashboard["latest"]} == {mine.name}
    assert [s["store"] for s in dashboard["stock"]] == [mine.name]
    # The outbox is System: an owner (not an operator) is not shown its failures.
    assert "deliveries" not in {r["key"] for r in dashboard["failures"]}
    for row in dashboard["failures"]:
        assert _list_count(client, row["url"]) == row["count"], row["key"]


def test_a_member_without_permissions_sees_no_figures(client):
    StoreFactory()
    staff = StaffFactory()
    dashboard = _dashboard(client, staff)
    assert dashboard["sales"] == dashboard["work"] == dashboard["stock"] == []
    assert dashboard["recovery"] == dashboard["failures"] == dashboard["latest"] == []
    assert dashboard["checklist"] is None


def test_the_page_costs_the_same_queries_for_one_order_or_many_stores(client):
    admin_user = SuperuserFactory()
    client.force_login(admin_user)
    store = StoreFactory()
    _order(store)
    client.get(reverse("admin:index"))  # warm caches (content types, permissions)

    def count() -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("admin:index"))
        assert response.status_code == 200
        return [q["sql"][:70] for q in queries]

    small = count()
    for _ in range(3):
        _shop_with_everything(StoreFactory())
    StoreFactory(timezone="Europe/London", currency="EUR")
    client.get(reverse("admin:index"))  # the store cache was bumped by the new stores
    large = count()
    assert len(large) == len(small), "\n".join(large) + "\n-----\n" + "\n".join(small)
    assert len(small) <= 30


def test_stores_in_several_currencies_get_one_set_of_cards_each(client):
    warsaw = StoreFactory()
    euro = StoreFactory(currency="EUR", timezone="Europe/Berlin")
    _order(warsaw, total="10.00")
    _order(euro, total="20.00", currency="EUR")
    dashboard = _dashboard(client, SuperuserFactory())
    groups = {g["currency"]: g["cards"][0] for g in dashboard["sales"]}
    assert groups["PLN"]["value"].startswith("10,00") and groups["EUR"]["value"].startswith("20,00")
    for card in groups.values():
        assert _list_count(client, card["url"]) == card["orders"] == 1


# --- First steps ----------------------------------------------------------------------------------


def test_checklist_ticks_what_is_done_and_says_what_is_missing(client):
    store = StoreFactory(
        domain="localhost.localhost", sender_email="sklep@localhost", bank_account="", is_default=True
    )
    dashboard = _dashboard(client, SuperuserFactory())
    steps = {s.key: s for s in dashboard["checklist"]["steps"]}
    assert list(steps) == ["company", "legal", "gateway", "shipping", "sender", "domain"]
    assert not steps["company"].done and "konta" in steps["company"].note
    assert not steps["sender"].done and "sklep@localhost" in steps["sender"].note
    assert not steps["domain"].done
    assert not steps["shipping"].done
    assert steps["company"].url == reverse("admin:shop_store_change", args=[store.pk])
    assert dashboard["checklist"]["open"]

    store.bank_account = "61 1090 1014 0000 0712 1981 2874"
    store.sender_email = "sklep@moj-sklep.pl"
    store.domain = "moj-sklep.pl"
    store.save()
    ShippingMethodFactory(store=store)
    steps = {s.key: s for s in _dashboard(client, SuperuserFactory())["checklist"]["steps"]}
    assert steps["company"].done and steps["sender"].done and steps["domain"].done and steps["shipping"].done


def test_legal_pages_item_explains_when_the_content_app_is_missing(client, monkeypatch):
    from django.apps import apps

    monkeypatch.setattr(apps, "is_installed", lambda name: name != "content")
    StoreFactory()
    status = setup_checklist._legal_done(StoreFactory())
    assert not status.done and status.note


def test_checklist_hides_once_done_and_reopens_on_request(client):
    StoreFactory()
    original = dict(setup_checklist._REGISTRY)
    try:
        setup_checklist._REGISTRY.clear()
        setup_checklist.register("one", "Krok", lambda store: "/admin/", lambda store: True)
        user = SuperuserFactory()
        assert _dashboard(client, user)["checklist"]["open"] is False
        page = client.get(reverse("admin:index")).content.decode()
        assert "pokaż listę" in page
        assert _dashboard(client, user, setup="1")["checklist"]["open"] is True
        setup_checklist.register(
            "two", "Krok 2", lambda store: None, lambda store: setup_checklist.Status(False, "brak")
        )
        checklist = _dashboard(client, user)["checklist"]
        assert checklist["open"] and (checklist["done"], checklist["total"]) == (1, 2)
    finally:
        setup_checklist._REGISTRY.clear()
        setup_checklist._REGISTRY.update(original)


def test_home_page_is_polish_and_uses_money_format(client):
    store = StoreFactory()
    _order(store, total="1234.50")
    client.force_login(SuperuserFactory())
    page = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="pl").content.decode()
    assert "Dzień w skrócie" in page
    assert "1\xa0234,50\xa0zł" in page
    for english in ("Recent actions", "Periodic tasks", "Last 7 days", "To handle", "Needs attention"):
        assert english not in page


def test_recovery_shows_the_lift_over_the_holdout_group_when_one_runs(client):
    store = StoreFactory()
    carts = [
        ("recovered", False, "via_link", Decimal("50.00")),
        ("abandoned", False, "", None),
        ("abandoned", True, "", None),
        ("abandoned", True, "", None),
    ]
    for state, holdout, via, revenue in carts:
        TrackedCart.objects.create(
            store=store,
            state=state,
            abandoned_at=NOW - timedelta(days=1),
            is_reachable=True,
            is_holdout=holdout,
            recovered_via=via,
            recovered_revenue=revenue,
        )
    (recovery,) = _dashboard(client, SuperuserFactory())["recovery"]
    assert recovery["lift"] == "+50,0"
    assert (recovery["abandoned"], recovery["recovered"], recovery["holdout"]) == (4, 1, 2)
    TrackedCart.objects.filter(is_holdout=True).delete()
    (recovery,) = _dashboard(client, SuperuserFactory())["recovery"]
    assert recovery["lift"] is None


def test_staff_of_no_store_get_a_sentence_not_figures(client):
    other = StoreFactory()
    _order(other, total="77.00")
    staff = StaffFactory(all_stores=False)
    staff.user_permissions.add(*permissions_for(["orders.view_order"]))
    client.force_login(staff)
    response = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="pl")
    assert response.context["dashboard"] == {"no_store": True}
    page = response.content.decode()
    assert "Nie pracujesz jeszcze w żadnym sklepie" in page and "77,00" not in page

"""A walk through the whole admin in Polish, as a merchant sees it.

Logged in as a superuser with the admin in Polish, the walk opens the index, every app page, every
changelist, the change page of one row of every model (rows from tests/shop/admin_walk.py) and
every add page, and fails on:

* a <form> inside another <form> (browsers drop the inner one, so its button posts nothing);
* English words from ``admin_walk.ENGLISH_WORDS`` in the labels: titles, headings, column
  headers, form labels, buttons, the menu, breadcrumbs and object tools;
* raw codes (``awaiting_payment``) and raw durations (``1 day, 0:00:00``) in labels and values.

Not checked, because it is data or input, not the admin's language: text inside <pre>, <code>,
<textarea> and <select>, JSON values, help texts (they quote formats to type verbatim), and the
names stored by the project's setup that double as keys: periodic tasks (name, description),
staff groups (shop/roles.py) and outbox event types (identifiers, as in docs/api.md).
"""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from tests.shop import admin_walk

pytestmark = pytest.mark.django_db


def build_shop(store, user):
    """Rows for every model the admin lists, the main ones through the project's services."""
    from catalog.models import StockReservation
    from orders import invoices, services
    from orders.models import GiftCard, Order, OrderNote, Return, ReturnLine
    from tests.catalog.factories import (
        BackInStockSubscriptionFactory,
        CategoryFactory,
        DownloadGrantFactory,
        ProductGroupFactory,
        VariantFactory,
    )
    from tests.orders.factories import GiftCardFactory, ShippingRateFactory, VoucherFactory, ready_cart
    from tests.orders.factories_after_sales import make_order
    from tests.orders.factories_shipping import CarrierAccountFactory, courier_method, ship_ready_order

    category = CategoryFactory(store=store)
    variant = VariantFactory(store=store, stock=20, product__category=category)
    BackInStockSubscriptionFactory(variant=variant)
    DownloadGrantFactory(asset__variant__store=store)
    ProductGroupFactory(store=store)
    from catalog import redirects
    from tests.catalog.factories import ManufacturerFactory, ResponsiblePersonFactory

    ManufacturerFactory(store=store)
    ResponsiblePersonFactory(store=store)
    redirects.add_redirect(store=store, old_path="/stary-sklep/produkt.html", new_path="/")
    # An order placed through checkout (reservation, payment, status change, e-mail), then paid.
    order = services.place_order(cart=ready_cart(store, [(variant, 1)]))
    assert StockReservation.objects.exists()
    OrderNote.objects.create(order=order, text="Klient prosi o telefon", user=user)
    services.change_status(order=order, status=Order.Status.CANCELLED, user=user, note="")
    paid = services.place_order(cart=ready_cart(store, [(variant, 2)], email="jan@example.com"))
    services.change_status(order=paid, status=Order.Status.PAID, user=user, note="")
    delivered = make_order(store=store, lines=[(variant, 1)])
    ret = Return.objects.create(order=delivered, reason="withdrawal", refund_amount=Decimal("10.00"))
    ReturnLine.objects.create(
        return_request=ret, order_line=delivered.lines.get(), quantity=1, refund_amount=Decimal("10.00")
    )
    invoices.issue_invoice(order=delivered, render="never")
    from orders.models import KsefSettings

    KsefSettings.objects.create(store=store)  # one per store: a generated row would need a new store
    from branding.models import StoreBranding

    StoreBranding.objects.create(store=store)  # keyed by its store: a generated row would need one
    VoucherFactory(store=store)
    GiftCardFactory(store=store)
    assert GiftCard.objects.exists()
    method = courier_method(store)
    ShippingRateFactory(method=method)
    shipped = ship_ready_order(store, method)
    from orders.models import Shipment

    Shipment.objects.create(
        order=shipped,
        account=CarrierAccountFactory(store=store, carrier="inpost"),
        carrier="inpost",
        service="x",
    )
    # Whatever is still empty gets one row with its required fields.
    for model in admin.site._registry:
        if not model._default_manager.exists():
            admin_walk.minimal_row(model)


def _urls(model, obj):
    opts = model._meta
    prefix = f"admin:{opts.app_label}_{opts.model_name}"
    urls = [reverse(f"{prefix}_changelist")]
    with contextlib.suppress(NoReverseMatch):
        urls.append(reverse(f"{prefix}_add"))
    if obj is not None:
        urls.append(reverse(f"{prefix}_change", args=[obj.pk]))
    return urls


def test_the_admin_in_polish_has_no_english_no_raw_codes_and_no_nested_forms(client, store, settings):
    from tests.shop.factories import SuperuserFactory

    settings.LANGUAGE_CODE = "pl"
    user = SuperuserFactory(language="pl")
    build_shop(store, user)
    client.force_login(user)
    client.raise_request_exception = False  # a page that crashes is one failure among the others
    from django.contrib.auth.models import Group
    from django_celery_beat.models import PeriodicTask

    from shop.models import Event

    data_names = [
        *PeriodicTask.objects.values_list("name", flat=True),
        *PeriodicTask.objects.values_list("description", flat=True),
        *Group.objects.values_list("name", flat=True),
        *Event.objects.values_list("type", flat=True).distinct(),
    ]
    ignore = tuple(sorted(set(data_names), key=len, reverse=True))
    from catalog.models import Variant
    from orders.models import Order
    from recovery.models import Step

    order, variant = Order.objects.order_by("pk").first(), Variant.objects.order_by("pk").first()
    pages = [reverse("admin:index"), reverse("admin:outbox")]
    # The admin's own pages beside the model pages.
    pages += [
        reverse("admin:recovery_dashboard"),
        reverse("admin:recovery_step_preview", args=[Step.objects.order_by("pk").first().pk])
        + "?language=pl",
        reverse("admin:orders_order_refund", args=[order.pk]),
        reverse("admin:orders_order_ship", args=[order.pk]),
        reverse("admin:orders_order_packing_list", args=[order.pk]),
        reverse("admin:catalog_variant_adjust_stock", args=[variant.pk]),
        *(
            reverse(f"admin:reports_reportjob_{name}")
            for name in ("sales", "orders", "products", "stock", "recovery")
        ),
    ]
    pages += sorted({reverse("admin:app_list", args=[m._meta.app_label]) for m in admin.site._registry})
    for model in admin.site._registry:
        pages += _urls(model, model._default_manager.order_by("pk").first())
    failures = []
    for url in pages:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="pl")
        if response.status_code in (302, 403):
            continue  # an add page the admin refuses or sends elsewhere (a connector type to choose)
        if response.status_code != 200:
            failures.append(f"{url}: HTTP {response.status_code}")
            continue
        page = admin_walk.parse(response.content.decode())
        failures += [f"{url}: <form {inner}> nested in <form {outer}>" for outer, inner in page.nested]
        failures += [f"{url}: {p}" for p in admin_walk.problems(page.labels, page.values, ignore)]
    assert len(pages) > 150  # every model's changelist, add and change page
    index = admin_walk.parse(client.get(reverse("admin:index")).content.decode())
    # The README's "Admin → Outbox" is a menu entry; third-party apps are in Polish too (the home
    # page lists the menu's entries as links, shop/admin_nav.py).
    for label in ("Skrzynka nadawcza", "Zadania okresowe", "Rezerwacje stanu", "Zdarzenia"):
        assert label in index.labels + index.values, label
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(dict.fromkeys(failures))

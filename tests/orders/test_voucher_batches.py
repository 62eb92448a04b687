"""Voucher batches (many single-use codes at once, exported) and vouchers limited to products and
categories: the limit goes through the one allocation rule of orders/pricing.py."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from catalog.models import Product, Variant
from orders import services
from orders.models import Voucher, VoucherBatch
from orders.pricing import VoucherScope, price_basket
from orders.services import codes
from orders.services.errors import CartError
from tests.catalog.factories import CategoryFactory, ProductFactory, VariantFactory
from tests.orders.factories import VoucherFactory, ready_cart
from tests.shop.factories import StaffFactory, StoreFactory, SuperuserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]
D = Decimal
WARSAW = ZoneInfo("Europe/Warsaw")
NOW = datetime(2026, 5, 4, 10, 0, tzinfo=WARSAW)
CODE_RE = re.compile(r"^LATO-[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{10}$")


@pytest.fixture
def staff(client):
    user = SuperuserFactory()
    client.force_login(user)
    client.user = user
    return client


def _batch(store, **kwargs):
    defaults = {
        "store": store,
        "name": "Newsletter maj",
        "count": 50,
        "kind": Voucher.Kind.FIXED,
        "value": D("20"),
        "prefix": "lato",
        "valid_until": timezone.now() + timedelta(days=30),
    }
    return codes.create_voucher_batch(**{**defaults, **kwargs})


# --- Generating --------------------------------------------------------------------------------


def test_a_batch_creates_unique_unguessable_single_use_codes(store):
    batch = _batch(store, count=300, min_basket=D("100"))
    vouchers = list(batch.vouchers.all())
    assert len(vouchers) == 300 == len({v.code for v in vouchers})
    assert all(CODE_RE.match(v.code) for v in vouchers)
    assert all(v.usage_limit == 1 and v.is_single_use and v.min_basket == D("100") for v in vouchers)
    assert all(v.valid_until == batch.valid_until and v.value == D("20.00") for v in vouchers)


def test_the_queries_do_not_grow_with_the_number_of_codes(store):
    with CaptureQueriesContext(connection) as small:
        _batch(store, count=10)
    with CaptureQueriesContext(connection) as big:
        _batch(store, count=3000, name="Duża")

    def split(captured):
        inserts = [
            q for q in captured.captured_queries if q["sql"].startswith('INSERT INTO "orders_voucher" ')
        ]
        return len(inserts), len(captured.captured_queries) - len(inserts)

    (small_inserts, small_rest), (big_inserts, big_rest) = split(small), split(big)
    assert big_rest == small_rest  # everything but the inserts is the same for 10 or 3000 codes
    # Inserts come in batches: 2000 rows on PostgreSQL, as many as SQLite's parameter limit allows.
    assert small_inserts == 1 and big_inserts <= 3000 // 50
    assert Voucher.objects.filter(batch__name="Duża").count() == 3000


def test_a_code_already_taken_in_the_store_is_drawn_again(store, monkeypatch):
    VoucherFactory(store=store, code="LATO-AAAAAAAAAA")
    drawn = iter(["LATO-AAAAAAAAAA", "LATO-BBBBBBBBBB", "LATO-CCCCCCCCCC"])
    monkeypatch.setattr(codes, "_batch_code", lambda prefix: next(drawn))
    batch = _batch(store, count=2)
    assert sorted(batch.vouchers.values_list("code", flat=True)) == ["LATO-BBBBBBBBBB", "LATO-CCCCCCCCCC"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"count": 0}, "between 1 and 10000"),
        ({"count": 10_001}, "between 1 and 10000"),
        ({"count": 100_001}, "between 1 and 10000"),
        ({"prefix": "LA TO"}, "without spaces"),
        ({"prefix": "ŻÓŁW"}, "without spaces"),
        ({"prefix": "A" * 200}, "at most 12"),
        ({"kind": "percentage", "value": D("150")}, "between 0 and 100"),
        ({"value": D("0")}, "value of the discount"),
        ({"kind": "bogus"}, "kind of discount"),
    ],
)
def test_hostile_batches_are_refused_with_a_message(store, changes, message):
    with pytest.raises(ValueError, match=message):
        _batch(store, **changes)
    assert not VoucherBatch.objects.exists() and not Voucher.objects.exists()


def test_products_of_another_store_cannot_limit_a_batch(store):
    other = ProductFactory(store=StoreFactory())
    with pytest.raises(ValueError, match="batch's store"):
        _batch(store, products=[other])


# --- Limited to products and categories --------------------------------------------------------


def test_a_scoped_voucher_discounts_only_matching_lines(store):
    shoes = CategoryFactory(store=store, name="Buty")
    sandals = CategoryFactory(store=store, parent=shoes, name="Sandały")
    in_sub = VariantFactory(product=ProductFactory(store=store, category=sandals), stock=5, price=D("100.00"))
    chosen = VariantFactory(store=store, stock=5, price=D("50.00"))
    other = VariantFactory(store=store, stock=5, price=D("80.00"))
    batch = _batch(store, count=1, value=D("30"), categories=[shoes], products=[chosen.product])
    code = batch.vouchers.get().code
    cart = ready_cart(store, [(in_sub, 1), (chosen, 1), (other, 1)])
    services.apply_code(cart=cart, code=code, client_keys=["t"])
    order = services.place_order(cart=cart)
    by_variant = {line.variant_id: line.discount for line in order.lines.all()}
    assert by_variant[other.pk] == 0
    assert by_variant[in_sub.pk] + by_variant[chosen.pk] == D("30.00") == order.discount_total
    assert by_variant[in_sub.pk] == D("20.00")  # split by value: 100 : 50


def test_a_scoped_percentage_voucher_on_a_single_voucher(store):
    kept = VariantFactory(store=store, stock=5, price=D("40.00"))
    other = VariantFactory(store=store, stock=5, price=D("60.00"))
    voucher = VoucherFactory(store=store, kind=Voucher.Kind.PERCENTAGE, value=D("25"))
    voucher.products.set([kept.product])
    cart = ready_cart(store, [(kept, 2), (other, 1)])
    services.apply_code(cart=cart, code=voucher.code, client_keys=["t"])
    loaded = services.load_for_checkout(cart)
    assert loaded.basket.discount == D("20.00")
    assert [p.discount for p in loaded.basket.lines] == [D("20.00"), D("0.00")]


def test_nothing_matching_in_the_cart_gives_a_clear_message(store):
    voucher = VoucherFactory(store=store, kind=Voucher.Kind.FIXED, value=D("10"))
    voucher.products.set([ProductFactory(store=store)])
    cart = ready_cart(store, [(VariantFactory(store=store, stock=5, price=D("50.00")), 1)])
    with pytest.raises(CartError, match="only to selected products, and none of them is in your cart"):
        services.apply_code(cart=cart, code=voucher.code, client_keys=["t"])


def test_the_message_is_polish_on_a_polish_page(store):
    from django.utils import translation

    voucher = VoucherFactory(store=store, kind=Voucher.Kind.FIXED, value=D("10"))
    voucher.categories.set([CategoryFactory(store=store)])
    cart = ready_cart(store, [(VariantFactory(store=store, stock=5, price=D("50.00")), 1)])
    with translation.override("pl"), pytest.raises(CartError) as caught:
        services.apply_code(cart=cart, code=voucher.code, client_keys=["t"])
    assert "koszyku" in str(caught.value)


def test_removing_the_matching_line_later_shows_the_problem_at_checkout(store):
    kept = VariantFactory(store=store, stock=5, price=D("40.00"))
    other = VariantFactory(store=store, stock=5, price=D("60.00"))
    voucher = VoucherFactory(store=store, kind=Voucher.Kind.FIXED, value=D("10"))
    voucher.products.set([kept.product])
    cart = ready_cart(store, [(kept, 1), (other, 1)])
    services.apply_code(cart=cart, code=voucher.code, client_keys=["t"])
    cart.lines.filter(variant=kept).delete()
    basket = services.load_for_checkout(cart).basket
    assert basket.discount == 0 and "none of them is in your cart" in basket.voucher_problem


# --- Property: never more than the matching lines, never negative ------------------------------

_pks = count(10_000)
line = st.fixed_dictionaries(
    {
        "price": st.integers(min_value=1, max_value=50_000).map(lambda g: D(g) / 100),
        "quantity": st.integers(min_value=1, max_value=5),
        "category": st.sampled_from([1, 2, 3]),
        "gift_card": st.sampled_from([False, False, False, True]),
    }
)


@settings(max_examples=400, deadline=None)
@given(
    lines=st.lists(line, min_size=1, max_size=7),
    kind=st.sampled_from([Voucher.Kind.FIXED, Voucher.Kind.PERCENTAGE]),
    value=st.integers(min_value=1, max_value=100_000).map(lambda g: D(g) / 100),
    categories=st.sets(st.sampled_from([1, 2, 3]), max_size=2),
    by_product=st.booleans(),
)
def test_a_scoped_discount_never_exceeds_the_matching_lines_and_is_never_negative(
    lines, kind, value, categories, by_product
):
    if kind == Voucher.Kind.PERCENTAGE:
        value = min(value, D("100"))
    variants = []
    for spec in lines:
        product = Product(
            pk=next(_pks),
            kind=Product.Kind.GIFT_CARD if spec["gift_card"] else Product.Kind.STANDARD,
            vat_rate="23",
            category_id=spec["category"],
        )
        variants.append((Variant(pk=next(_pks), product=product, price=spec["price"]), spec["quantity"]))
    products = frozenset({variants[0][0].product.pk}) if by_product else frozenset()
    scope = VoucherScope(product_ids=products, category_ids=frozenset(categories))
    voucher = Voucher(pk=next(_pks), store_id=1, kind=kind, value=value, is_active=True)
    basket = price_basket(
        lines=variants, currency="PLN", store_id=1, now=timezone.now(), voucher=voucher, voucher_scope=scope
    )
    matching = [p for p in basket.lines if not p.is_gift_card and scope.matches(p.variant)]
    matching_total = sum((p.total for p in matching), D("0"))
    for p in basket.lines:
        assert D("0") <= p.discount <= p.total
        if p not in matching:
            assert p.discount == 0
    assert D("0") <= basket.discount <= matching_total
    if basket.voucher is not None and kind == Voucher.Kind.FIXED:
        assert basket.discount == min(value, matching_total)
    if scope.is_limited and matching_total == 0:
        assert basket.voucher is None and basket.voucher_problem


# --- Admin: the form, the batch page, the exports ----------------------------------------------


def _form(store, **changes):
    data = {
        "store": store.pk,
        "name": "Ulotka",
        "prefix": "LATO",
        "count": "25",
        "kind": "fixed",
        "value": "15.00",
        "min_basket": "100.00",
        "valid_until_0": "2026-06-30",
        "valid_until_1": "23:59:00",
    }
    data.update(changes)
    return data


@time_machine.travel(NOW, tick=False)
def test_the_admin_form_generates_a_batch(staff, store):
    response = staff.post(reverse("admin:orders_voucherbatch_add"), _form(store))
    assert response.status_code == 302
    batch = VoucherBatch.objects.get()
    assert batch.count == 25 == batch.vouchers.count() and batch.created_by == staff.user
    page = staff.get(reverse("admin:orders_voucherbatch_change", args=[batch.pk]))
    assert page.status_code == 200
    assert "0 z 25" in page.content.decode()


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"count": "0"}, "count"),
        ({"count": "100001"}, "count"),
        ({"count": "dużo"}, "count"),
        ({"prefix": "la to"}, "prefix"),
        ({"prefix": "ŁÓDŹ"}, "prefix"),
        ({"prefix": "X" * 200}, "prefix"),
        ({"prefix": "X" * 201}, "prefix"),
        ({"kind": "percentage", "value": "120"}, "value"),
        ({"valid_until_0": "2020-01-01"}, "valid_until"),
        ({"value": "-5"}, "value"),
    ],
)
def test_the_admin_form_refuses_hostile_input_with_a_field_error(staff, store, changes, field):
    response = staff.post(reverse("admin:orders_voucherbatch_add"), _form(store, **changes))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not VoucherBatch.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_the_batch_list_has_a_constant_number_of_queries(staff, store, django_assert_max_num_queries):
    for n in range(3):
        _batch(store, count=5, name=f"Partia {n}")
    with django_assert_max_num_queries(12):
        response = staff.get(reverse("admin:orders_voucherbatch_changelist"))
    assert response.status_code == 200
    for n in range(5):
        _batch(store, count=5, name=f"Więcej {n}")
    with django_assert_max_num_queries(12):
        assert staff.get(reverse("admin:orders_voucherbatch_changelist")).status_code == 200


@time_machine.travel(NOW, tick=False)
def test_csv_and_xlsx_exports_list_every_code_and_its_use(staff, store):
    batch = _batch(store, count=4, name="=HYPERLINK(zly)")
    used = batch.vouchers.order_by("code").first()
    Voucher.objects.filter(pk=used.pk).update(used_count=1)
    response = staff.get(reverse("admin:orders_voucherbatch_export", args=[batch.pk, "csv"]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "kod" and len(rows) == 5  # the admin speaks the store's Polish
    assert {r[0] for r in rows[1:]} == set(batch.vouchers.values_list("code", flat=True))
    assert rows[1][4] == "tak" and {r[4] for r in rows[2:]} == {"nie"}
    assert rows[1][1] == "20,00\xa0zł"
    response = staff.get(reverse("admin:orders_voucherbatch_export", args=[batch.pk, "xlsx"]))
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert len(values) == 5 and values[1][0] == rows[1][0]
    assert staff.get(reverse("admin:orders_voucherbatch_export", args=[batch.pk, "pdf"])).status_code == 404


@time_machine.travel(NOW, tick=False)
def test_staff_of_another_store_cannot_see_or_export_a_batch(client, store):
    batch = _batch(store, count=2)
    other_store = StoreFactory()
    user = StaffFactory(all_stores=False)
    user.user_permissions.set(Permission.objects.filter(codename__endswith="_voucherbatch"))
    other_store.staff.add(user)
    client.force_login(user)
    assert client.get(reverse("admin:orders_voucherbatch_change", args=[batch.pk])).status_code in (302, 404)
    assert client.get(reverse("admin:orders_voucherbatch_export", args=[batch.pk, "csv"])).status_code == 404
    response = client.post(reverse("admin:orders_voucherbatch_add"), _form(store))
    assert response.status_code == 200 and "store" in response.context["adminform"].form.errors
    assert VoucherBatch.objects.count() == 1


def test_a_code_cannot_be_moved_into_a_set_by_hand():
    # A set's product limit applies to its codes: only generating a set puts codes in it.
    from django.forms import modelform_factory

    fields = modelform_factory(Voucher, fields="__all__")().fields
    assert "batch" not in fields and {"products", "categories"} <= set(fields)

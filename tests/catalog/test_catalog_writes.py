"""Catalog writes the admin and the API share: deleting variants and products, attribute slugs,
stock and price changes by row, and the variant form asking the service's validators."""

from decimal import Decimal

import pytest
from django.db.models import ProtectedError
from django.urls import reverse

from catalog import services, stock
from catalog.admin_forms import VariantForm
from catalog.models import (
    Attribute,
    AttributeValue,
    PriceHistory,
    Product,
    SetComponent,
    StockItem,
    StockMovement,
    Variant,
    Warehouse,
)
from orders.models import OrderLine
from tests.catalog.factories import (
    AttributeFactory,
    AttributeValueFactory,
    ProductFactory,
    VariantFactory,
    WarehouseFactory,
    give_stock,
    main_warehouse,
    make_set,
)
from tests.orders.factories_after_sales import make_order
from tests.shop.factories import StoreFactory, SuperuserFactory

pytestmark = pytest.mark.django_db


# --- Deleting ------------------------------------------------------------------------------------


def test_deleting_a_variant_refreshes_its_product_and_keeps_order_lines(store):
    product = ProductFactory(store=store)
    cheap = VariantFactory(product=product, sku="TANIA-1", price=Decimal("50"), stock=2)
    VariantFactory(product=product, sku="DROGA-1", price=Decimal("80"))
    order = make_order(store=store, lines=[(cheap, 1)])
    services.delete_variant(variant=cheap)
    product.refresh_from_db()
    assert product.min_price == Decimal("80.00")
    assert "tania-1" not in product.search_text and "droga-1" in product.search_text
    assert not StockItem.objects.filter(variant_id=cheap.pk).exists()
    assert not PriceHistory.objects.filter(variant_id=cheap.pk).exists()
    line = OrderLine.objects.get(order=order)
    assert (line.variant_id, line.sku) == (None, "TANIA-1")


def test_a_variant_in_a_set_cannot_be_deleted_and_nothing_changes(store):
    part = VariantFactory(store=store, price=Decimal("30"), stock=4)
    make_set(store=store, components=[(part, 2)])
    with pytest.raises(ProtectedError):
        services.delete_variant(variant=part)
    with pytest.raises(ProtectedError):
        services.delete_product(product=part.product)
    assert Variant.objects.filter(pk=part.pk).exists()
    assert SetComponent.objects.filter(variant=part).exists()
    assert Product.objects.get(pk=part.product_id).min_price == Decimal("30.00")


def test_deleting_a_product_deletes_its_variants(store):
    variant = VariantFactory(store=store)
    services.delete_product(product=variant.product)
    assert not Product.objects.filter(pk=variant.product_id).exists()
    assert not Variant.objects.filter(pk=variant.pk).exists()


def test_the_admin_deletes_a_variant_through_the_service(client, store):
    client.force_login(SuperuserFactory())
    product = ProductFactory(store=store)
    cheap = VariantFactory(product=product, price=Decimal("20"))
    VariantFactory(product=product, price=Decimal("90"))
    response = client.post(reverse("admin:catalog_variant_delete", args=[cheap.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Variant.objects.filter(pk=cheap.pk).exists()
    product.refresh_from_db()
    assert product.min_price == Decimal("90.00")  # refreshed: a bare delete would leave 20.00


# --- Attribute slugs -----------------------------------------------------------------------------


def test_attribute_slugs_are_transliterated_and_unique_in_the_store(store):
    size = services.save_attribute(attribute=Attribute(store=store, name="Rozmiar buta"))
    assert size.slug == "rozmiar-buta"
    clash = services.save_attribute(attribute=Attribute(store=store, name="Rozmiar  BUTA!"))
    assert clash.slug == "rozmiar-buta-2"
    typed = services.save_attribute(attribute=Attribute(store=store, name="Kolor", slug="Mój-Kolor"))
    assert typed.slug == "moj-kolor"
    assert services.save_attribute(attribute=Attribute(store=store, name="—")).slug == "cecha"
    assert services.save_attribute(attribute=Attribute(store=store, name="!!!")).slug == "cecha-2"
    elsewhere = services.save_attribute(attribute=Attribute(store=StoreFactory(), name="Rozmiar buta"))
    assert elsewhere.slug == "rozmiar-buta"
    long = services.save_attribute(attribute=Attribute(store=store, name="Ż" * 80))
    longer = services.save_attribute(attribute=Attribute(store=store, name="ż" * 80))
    assert long.slug == "z" * 80 and longer.slug == "z" * 74 + "-2"
    size.name = "Rozmiar buta (EU)"
    size.slug = "rozmiar-buta"
    assert services.save_attribute(attribute=size).slug == "rozmiar-buta"  # its own slug is free


def test_attribute_value_slugs_are_unique_within_their_attribute(store):
    size = AttributeFactory(store=store, name="Rozmiar")
    colour = AttributeFactory(store=store, name="Kolor")
    xl = services.save_attribute_value(value=AttributeValue(attribute=size, value="XL"))
    again = services.save_attribute_value(value=AttributeValue(attribute=size, value="xl"))
    other = services.save_attribute_value(value=AttributeValue(attribute=colour, value="XL"))
    empty = services.save_attribute_value(value=AttributeValue(attribute=size, value="???"))
    assert [xl.slug, again.slug, other.slug, empty.slug] == ["xl", "xl-2", "xl", "wartosc"]


def test_the_admin_saves_attribute_slugs_through_the_service(client, store):
    client.force_login(SuperuserFactory())
    AttributeFactory(store=store, name="Żółć")
    data = {
        "name": "Żółć",
        "slug": "Zolc",
        "store": str(store.pk),
        "position": "0",
        "values-TOTAL_FORMS": "2",
        "values-INITIAL_FORMS": "0",
        "values-MIN_NUM_FORMS": "0",
        "values-MAX_NUM_FORMS": "1000",
        "values-0-value": "Łąka",
        "values-0-slug": "laka",
        "values-0-position": "0",
        "values-1-value": "ŁĄKA",
        "values-1-slug": "Laka",
        "values-1-position": "1",
    }
    response = client.post(reverse("admin:catalog_attribute_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    attribute = Attribute.objects.exclude(slug="zolc").get(store=store)
    assert attribute.slug == "zolc-2"
    assert sorted(attribute.values.values_list("slug", flat=True)) == ["laka", "laka-2"]


# --- Prices and stock by row ---------------------------------------------------------------------


def test_price_rows_record_the_history_or_refuse_every_bad_row(store):
    a = VariantFactory(store=store, sku="A", price=Decimal("100"))
    b = VariantFactory(store=store, sku="B", price=Decimal("100"))
    foreign = VariantFactory(sku="F", price=Decimal("100"))
    changed = services.change_prices_by_row(
        store=store,
        rows=[{"sku": "A", "price": Decimal("79.999")}, {"variant_id": b.pk, "price": Decimal("100")}],
    )
    assert [v.pk for v in changed] == [a.pk, b.pk]
    a.refresh_from_db()
    assert a.price == Decimal("80.00")
    assert list(PriceHistory.objects.filter(variant=a).order_by("pk").values_list("price", flat=True)) == [
        Decimal("100.00"),
        Decimal("80.00"),
    ]
    assert PriceHistory.objects.filter(variant=b).count() == 1  # the same price is no new period
    with pytest.raises(services.RowsRefused) as refused:
        services.change_prices_by_row(
            store=store,
            rows=[
                {"sku": "A", "price": Decimal("10")},
                {"variant_id": foreign.pk, "price": Decimal("1")},
                {"sku": "NOPE", "price": Decimal("1")},
            ],
        )
    assert refused.value.errors == {
        "rows.1.variant_id": ["No such variant."],
        "rows.2.sku": ["No such variant."],
    }
    with pytest.raises(services.RowsRefused) as refused:
        services.change_prices_by_row(
            store=store,
            rows=[
                {"sku": "A", "price": Decimal("10")},
                {"sku": "B", "price": Decimal("-1")},
                {"sku": "B", "price": Decimal("50"), "compare_at_price": Decimal("50")},
            ],
        )
    assert set(refused.value.errors) == {"rows.1.price", "rows.2.compare_at_price"}
    a.refresh_from_db()
    assert a.price == Decimal("80.00")
    assert PriceHistory.objects.filter(variant=a).count() == 2
    foreign.refresh_from_db()
    assert foreign.price == Decimal("100.00")


def test_stock_rows_use_the_first_warehouse_by_priority_and_are_all_or_nothing(store):
    a = VariantFactory(store=store, sku="A")
    b = VariantFactory(store=store, sku="B")
    WarehouseFactory(store=store, code="zapas", priority=5)
    first = WarehouseFactory(store=store, code="sklep", priority=1)
    Warehouse.objects.create(store=store, code="stary", name="Stary", is_active=False)
    done = stock.adjust_stock_by_row(
        store=store,
        rows=[
            {"sku": "A", "quantity": 4},
            {"variant_id": b.pk, "delta": 2, "warehouse": "zapas", "note": "dostawa"},
        ],
        reference="api:test",
    )
    assert [(v.sku, w.code, item.quantity) for v, w, item in done] == [("A", "sklep", 4), ("B", "zapas", 2)]
    assert StockItem.objects.get(variant=a, warehouse=first).quantity == 4
    assert set(StockMovement.objects.values_list("reference", flat=True)) == {"api:test"}
    assert StockMovement.objects.get(stock_item__variant=b).note == "dostawa"
    movements = StockMovement.objects.count()
    with pytest.raises(services.RowsRefused) as refused:
        stock.adjust_stock_by_row(
            store=store,
            rows=[{"sku": "A", "quantity": 9}, {"sku": "B", "delta": 1, "warehouse": "stary"}],
        )
    assert refused.value.errors == {"rows.1.warehouse": ["No such warehouse."]}
    with pytest.raises(services.RowsRefused) as refused:
        stock.adjust_stock_by_row(store=store, rows=[{"sku": "A", "quantity": 9}, {"sku": "B", "delta": -3}])
    assert list(refused.value.errors) == ["rows.1.delta"]
    assert StockItem.objects.get(variant=a, warehouse=first).quantity == 4  # the first row rolled back
    assert StockMovement.objects.count() == movements


def test_stock_rows_without_any_active_warehouse_are_refused(store):
    VariantFactory(store=store, sku="A")
    with pytest.raises(services.RowsRefused) as refused:
        stock.adjust_stock_by_row(store=store, rows=[{"sku": "A", "delta": 1}])
    assert refused.value.errors == {"rows.0.warehouse": ["No such warehouse."]}


# --- The variant form asks the service -----------------------------------------------------------


def _form(product, instance=None, **values):
    data = {
        "sku": "NOWY-1",
        "ean": "",
        "name": "",
        "price": "100.00",
        "compare_at_price": "",
        "cost_price": "",
        "weight_grams": "300",
        "position": "0",
        "is_active": "on",
        "track_stock": "on",
        "backorder": "deny",
        "low_stock_threshold": "3",
        "release_date": "",
        "preorder_limit": "",
        **values,
    }
    return VariantForm(data=data, instance=instance or Variant(product=product))


def test_the_variant_form_reports_the_service_rules(store):
    product = ProductFactory(store=store)
    VariantFactory(product=ProductFactory(store=store), sku="ZAJETY")
    VariantFactory(sku="OBCY")  # another store's SKU is free here
    assert _form(product, sku="OBCY").is_valid()
    cases = [
        ({"sku": "ZAJETY"}, "sku", "Another variant in this store already has SKU ZAJETY."),
        (
            {"compare_at_price": "100.00"},
            "compare_at_price",
            "The compare-at price must be higher than the price.",
        ),
        ({"is_preorder": "on"}, "release_date", "A pre-order needs a release date."),
    ]
    for values, field, message in cases:
        form = _form(product, **values)
        assert not form.is_valid()
        assert form.errors[field] == [message], values


def test_the_variant_form_does_not_repeat_a_field_that_failed_its_own_check(store):
    product = ProductFactory(store=store)
    for price in ["abc", "-5", "1e400", "NaN", ""]:
        form = _form(product, price=price, compare_at_price="10.00")
        assert not form.is_valid()
        assert "compare_at_price" not in form.errors, price
        assert len(form.errors["price"]) >= 1
        assert not any("compare-at" in str(m) for m in form.errors["price"])
    form = _form(product, sku="x" * 65)
    assert not form.is_valid() and list(form.errors) == ["sku"]


def test_the_variant_form_checks_attribute_values_with_the_service(store):
    size = AttributeFactory(store=store, name="Rozmiar")
    colour = AttributeFactory(store=store, name="Kolor")
    s, m = AttributeValueFactory(attribute=size, value="S"), AttributeValueFactory(attribute=size, value="M")
    red = AttributeValueFactory(attribute=colour, value="Czerwony")
    product = ProductFactory(store=store)
    product.variant_attributes.set([size])
    assert _form(product, attribute_values=[str(s.pk)]).is_valid()
    form = _form(product, attribute_values=[str(s.pk), str(m.pk), str(red.pk)])
    assert not form.is_valid()
    assert form.errors["attribute_values"] == [
        "These attributes are not variant attributes of the product: Kolor.",
        "Choose only one value of: Rozmiar.",
    ]
    form = _form(product, attribute_values=[])
    assert not form.is_valid()
    assert form.errors["attribute_values"] == ["Choose a value for: Rozmiar."]
    unsaved = Product(store=store, name="Nowy")
    unsaved._pending_variant_attributes = [colour]
    form = _form(unsaved, attribute_values=[str(s.pk)])
    assert not form.is_valid()
    assert form.errors["attribute_values"] == [
        "Choose a value for: Kolor.",
        "These attributes are not variant attributes of the product: Rozmiar.",
    ]


def test_stock_in_the_main_warehouse_is_kept_when_a_set_blocks_a_delete(store):
    part = VariantFactory(store=store)
    give_stock(part, 3)
    make_set(store=store, components=[(part, 1)])
    with pytest.raises(ProtectedError):
        services.delete_variant(variant=part)
    assert StockItem.objects.get(variant=part, warehouse=main_warehouse(store)).quantity == 3


def test_price_history_rows_only_for_new_or_changed_prices(store):
    same = VariantFactory(store=store, price=Decimal("10.00"))
    cheaper = VariantFactory(store=store, price=Decimal("8.00"), compare_at_price=Decimal("10.00"))
    new = Variant(pk=None, price=Decimal("5.00"))
    old_prices = {same.pk: (Decimal("10"), None), cheaper.pk: (Decimal("10.00"), None)}
    rows = services.price_history_rows([same, cheaper, new], at="then", old_prices=old_prices)
    assert [(r.variant, r.price, r.compare_at_price, r.valid_from) for r in rows] == [
        (cheaper, Decimal("8.00"), Decimal("10.00"), "then"),
        (new, Decimal("5.00"), None, "then"),
    ]

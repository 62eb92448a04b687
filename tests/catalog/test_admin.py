"""The merchant's admin: saves go through services, every bad input gets a message, never a 500."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.models import PriceHistory, Product, SetComponent, StockMovement, Variant
from tests.catalog.factories import (
    AttributeFactory,
    AttributeValueFactory,
    BackInStockSubscriptionFactory,
    CategoryFactory,
    SetProductFactory,
    VariantFactory,
    WarehouseFactory,
    give_stock,
)
from tests.shop.factories import StoreFactory, SuperuserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, store):
    client.force_login(SuperuserFactory())
    return client


def _management(prefix, total=0, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def _variant_fields(i, **values):
    data = {
        "sku": f"SKU-{i}",
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
    }
    data.update(values)
    return {f"variants-{i}-{k}": v for k, v in data.items() if v is not None}


def _product_post(
    store, *, kind="standard", name="Sukienka łąkowa", variants=None, components=None, attributes=(), **extra
):
    data = {
        "store": str(store.pk),
        "kind": kind,
        "name": name,
        "slug": "",
        "category": "",
        "brand": "",
        "description": "Opis",
        "vat_rate": "23",
        "is_published": "on",
        "variant_attributes": [str(a.pk) for a in attributes],
        **_management("variants", len(variants or [])),
        **_management("images", 0),
        **_management("components", len(components or [])),
        **extra,
    }
    for i, v in enumerate(variants or []):
        data.update(_variant_fields(i, **v))
    for i, (variant, quantity) in enumerate(components or []):
        data.update({f"components-{i}-variant": str(variant.pk), f"components-{i}-quantity": str(quantity)})
    return data


def test_add_product_with_variants_through_services(admin_client, store):
    size = AttributeFactory(store=store, name="Rozmiar")
    s = AttributeValueFactory(attribute=size, value="S")
    m = AttributeValueFactory(attribute=size, value="M")
    data = _product_post(
        store,
        attributes=[size],
        variants=[{"attribute_values": [str(s.pk)]}, {"attribute_values": [str(m.pk)], "price": "120.00"}],
    )
    response = admin_client.post(reverse("admin:catalog_product_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    product = Product.objects.get()
    assert product.slug == "sukienka-lakowa" and product.published_at is not None
    assert product.min_price == Decimal("100.00")
    assert sorted(product.variants.values_list("name", flat=True)) == ["M", "S"]
    assert PriceHistory.objects.filter(variant__product=product).count() == 2


def test_variant_missing_a_required_attribute_gets_a_message(admin_client, store):
    size = AttributeFactory(store=store, name="Rozmiar")
    data = _product_post(store, attributes=[size], variants=[{"attribute_values": []}])
    response = admin_client.post(reverse("admin:catalog_product_add"), data)
    assert response.status_code == 200
    assert (
        "Choose a value for: Rozmiar" in response.content.decode()
        or "Wybierz wartość dla: Rozmiar" in response.content.decode()
    )
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"price": "-5.00"}, "cannot be negative"),
        ({"price": "10.00", "compare_at_price": "5.00"}, "compare-at price must be higher"),
        ({"is_preorder": "on"}, "pre-order needs a release date"),
        ({"ean": "123"}, "8, 12, 13 or 14 digits"),
        ({"ean": "5901234123458"}, "wrong check digit"),
        ({"price": "abc"}, "Enter a number"),
    ],
)
def test_bad_variant_values_are_messages_not_500(admin_client, store, fields, message):
    admin_client.cookies["django_language"] = "en"
    response = admin_client.post(
        reverse("admin:catalog_product_add"), _product_post(store, variants=[fields])
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Product.objects.exists()


def test_editing_a_price_records_history_and_keeps_other_data(admin_client, store):
    variant = VariantFactory(store=store, sku="K-1", price=Decimal("80"))
    product = variant.product
    data = _product_post(store, name=product.name, slug=product.slug)
    data.update(_management("variants", 1, 1))
    data.update(_variant_fields(0, sku="K-1", price="60.00", compare_at_price="80.00"))
    data["variants-0-id"] = str(variant.pk)
    data["variants-0-product"] = str(product.pk)
    response = admin_client.post(reverse("admin:catalog_product_change", args=[product.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    variant.refresh_from_db()
    assert (variant.price, variant.compare_at_price) == (Decimal("60.00"), Decimal("80.00"))
    assert PriceHistory.objects.filter(variant=variant).count() == 2


def test_set_rules_in_admin(admin_client, store):
    admin_client.cookies["django_language"] = "en"
    bundle = SetProductFactory(store=store)
    own = VariantFactory(product=bundle, sku="OWN")
    other_set = VariantFactory(product=SetProductFactory(store=store), sku="OTHER-SET")
    part = VariantFactory(store=store, sku="PART")
    url = reverse("admin:catalog_product_change", args=[bundle.pk])

    def post(components):
        data = _product_post(store, kind="set", name=bundle.name, slug=bundle.slug, components=components)
        data.update(_management("variants", 1, 1))
        data.update(_variant_fields(0, sku="OWN", price="99.00"))
        data["variants-0-id"] = str(own.pk)
        data["variants-0-product"] = str(bundle.pk)
        return admin_client.post(url, data)

    for components, message in [
        ([(own, 1)], "cannot contain itself"),
        ([(other_set, 1)], "cannot contain another set"),
        ([(part, 0)], "greater than or equal to 1"),
    ]:
        response = post(components)
        assert response.status_code == 200 and message in response.content.decode(), message
    assert not SetComponent.objects.exists()
    assert post([(part, 2)]).status_code == 302
    assert SetComponent.objects.get().quantity == 2


def test_standard_product_cannot_have_components(admin_client, store):
    admin_client.cookies["django_language"] = "en"
    part = VariantFactory(store=store)
    response = admin_client.post(
        reverse("admin:catalog_product_add"), _product_post(store, variants=[{}], components=[(part, 1)])
    )
    assert response.status_code == 200 and "product set" in response.content.decode()


def test_bad_image_upload_in_admin(admin_client, store, settings):
    admin_client.cookies["django_language"] = "en"
    data = _product_post(store, variants=[{}])
    data.update(_management("images", 1))
    data.update(
        {
            "images-0-image": SimpleUploadedFile("../../x.jpg", b"not an image"),
            "images-0-alt": "",
            "images-0-position": "0",
        }
    )
    response = admin_client.post(reverse("admin:catalog_product_add"), data)
    assert response.status_code == 200
    assert "valid image" in response.content.decode()
    assert not Product.objects.exists()


def test_bulk_actions(admin_client, store):
    admin_client.cookies["django_language"] = "en"
    products = [VariantFactory(store=store, price=Decimal("10.05")).product for _ in range(2)]
    ids = [str(p.pk) for p in products]
    url = reverse("admin:catalog_product_changelist")
    admin_client.post(url, {"action": "unpublish", "_selected_action": ids})
    assert not Product.objects.filter(is_published=True).exists()
    admin_client.post(url, {"action": "publish", "_selected_action": ids})
    assert Product.objects.filter(is_published=True).count() == 2
    # Change category: intermediate form, then apply.
    category = CategoryFactory(store=store, name="Nowa")
    page = admin_client.post(url, {"action": "change_category", "_selected_action": ids})
    assert page.status_code == 200 and "Nowa" in page.content.decode()
    admin_client.post(
        url, {"action": "change_category", "_selected_action": ids, "apply": "1", "category": category.pk}
    )
    assert set(category.products.all()) == set(products)
    # Price change by %: garbage first, then -10%.
    page = admin_client.post(
        url, {"action": "change_price", "_selected_action": ids, "apply": "1", "percent": "abc"}
    )
    assert page.status_code == 200 and "Enter a number" in page.content.decode()
    page = admin_client.post(
        url, {"action": "change_price", "_selected_action": ids, "apply": "1", "percent": "-100"}
    )
    assert page.status_code == 200 and "greater than or equal to -99.99" in page.content.decode()
    admin_client.post(
        url, {"action": "change_price", "_selected_action": ids, "apply": "1", "percent": "-10"}
    )
    assert set(Variant.objects.values_list("price", flat=True)) == {Decimal("9.05")}
    assert PriceHistory.objects.count() == 4


def test_changelist_search_and_filters(admin_client, store):
    a = VariantFactory(
        store=store, sku="FIND-ME", ean="5901234123457", product__name="Szukany", stock=10
    ).product
    VariantFactory(store=store, stock=0, product__name="Wyprzedany")
    VariantFactory(store=store, stock=2, product__name="Końcówka")
    url = reverse("admin:catalog_product_changelist")
    for q in ["FIND-ME", "5901234123457", "Szukany"]:
        body = admin_client.get(url, {"q": q}).content.decode()
        assert "Szukany" in body and "Wyprzedany" not in body
    assert "Wyprzedany" in admin_client.get(url, {"stock": "out"}).content.decode()
    body = admin_client.get(url, {"stock": "low"}).content.decode()
    assert "Końcówka" in body and "Szukany" not in body
    assert (
        "Szukany" in admin_client.get(url, {"stock": "available", "kind__exact": "standard"}).content.decode()
    )
    assert admin_client.get(url, {"category__id__exact": "abc"}).status_code in (200, 302)
    assert admin_client.get(reverse("admin:catalog_product_change", args=[a.pk])).status_code == 200


def test_stock_adjustment_view(admin_client, store):
    admin_client.cookies["django_language"] = "en"
    variant = VariantFactory(store=store)
    warehouse = WarehouseFactory(store=store)
    url = reverse("admin:catalog_variant_adjust_stock", args=[variant.pk])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(
        url,
        {"warehouse": warehouse.pk, "mode": "delta", "quantity": "5", "reason": "delivery", "note": "FV 1"},
    )
    assert response.status_code == 302
    movement = StockMovement.objects.get()
    assert (movement.delta, movement.quantity_after, movement.reason, movement.note) == (
        5,
        5,
        "delivery",
        "FV 1",
    )
    assert movement.user is not None
    for data, message in [
        ({"mode": "delta", "quantity": "-9"}, "below zero"),
        ({"mode": "set_to", "quantity": "-1"}, "cannot be negative"),
        ({"mode": "delta", "quantity": "abc"}, "Enter a whole number"),
        ({"mode": "delta", "quantity": "0"}, "other than 0"),
    ]:
        page = admin_client.post(url, {"warehouse": warehouse.pk, "reason": "adjustment", **data})
        assert page.status_code == 200 and message in page.content.decode(), message
    foreign = WarehouseFactory(store=StoreFactory())
    page = admin_client.post(
        url, {"warehouse": foreign.pk, "mode": "delta", "quantity": "1", "reason": "adjustment"}
    )
    assert page.status_code == 200 and "Select a valid choice" in page.content.decode()
    assert StockMovement.objects.count() == 1
    body = admin_client.get(url).content.decode()
    assert "FV 1" in body  # the movement history is readable
    assert admin_client.get(reverse("admin:catalog_stockmovement_changelist")).status_code == 200


def test_other_admin_pages_render(admin_client, store):
    variant = VariantFactory(store=store, stock=0)
    give_stock(variant, 1)
    BackInStockSubscriptionFactory(variant=variant)
    CategoryFactory(store=store)
    for name in [
        "catalog_backinstocksubscription_changelist",
        "catalog_category_changelist",
        "catalog_category_add",
        "catalog_attribute_add",
        "catalog_productgroup_add",
        "catalog_warehouse_changelist",
        "catalog_downloadgrant_changelist",
        "catalog_digitalasset_add",
        "catalog_variant_changelist",
        "catalog_stockreservation_changelist",
        "catalog_product_add",
    ]:
        assert admin_client.get(reverse(f"admin:{name}")).status_code == 200, name
    assert admin_client.get(reverse("admin:catalog_variant_change", args=[variant.pk])).status_code == 200


def test_category_admin_refuses_a_cycle(admin_client, store):
    admin_client.cookies["django_language"] = "en"
    parent = CategoryFactory(store=store, name="A")
    child = CategoryFactory(parent=parent, name="B")
    url = reverse("admin:catalog_category_change", args=[parent.pk])
    data = {
        "store": store.pk,
        "parent": child.pk,
        "name": "A",
        "slug": "a",
        "description": "",
        "position": 0,
        "is_published": "on",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 200 and "inside itself" in response.content.decode()
    response = admin_client.post(
        reverse("admin:catalog_category_add"), {**data, "parent": "", "name": "Łąka", "slug": ""}
    )
    assert response.status_code == 302
    assert store.categories.filter(slug="laka").exists()


def test_deleting_a_variant_used_by_a_set_is_refused(admin_client, store):
    admin_client.cookies["django_language"] = "en"
    part = VariantFactory(store=store, sku="P-1")
    bundle = SetProductFactory(store=store)
    SetComponent.objects.create(set_product=bundle, variant=part, quantity=1)
    product = part.product
    data = _product_post(store, name=product.name, slug=product.slug)
    data.update(_management("variants", 1, 1))
    data.update(_variant_fields(0, sku="P-1", price="99.00"))
    data.update(
        {"variants-0-id": str(part.pk), "variants-0-product": str(product.pk), "variants-0-DELETE": "on"}
    )
    response = admin_client.post(reverse("admin:catalog_product_change", args=[product.pk]), data)
    assert response.status_code == 200
    errors = [
        str(e) for fs in response.context["inline_admin_formsets"] for e in fs.formset.non_form_errors()
    ]
    errors += [str(e) for fs in response.context["inline_admin_formsets"] for e in fs.formset.errors]
    assert any("protected related objects" in e for e in errors), errors
    assert Variant.objects.filter(pk=part.pk).exists()


def test_digital_asset_upload_name_is_sanitised(admin_client, store):
    from catalog.models import DigitalAsset
    from tests.catalog.factories import DigitalVariantFactory

    variant = DigitalVariantFactory(store=store)
    upload = SimpleUploadedFile("../../etc/Książka ŁÓDŹ.pdf", b"%PDF-1.4 test")
    response = admin_client.post(
        reverse("admin:catalog_digitalasset_add"),
        {
            "variant": variant.pk,
            "title": "E-book",
            "file": upload,
            "download_limit": "0",
            "link_valid_days": "30",
        },
    )
    assert response.status_code == 200 and "at least one download" in response.content.decode().replace(
        "Pozwól na co najmniej jedno pobranie", "at least one download"
    )
    upload.seek(0)
    response = admin_client.post(
        reverse("admin:catalog_digitalasset_add"),
        {
            "variant": variant.pk,
            "title": "E-book",
            "file": upload,
            "download_limit": "3",
            "link_valid_days": "30",
        },
    )
    assert response.status_code == 302
    assert DigitalAsset.objects.get().file.name == "digital/ksiazka-lodz.pdf"

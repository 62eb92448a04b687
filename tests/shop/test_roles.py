import pytest
from django.contrib.auth.models import Group

from shop.roles import ROLES
from tests.shop.factories import StaffFactory

pytestmark = pytest.mark.django_db


def perms(group_name):
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name=group_name).permissions.all()
    }


def test_every_role_exists_after_migrate():
    assert set(ROLES) <= set(Group.objects.values_list("name", flat=True))


def test_warehouse_role_changes_stock_but_not_prices_or_orders():
    p = perms("Magazyn (warehouse)")
    assert "catalog.change_stockitem" in p
    assert "catalog.view_product" in p
    assert "catalog.change_variant" not in p
    assert "orders.change_order" not in p


def test_orders_role_processes_orders_but_cannot_touch_the_catalog():
    p = perms("Obsługa zamówień (orders)")
    assert "orders.change_order" in p and "orders.view_order" in p
    assert not any(x.startswith("catalog.change_") for x in p)
    assert not any(x.startswith("recovery.") for x in p)


def test_staff_with_a_role_reaches_only_its_admin_pages(client, store):
    user = StaffFactory()
    user.groups.add(Group.objects.get(name="Magazyn (warehouse)"))
    client.force_login(user)
    assert client.get("/admin/catalog/stockmovement/").status_code == 200
    assert client.get("/admin/catalog/warehouse/").status_code == 200
    assert client.get("/admin/catalog/product/").status_code == 200  # view only
    assert client.get("/admin/shop/store/").status_code == 403
    assert client.get("/admin/shop/user/").status_code == 403


def test_staff_without_a_role_sees_nothing(client, store):
    client.force_login(StaffFactory())
    assert client.get("/admin/catalog/product/").status_code == 403


def test_warehouse_role_adjusts_stock_but_content_role_does_not(client, store):
    from tests.catalog.factories import VariantFactory

    variant = VariantFactory(store=store)
    url = f"/admin/catalog/variant/{variant.pk}/stock/"
    warehouse = StaffFactory()
    warehouse.groups.add(Group.objects.get(name="Magazyn (warehouse)"))
    client.force_login(warehouse)
    assert client.get(url).status_code == 200
    content = StaffFactory()
    content.groups.add(Group.objects.get(name="Katalog (content)"))
    client.force_login(content)
    assert client.get(url).status_code == 403

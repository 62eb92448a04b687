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


def _run_install_roles():
    from django.apps import apps

    from shop.roles import install_roles

    last = [c for c in apps.get_app_configs() if c.models_module is not None][-1]
    install_roles(app_config=last)


def test_an_upgrade_grants_a_new_app_to_existing_roles_once_and_keeps_the_merchants_edits():
    from django.contrib.auth.models import Permission

    from shop.models import RoleAppGrant

    owner = Group.objects.get(name="Właściciel sklepu (owner)")
    # The merchant took one right away from the owner role.
    change_product = Permission.objects.get(content_type__app_label="catalog", codename="change_product")
    owner.permissions.remove(change_product)
    # Before the upgrade the role had never heard of the content app.
    owner.permissions.remove(*owner.permissions.filter(content_type__app_label="content"))
    RoleAppGrant.objects.filter(group=owner, app_label="content").delete()

    _run_install_roles()  # the upgrade's migrate
    assert owner.permissions.filter(content_type__app_label="content", codename="change_page").exists()
    assert not owner.permissions.filter(pk=change_product.pk).exists()  # the merchant's edit stays

    # The merchant then takes the new app away too: a later migrate does not give it back.
    owner.permissions.remove(*owner.permissions.filter(content_type__app_label="content"))
    _run_install_roles()
    assert not owner.permissions.filter(content_type__app_label="content").exists()

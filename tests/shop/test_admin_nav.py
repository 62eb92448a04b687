"""The admin menu by task (shop/admin_nav.py): every model the user may see listed exactly once,
in its section; the technical tables in System, for superusers and operators only."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse

from shop import admin_nav
from shop.roles import OPERATOR_ROLE, ROLES, is_operator, permissions_for
from tests.shop.factories import StaffFactory, StoreFactory, SuperuserFactory

pytestmark = pytest.mark.django_db

OWNER = "Właściciel sklepu (owner)"


def _role(name: str) -> Group:
    group, _ = Group.objects.get_or_create(name=name)
    group.permissions.set(permissions_for(ROLES[name]))
    return group


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _listed(app_list) -> list[str]:
    return [m["model"]._meta.label for app in app_list for m in app["models"] if m.get("model") is not None]


def _viewable(user) -> set[str]:
    request = _request(user)
    return {
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if model_admin.has_module_permission(request) and any(model_admin.get_model_perms(request).values())
    }


def test_every_model_a_superuser_may_view_is_listed_exactly_once():
    user = SuperuserFactory()
    listed = _listed(admin.site.get_app_list(_request(user)))
    assert len(listed) == len(set(listed)), "a model is listed twice"
    assert set(listed) == _viewable(user)
    assert len(listed) > 60


@pytest.mark.parametrize("role", [OWNER, "Obsługa zamówień (orders)", "Magazyn (warehouse)", "Marketing"])
def test_every_model_a_role_may_view_is_listed_once_and_system_is_hidden(role):
    StoreFactory()
    user = StaffFactory()
    user.groups.add(_role(role))
    app_list = admin.site.get_app_list(_request(user))
    listed = _listed(app_list)
    assert len(listed) == len(set(listed))
    system = {label for label, section in admin_nav.SECTION_OF.items() if section == "system"}
    assert set(listed) == _viewable(user) - system
    assert "section-system" not in {app["app_label"] for app in app_list}


def test_the_operator_role_sees_the_system_section():
    user = StaffFactory()
    user.groups.add(_role(OPERATOR_ROLE))
    assert is_operator(user)
    app_list = admin.site.get_app_list(_request(user))
    sections = {app["app_label"]: app for app in app_list}
    system = _listed([sections["section-system"]])
    assert "django_celery_beat.PeriodicTask" in system and "shop.EventDelivery" in system
    # The outbox (local mail files) stays a superuser's page.
    assert "Outbox" not in {m["object_name"] for m in sections["section-system"]["models"]}


def test_sections_come_in_task_order_with_polish_names():
    user = SuperuserFactory()
    app_list = admin.site.get_app_list(_request(user))
    assert [str(app["name"]) for app in app_list] == [
        "Zamówienia",
        "Produkty",
        "Klienci",
        "Marketing",
        "Raporty",
        "Integracje",
        "Ustawienia",
        "System",
    ]
    marketing = next(app for app in app_list if app["app_label"] == "section-marketing")
    names = [str(m["name"]) for m in marketing["models"]]
    assert names[:2] == ["Kampanie odzyskiwania koszyków", "Porzucone koszyki"]
    assert {"Kody rabatowe", "Karty podarunkowe", "Panel odzyskiwania koszyków"} <= set(names)
    system = next(app for app in app_list if app["app_label"] == "section-system")
    assert {
        "Zadania okresowe",
        "Termin jednorazowy",
        "Zdarzenia słoneczne",
        "Zdarzenia",
        "Skrzynka nadawcza",
    } <= {str(m["name"]) for m in system["models"]}


def test_a_model_outside_the_mapping_goes_to_its_apps_section_or_other(monkeypatch):
    assert admin_nav.section_of("orders.SomethingNew") == "orders"
    assert admin_nav.section_of("content.Page") == "settings"
    assert admin_nav.section_of("thirdparty.Thing") == "other"
    monkeypatch.delitem(admin_nav.SECTION_OF, "orders.Voucher")
    user = SuperuserFactory()
    sections = {app["app_label"]: _listed([app]) for app in admin.site.get_app_list(_request(user))}
    assert "orders.Voucher" in sections["section-orders"]


def test_every_mapped_model_is_registered():
    registered = {m._meta.label for m in admin.site._registry}
    assert set(admin_nav.SECTION_OF) - registered == set()


def test_section_pages_and_the_sidebar(client):
    StoreFactory()
    user = StaffFactory()
    user.groups.add(_role(OWNER))
    client.force_login(user)
    page = client.get(reverse("admin:section", kwargs={"key": "marketing"}), HTTP_ACCEPT_LANGUAGE="pl")
    assert page.status_code == 200
    assert "Porzucone koszyki" in page.content.decode()
    # System is not this owner's; unknown sections do not exist.
    assert client.get(reverse("admin:section", kwargs={"key": "system"})).status_code == 404
    assert client.get(reverse("admin:section", kwargs={"key": "nope"})).status_code == 404
    # Django's own app page (from the breadcrumbs) leaves out the System tables too.
    page = client.get(reverse("admin:app_list", args=["django_celery_beat"]))
    assert page.status_code == 404
    page = client.get(reverse("admin:orders_order_changelist"), HTTP_ACCEPT_LANGUAGE="pl").content.decode()
    assert reverse("admin:section", kwargs={"key": "orders"}) in page  # the sidebar is sectioned
    assert reverse("admin:django_celery_beat_periodictask_changelist") not in page


def test_the_home_page_lists_no_technical_table_for_an_owner(client):
    StoreFactory()
    user = StaffFactory()
    user.groups.add(_role(OWNER))
    client.force_login(user)
    page = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="pl").content.decode()
    assert "Zadania okresowe" not in page and "Zdarzenia słoneczne" not in page
    assert reverse("admin:section", kwargs={"key": "orders"}) in page

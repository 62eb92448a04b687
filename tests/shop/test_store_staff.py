"""Staff belong to stores: an employee sees and changes only the stores they are assigned to
(Store.staff), in every admin list, page, search, autocomplete, filter, action, export and report;
superusers and staff with ``all_stores`` see every store; staff with no store see nothing."""

from __future__ import annotations

import json

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from catalog.models import Product
from orders.models import Order
from shop.admin_mixins import StoreScopedAdminMixin, store_path_for, user_store_ids
from tests.catalog.factories import CategoryFactory, ProductFactory, VariantFactory
from tests.orders.factories_after_sales import OrderFactory
from tests.shop.factories import StaffFactory, StoreFactory, SuperuserFactory

pytestmark = pytest.mark.django_db

# Registered models with no path to a store, and why they are shared by every store.
GLOBAL_MODELS = {
    "auth.Group": "staff roles are the same permission sets in every store",
    "shop.User": "one account signs in to every store it is assigned to (and shops in any store)",
    "orders.Address": "no store of its own: AddressAdmin.get_queryset scopes it by the orders",
    "django_celery_beat.PeriodicTask": "system tasks run for the whole install (superusers)",
    "django_celery_beat.ClockedSchedule": "system schedules (superusers)",
    "django_celery_beat.CrontabSchedule": "system schedules (superusers)",
    "django_celery_beat.SolarSchedule": "system schedules (superusers)",
    "django_celery_beat.IntervalSchedule": "system schedules (superusers)",
}


def test_every_admin_of_a_model_with_a_store_is_scoped():
    unscoped, unexplained = [], []
    for model, model_admin in admin.site._registry.items():
        path = store_path_for(model)
        if path is None:
            if model._meta.label not in GLOBAL_MODELS:
                unexplained.append(model._meta.label)
        elif not isinstance(model_admin, StoreScopedAdminMixin) or model_admin.get_store_path() != path:
            unscoped.append(model._meta.label)
    assert unscoped == []
    assert unexplained == [], "a model without a store: scope it or explain it in GLOBAL_MODELS"


def test_store_path_follows_foreign_keys():
    from orders.models import OrderLine, ReturnLine
    from shop.models import Store

    assert store_path_for(Store) == "pk"
    assert store_path_for(Order) == "store"
    assert store_path_for(OrderLine) == "order__store"
    assert store_path_for(ReturnLine) == "return_request__order__store"


@pytest.fixture
def two_stores(store):
    other = StoreFactory(name="Sklep Drugi", domain="drugi.example.pl")
    return store, other


def _staff(*stores, **kwargs):
    kwargs.setdefault("all_stores", False)
    user = StaffFactory(**kwargs)
    user.user_permissions.set(Permission.objects.all())
    for s in stores:
        s.staff.add(user)
    return user


@pytest.fixture
def shop(two_stores):
    mine, theirs = two_stores
    data = {
        "mine": mine,
        "theirs": theirs,
        "my_order": OrderFactory(store=mine, email="moja@example.com"),
        "their_order": OrderFactory(store=theirs, email="ich@example.com"),
        "my_product": ProductFactory(store=mine, category=CategoryFactory(store=mine), name="Koszulka A"),
        "their_product": ProductFactory(
            store=theirs, category=CategoryFactory(store=theirs), name="Koszulka B"
        ),
    }
    data["staff"] = _staff(mine)
    return data


def _rows(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200
    return set(response.context["cl"].result_list)


def test_lists_and_search_show_only_the_staff_members_stores(client, shop):
    client.force_login(shop["staff"])
    orders = reverse("admin:orders_order_changelist")
    assert _rows(client, orders) == {shop["my_order"]}
    assert _rows(client, orders, q="ich@example.com") == set()
    assert _rows(client, orders, q=shop["their_order"].number) == set()
    assert _rows(client, reverse("admin:catalog_product_changelist"), q="Koszulka") == {shop["my_product"]}
    # Asking for the other store by hand in the URL does not show its orders.
    assert shop["their_order"] not in _rows(client, orders, store__id__exact=shop["theirs"].pk)
    stores = _rows(client, reverse("admin:shop_store_changelist"))
    assert stores == {shop["mine"]}


def test_store_list_filter_offers_only_own_stores(client, shop):
    third = StoreFactory(name="Sklep Trzeci", domain="trzeci.example.pl")
    OrderFactory(store=third)
    client.force_login(_staff(shop["mine"], shop["theirs"]))
    response = client.get(reverse("admin:orders_order_changelist"))
    assert "Sklep Trzeci" not in response.content.decode()
    spec = next(s for s in response.context["cl"].filter_specs if getattr(s, "field_path", "") == "store")
    assert {pk for pk, _label in spec.lookup_choices} == {shop["mine"].pk, shop["theirs"].pk}


def test_other_stores_objects_cannot_be_opened_changed_or_deleted(client, shop):
    client.force_login(shop["staff"])
    theirs = shop["their_order"]
    for name in ("change", "delete", "history"):
        response = client.get(reverse(f"admin:orders_order_{name}", args=[theirs.pk]))
        # Django answers a missing object with a redirect to the admin index and a message.
        assert response.status_code == 302, name
        assert response.url == reverse("admin:index")
    status_before = theirs.status
    client.post(reverse("admin:orders_order_change", args=[theirs.pk]), {"status": "cancelled"})
    theirs.refresh_from_db()
    assert theirs.status == status_before
    product = shop["their_product"]
    client.post(reverse("admin:catalog_product_delete", args=[product.pk]), {"post": "yes"})
    assert Product.objects.filter(pk=product.pk).exists()
    # The own store's order opens.
    assert client.get(reverse("admin:orders_order_change", args=[shop["my_order"].pk])).status_code == 200


def test_custom_order_pages_answer_404_for_another_store(client, shop):
    client.force_login(shop["staff"])
    theirs = shop["their_order"]
    assert client.get(reverse("admin:orders_order_packing_list", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("admin:orders_order_invoice", args=[theirs.pk])).status_code == 404
    response = client.post(reverse("admin:orders_order_status", args=[theirs.pk]), {"status": "cancelled"})
    assert response.status_code == 404
    assert client.post(reverse("admin:orders_order_note", args=[theirs.pk]), {"text": "x"}).status_code == 404
    assert client.get(reverse("admin:orders_order_refund", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Order.Status.PAID
    mine = shop["my_order"]
    assert client.get(reverse("admin:orders_order_packing_list", args=[mine.pk])).status_code == 200


def test_stock_adjust_page_answers_404_for_another_store(client, shop):
    client.force_login(shop["staff"])
    their_variant = VariantFactory(product=shop["their_product"], store=shop["theirs"])
    my_variant = VariantFactory(product=shop["my_product"], store=shop["mine"])
    url = "admin:catalog_variant_adjust_stock"
    assert client.get(reverse(url, args=[their_variant.pk])).status_code == 404
    assert client.get(reverse(url, args=[my_variant.pk])).status_code == 200


def test_actions_skip_another_stores_rows(client, shop):
    client.force_login(shop["staff"])
    product = shop["their_product"]
    client.post(
        reverse("admin:catalog_product_changelist"),
        {"action": "delete_selected", "_selected_action": [product.pk], "post": "yes"},
    )
    assert Product.objects.filter(pk=product.pk).exists()


def test_autocomplete_offers_only_own_stores_rows(client, shop):
    client.force_login(shop["staff"])
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "catalog", "model_name": "product", "field_name": "related", "term": "Koszulka"},
    )
    assert response.status_code == 200
    ids = {int(r["id"]) for r in json.loads(response.content)["results"]}
    assert ids == {shop["my_product"].pk}


def test_choices_and_saving_are_limited_to_own_stores(client, shop):
    client.force_login(shop["staff"])
    response = client.get(reverse("admin:catalog_product_add"))
    form = response.context["adminform"].form
    assert set(form.fields["store"].queryset) == {shop["mine"]}
    assert shop["their_product"].category not in set(form.fields["category"].queryset)
    # Moving an own product into the other store is refused by the form (not a valid choice).
    ma = admin.site._registry[Product]
    request = response.wsgi_request
    field = ma.formfield_for_foreignkey(Product._meta.get_field("store"), request)
    assert not field.queryset.filter(pk=shop["theirs"].pk).exists()


def test_save_into_another_store_is_refused():
    from django.core.exceptions import PermissionDenied
    from django.test import RequestFactory

    mine = StoreFactory(domain="a.example.pl")
    theirs = StoreFactory(domain="b.example.pl")
    staff = _staff(mine)
    request = RequestFactory().post("/")
    request.user = staff
    ma = admin.site._registry[Product]
    product = ProductFactory.build(store=theirs, category=CategoryFactory(store=theirs))
    with pytest.raises(PermissionDenied):
        ma.save_model(request, product, form=None, change=False)
    assert not Product.objects.filter(store=theirs).exists()


def test_reports_and_exports_cover_only_own_stores(client, shop):
    client.force_login(shop["staff"])
    url = reverse("admin:reports_reportjob_sales")
    assert client.get(url, {"store": shop["theirs"].pk}).status_code == 404
    response = client.get(url)
    assert response.status_code == 200
    assert response.context["store"] == shop["mine"]
    products = client.get(reverse("admin:reports_reportjob_products"), {"q": "Koszulka"})
    assert {r["text"] for r in json.loads(products.content)["results"]} == {"Koszulka A"}


def test_staff_on_another_stores_domain_gets_their_own_store_in_reports(client, shop):
    staff = _staff(shop["theirs"])
    client.force_login(staff)
    # The test client's host is the first store's domain; the report is on the employee's store.
    response = client.get(reverse("admin:reports_reportjob_sales"))
    assert response.context["store"] == shop["theirs"]


def test_superuser_and_all_stores_staff_see_every_store(client, shop):
    both = {shop["my_order"], shop["their_order"]}
    client.force_login(SuperuserFactory())
    assert _rows(client, reverse("admin:orders_order_changelist")) == both
    owner = _staff(all_stores=True)
    client.force_login(owner)
    assert _rows(client, reverse("admin:orders_order_changelist")) == both
    assert user_store_ids(owner) is None


def test_staff_with_no_store_sees_nothing(client, shop):
    client.force_login(_staff())
    assert _rows(client, reverse("admin:orders_order_changelist")) == set()
    assert _rows(client, reverse("admin:catalog_product_changelist")) == set()
    assert client.get(reverse("admin:reports_reportjob_sales")).status_code == 404


def test_staff_member_of_two_stores_sees_both(client, shop):
    client.force_login(_staff(shop["mine"], shop["theirs"]))
    assert _rows(client, reverse("admin:orders_order_changelist")) == {shop["my_order"], shop["their_order"]}


def test_only_superusers_assign_stores(client, shop):
    staff = shop["staff"]
    client.force_login(staff)
    response = client.get(reverse("admin:shop_store_change", args=[shop["mine"].pk]))
    assert "staff" not in response.context["adminform"].form.fields
    response = client.get(reverse("admin:shop_user_change", args=[staff.pk]))
    assert "all_stores" not in response.context["adminform"].form.fields
    client.force_login(SuperuserFactory())
    response = client.get(reverse("admin:shop_store_change", args=[shop["mine"].pk]))
    assert set(response.context["adminform"].form.fields["staff"].queryset) >= {staff}


def test_inline_choices_are_limited_to_own_stores(client, shop):
    mine = VariantFactory(product=shop["my_product"], store=shop["mine"])
    theirs = VariantFactory(product=shop["their_product"], store=shop["theirs"])
    client.force_login(shop["staff"])
    response = client.get(reverse("admin:catalog_product_change", args=[shop["my_product"].pk]))
    assert response.status_code == 200
    sets = [
        f
        for f in response.context["inline_admin_formsets"]
        if f.formset.model._meta.model_name == "setcomponent"
    ]
    assert sets, "the product page has the set contents inline"
    choices = set(sets[0].formset.form.base_fields["variant"].queryset)
    assert mine in choices and theirs not in choices


def test_user_list_shows_only_own_stores_customers_and_staff(client, shop):
    from tests.shop.factories import UserFactory

    mine = UserFactory(email="klient-a@example.com")
    theirs = UserFactory(email="klient-b@example.com")
    OrderFactory(store=shop["mine"], user=mine)
    OrderFactory(store=shop["theirs"], user=theirs)
    colleague = _staff(shop["theirs"])
    staff = shop["staff"]
    client.force_login(staff)
    users = reverse("admin:shop_user_changelist")
    seen = _rows(client, users)
    assert {mine, staff} <= seen
    assert theirs not in seen and colleague not in seen
    assert _rows(client, users, q="klient-b") == set()
    response = client.get(reverse("admin:shop_user_change", args=[theirs.pk]))
    assert response.status_code == 302
    client.force_login(SuperuserFactory())
    assert {mine, theirs, colleague} <= _rows(client, users)


def test_address_list_shows_only_addresses_of_own_stores_orders(client, shop):
    from orders.models import Address

    client.force_login(shop["staff"])
    seen = _rows(client, reverse("admin:orders_address_changelist"))
    assert shop["my_order"].shipping_address in seen
    assert shop["their_order"].shipping_address not in seen
    client.force_login(SuperuserFactory())
    assert set(Address.objects.all()) == _rows(client, reverse("admin:orders_address_changelist"))


def test_feed_rotate_and_recovery_dashboard_follow_the_staff_members_stores(client, shop):
    from integrations.feeds.models import Feed
    from tests.integrations.feeds.factories import FeedFactory

    theirs = FeedFactory(store=shop["theirs"])
    token = theirs.token
    client.force_login(shop["staff"])
    response = client.post(reverse("admin:integrations_feeds_feed_rotate", args=[theirs.pk]))
    assert response.status_code == 404
    assert Feed.objects.get(pk=theirs.pk).token == token
    dashboard = reverse("admin:recovery_dashboard")
    assert client.get(dashboard).status_code == 200
    client.force_login(_staff())
    assert client.get(dashboard).status_code == 404

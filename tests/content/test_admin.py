"""The admin's page editor, footer links and contact messages: saves go through content.pages,
hostile input gets a clear error, staff see only their store's rows."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from content.models import ContactMessage, FooterColumn, Page, PageVersion
from tests.content.factories import ContactMessageFactory, PageFactory
from tests.shop.factories import StaffFactory, StoreFactory, SuperuserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(SuperuserFactory())
    return client


def page_post(store, **extra):
    return {
        "store": store.pk,
        "kind": "custom",
        "title": "Jak mierzyć stopę",
        "slug": "jak-mierzyc",
        "status": "published",
        "body": '<h2>Pomiar</h2><p onclick="x()">Stań na kartce.<script>alert(1)</script></p>',
        "meta_title": "",
        "meta_description": "",
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        **extra,
    }


def test_saving_in_the_editor_sanitises_and_publishes_a_version(admin_client):
    store = StoreFactory()
    response = admin_client.post("/admin/content/page/add/", page_post(store))
    assert response.status_code == 302, response.context["adminform"].form.errors
    page = Page.objects.get(slug="jak-mierzyc")
    assert page.body == "<h2>Pomiar</h2><p>Stań na kartce.</p>"
    assert page.version == 1 and PageVersion.objects.get(page=page).body == page.body
    change = admin_client.get(f"/admin/content/page/{page.pk}/change/")
    assert change.status_code == 200 and "django_prose_editor" in change.content.decode()


def test_a_one_megabyte_body_gets_an_error_not_a_500(admin_client):
    store = StoreFactory()
    response = admin_client.post(
        "/admin/content/page/add/", page_post(store, body="<p>" + "a" * (1024 * 1024) + "</p>")
    )
    assert response.status_code == 200
    assert "za długi" in str(response.context["adminform"].form.errors["body"])
    assert not Page.objects.exists()


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("/odstapienie-od-umowy/", True),
        ("https://blog.example.pl/", True),
        ("javascript:alert(1)", False),
        ("//evil.example/", False),
        ('/a" onmouseover="x', False),
        ("data:text/html,x", False),
    ],
)
def test_footer_link_addresses_are_checked(admin_client, url, ok):
    store = StoreFactory()
    response = admin_client.post(
        "/admin/content/footercolumn/add/",
        {
            "store": store.pk,
            "title": "Więcej",
            "position": "0",
            "links-TOTAL_FORMS": "1",
            "links-INITIAL_FORMS": "0",
            "links-0-url": url,
            "links-0-label": "Link",
            "links-0-position": "0",
        },
    )
    assert (response.status_code == 302) is ok
    assert FooterColumn.objects.filter(title="Więcej").exists() is ok


def test_a_footer_link_cannot_point_to_another_stores_page(admin_client):
    store, other = StoreFactory(), StoreFactory()
    foreign = PageFactory(store=other)
    response = admin_client.post(
        "/admin/content/footercolumn/add/",
        {
            "store": store.pk,
            "title": "Więcej",
            "position": "0",
            "links-TOTAL_FORMS": "1",
            "links-INITIAL_FORMS": "0",
            "links-0-page": foreign.pk,
            "links-0-position": "0",
        },
    )
    assert response.status_code == 200 and not FooterColumn.objects.filter(title="Więcej").exists()


def test_opening_a_contact_message_marks_it_read(admin_client):
    message = ContactMessageFactory()
    assert admin_client.get("/admin/content/contactmessage/").status_code == 200
    assert admin_client.get(f"/admin/content/contactmessage/{message.pk}/change/").status_code == 200
    message.refresh_from_db()
    assert message.is_read


def test_staff_see_only_their_stores_pages_and_messages():
    mine, theirs = StoreFactory(), StoreFactory()
    staff = StaffFactory(all_stores=False)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="content"))
    mine.staff.add(staff)
    own_page, other_page = PageFactory(store=mine), PageFactory(store=theirs)
    other_message = ContactMessageFactory(store=theirs)
    client = Client()
    client.force_login(staff)
    listing = client.get("/admin/content/page/").content.decode()
    assert own_page.title in listing and other_page.title not in listing
    assert client.get(f"/admin/content/page/{other_page.pk}/change/").status_code in (302, 404)
    assert client.get(f"/admin/content/contactmessage/{other_message.pk}/change/").status_code in (302, 404)
    assert ContactMessage.objects.get(pk=other_message.pk).is_read is False

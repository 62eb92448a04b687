"""301 redirects: left by slug changes (chains collapsed, no loops), applied only on a 404 with
one cached query, typed in the admin and imported from CSV (dry run, hostile files refused)."""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog import redirects, services
from catalog.models import Redirect
from tests.catalog.factories import CategoryFactory, ProductGroupFactory, VariantFactory
from tests.shop.factories import StaffFactory, StoreFactory, SuperuserFactory

pytestmark = pytest.mark.django_db


def _pairs(store):
    return set(Redirect.objects.filter(store=store).values_list("old_path", "new_path"))


def _rename(obj, slug):
    obj.slug = slug
    save = {"Product": "save_product", "Category": "save_category", "ProductGroup": "save_group"}[
        type(obj).__name__
    ]
    arg = {"Product": "product", "Category": "category", "ProductGroup": "group"}[type(obj).__name__]
    getattr(services, save)(**{arg: obj})


def test_slug_change_leaves_a_redirect_and_chains_collapse(client, store):
    product = VariantFactory(store=store, product__slug="stara", stock=1).product

    _rename(product, "nowa")
    assert _pairs(store) == {("/p/stara/", "/p/nowa/")}
    _rename(product, "najnowsza")
    assert _pairs(store) == {("/p/stara/", "/p/najnowsza/"), ("/p/nowa/", "/p/najnowsza/")}
    response = client.get("/p/stara/?utm_source=x")
    assert response.status_code == 301 and response["Location"] == "/p/najnowsza/"
    assert client.get("/p/najnowsza/").status_code == 200


def test_back_to_an_old_slug_makes_no_loop(client, store):
    product = VariantFactory(store=store, product__slug="a", stock=1).product

    _rename(product, "b")
    _rename(product, "a")
    assert _pairs(store) == {("/p/b/", "/p/a/")}
    assert client.get("/p/a/").status_code == 200
    assert client.get("/p/b/")["Location"] == "/p/a/"


def test_categories_and_groups_too(store):
    category = CategoryFactory(store=store, slug="buty")

    _rename(category, "obuwie")
    group = ProductGroupFactory(store=store, slug="promo")

    _rename(group, "promocje")
    assert _pairs(store) == {("/k/buty/", "/k/obuwie/"), ("/g/promo/", "/g/promocje/")}


def test_live_page_wins_and_other_store_is_not_redirected(client, store):
    VariantFactory(store=store, product__slug="jest", stock=1)
    redirects.add_redirect(store=store, old_path="/p/jest/", new_path="/p/inna/")
    assert client.get("/p/jest/").status_code == 200
    other = StoreFactory(domain="inny.example.pl")
    redirects.add_redirect(store=other, old_path="/stary.html", new_path="/p/x/")
    assert client.get("/stary.html").status_code == 404


def test_lookup_is_one_query_then_cached(client, store, django_assert_num_queries):
    redirects.add_redirect(store=store, old_path="/sklep/produkt.php?id=7", new_path="/p/kubek/")
    client.get("/nic/")  # warm the store and the session machinery
    with django_assert_num_queries(2):  # the look-up and the hit counter
        response = client.get("/sklep/produkt.php?id=7")
    assert response.status_code == 301 and response["Location"] == "/p/kubek/"
    with django_assert_num_queries(1):  # cached: only the hit counter
        client.get("/sklep/produkt.php?id=7")
    assert Redirect.objects.get().hits == 2
    with django_assert_num_queries(1):
        assert client.get("/brak-takiej-strony/").status_code == 404
    with django_assert_num_queries(0):  # a cached miss
        assert client.get("/brak-takiej-strony/").status_code == 404
    redirects.add_redirect(store=store, old_path="/brak-takiej-strony/", new_path="/")
    assert client.get("/brak-takiej-strony/")["Location"] == "/"  # the write made the cache stale


def test_control_characters_in_a_request_path_are_a_plain_404(client, store):
    assert client.get("/p/a%00b/").status_code == 404
    assert client.get("/p/a%0d%0aLocation:x/").status_code == 404


def test_post_is_never_redirected(client, store):
    redirects.add_redirect(store=store, old_path="/stare/", new_path="/p/x/")
    assert client.post("/stare/").status_code in (403, 404, 405)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("/a/", "/a/", "the same"),
        ("/a/", "https://evil.example.com/x", "another site"),
        ("/a/", "//evil.example.com/x", "another site"),
        ("/a/", "javascript:alert(1)", "Only addresses"),
        ("a/", "/b/", "starts with /"),
        ("/a/\r\nSet-Cookie: x", "/b/", "control characters"),
        ("/" + "x" * 600, "/b/", "longer than"),
        ("", "/b/", "empty"),
    ],
)
def test_bad_paths_are_refused(store, old, new, message):
    with pytest.raises(redirects.RedirectError, match=message):
        redirects.add_redirect(store=store, old_path=old, new_path=new)


def test_absolute_url_of_the_own_store_becomes_a_path(store):
    redirect = redirects.add_redirect(
        store=store, old_path="http://testserver/stary.html#x", new_path="/p/y/"
    )
    assert redirect.old_path == "/stary.html"


def test_loops_are_refused(store):
    redirects.add_redirect(store=store, old_path="/a/", new_path="/b/")
    with pytest.raises(redirects.RedirectError, match="loop"):
        redirects.add_redirect(store=store, old_path="/b/", new_path="/a/")
    redirects.add_redirect(store=store, old_path="/c/", new_path="/a/")  # /c/ -> /b/ directly
    assert _pairs(store) == {("/a/", "/b/"), ("/c/", "/b/")}


def test_csv_dry_run_then_import(store):
    data = "\ufeffold_path,new_path\n/stary/1.html,/p/jeden/\n/stary/2.html;x,/p/dwa/\nhttps://evil.example.com/a,/p/x/\n/stary/3.html,https://evil.example.com/\n/p/jeden/,/stary/1.html\n/stary/1.html,/p/inny/\n".encode()
    report = redirects.import_csv(store=store, data=data, dry_run=True)
    assert Redirect.objects.count() == 0
    actions = [(r.line, r.action) for r in report.rows]
    assert actions == [(2, "create"), (3, "create"), (4, "error"), (5, "error"), (6, "error"), (7, "error")]
    assert "loop" in report.rows[4].error and "already in the file" in report.rows[5].error
    report = redirects.import_csv(store=store, data=data, dry_run=False)
    assert report.applied and _pairs(store) == {
        ("/stary/1.html", "/p/jeden/"),
        ("/stary/2.html;x", "/p/dwa/"),
    }
    assert set(Redirect.objects.values_list("source", flat=True)) == {"import"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"/a/,/b/\n" * 300_000, "larger than"),
        ("/żółć/,/b/\n".encode("cp1250"), "not UTF-8"),
        (b"/a/,/b/\x00\n", "not a text file"),
        (b"/a/,/b/\n" * 20_002, "more than"),
    ],
)
def test_hostile_csv_is_refused(store, data, message):
    report = redirects.import_csv(store=store, data=data, dry_run=False)
    assert message in report.error and not report.rows and Redirect.objects.count() == 0


def test_admin_import_page(client, store):
    client.force_login(SuperuserFactory())
    assert client.get("/admin/catalog/redirect/").status_code == 200
    upload = SimpleUploadedFile("r.csv", b"/stary.html,/p/nowy/\n", content_type="text/csv")
    page = client.post(
        "/admin/catalog/redirect/import/", {"store": store.pk, "file": upload, "dry_run": "on"}
    ).content.decode()
    assert "Próba: nic nie zapisano" in page and "/stary.html" in page
    assert Redirect.objects.count() == 0
    upload = SimpleUploadedFile("r.csv", b"/stary.html,/p/nowy/\n", content_type="text/csv")
    client.post("/admin/catalog/redirect/import/", {"store": store.pk, "file": upload})
    assert _pairs(store) == {("/stary.html", "/p/nowy/")}
    bad = SimpleUploadedFile("r.csv", "/ą/,/b/\n".encode("cp1250"), content_type="text/csv")
    page = client.post("/admin/catalog/redirect/import/", {"store": store.pk, "file": bad}).content.decode()
    assert "UTF-8" in page


def test_admin_import_refuses_another_store(client, store):
    other = StoreFactory(domain="inny.example.pl")
    user = StaffFactory(all_stores=False)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="catalog"))
    store.staff.add(user)
    client.force_login(user)
    upload = SimpleUploadedFile("r.csv", b"/a/,/b/\n", content_type="text/csv")
    response = client.post("/admin/catalog/redirect/import/", {"store": other.pk, "file": upload})
    assert response.status_code == 200 and "store" in response.context["form"].errors
    assert Redirect.objects.count() == 0


def test_admin_add_form(client, store):
    client.force_login(SuperuserFactory())
    response = client.post(
        "/admin/catalog/redirect/add/",
        {"store": store.pk, "old_path": "/x/", "new_path": "https://evil.example.com/"},
    )
    assert response.status_code == 200 and Redirect.objects.count() == 0
    response = client.post(
        "/admin/catalog/redirect/add/", {"store": store.pk, "old_path": "/x/", "new_path": "/p/y/"}
    )
    assert response.status_code == 302 and _pairs(store) == {("/x/", "/p/y/")}

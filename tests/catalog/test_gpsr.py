"""Product safety data (GPSR): the storefront section, the admin's filter and warning, the forms."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog import gpsr
from catalog.admin_forms import (
    ManufacturerForm,
    ProductAdminForm,
    ResponsiblePersonForm,
    clean_safety_document,
)
from catalog.models import Product
from tests.catalog.factories import (
    PDF_BYTES,
    ManufacturerFactory,
    ProductFactory,
    ResponsiblePersonFactory,
    VariantFactory,
)
from tests.shop.factories import StaffFactory, StoreFactory, SuperuserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, store):
    client.force_login(SuperuserFactory())
    return client


def _safe_product(store, **kwargs):
    maker = ManufacturerFactory(
        store=store, name="Chińska Fabryka Zabawek", country="CN", url="https://toys.example.cn"
    )
    person = ResponsiblePersonFactory(store=store, name="Importer Zabawek sp. z o.o.")
    variant = VariantFactory(
        store=store,
        product__name="Klocki",
        product__slug="klocki",
        product__manufacturer=maker,
        product__responsible_person=person,
        product__model_number="KL-2024",
        product__safety_information="Nie dla dzieci poniżej 3 lat: małe części.",
        ean="5901234123457",
        stock=3,
        **kwargs,
    )
    return variant.product


def test_product_page_shows_the_safety_section(client, store):
    _safe_product(store)
    page = client.get("/p/klocki/").content.decode()
    assert 'data-testid="product-safety"' in page
    assert "Bezpieczeństwo produktu" in page
    assert "Chińska Fabryka Zabawek" in page and "https://toys.example.cn" in page
    assert "Importer Zabawek sp. z o.o." in page and "gpsr@importer.example" in page
    assert "KL-2024" in page and "5901234123457" in page
    assert "Nie dla dzieci poniżej 3 lat" in page


def test_no_section_without_safety_data(client, store):
    VariantFactory(store=store, product__slug="goly", stock=1)
    assert 'data-testid="product-safety"' not in client.get("/p/goly/").content.decode()


def test_safety_text_is_escaped(client, store):
    maker = ManufacturerFactory(store=store, name="<script>alert(1)</script>")
    VariantFactory(store=store, product__slug="xss", product__manufacturer=maker, stock=1)
    page = client.get("/p/xss/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_missing_rule(store):
    eu = ManufacturerFactory(store=store, country="DE")
    cn = ManufacturerFactory(store=store, country="CN")
    person = ResponsiblePersonFactory(store=store)
    none = ProductFactory(store=store, name="brak")
    ok_eu = ProductFactory(store=store, name="ue", manufacturer=eu)
    cn_alone = ProductFactory(store=store, name="cn", manufacturer=cn)
    cn_with_person = ProductFactory(store=store, name="cn+rp", manufacturer=cn, responsible_person=person)
    missing = set(Product.objects.filter(gpsr.missing_q()).values_list("pk", flat=True))
    assert missing == {none.pk, cn_alone.pk}
    assert gpsr.problems(ok_eu) == [] and gpsr.problems(cn_with_person) == []
    assert "outside the EU" in gpsr.problems(cn_alone)[0]
    assert "No manufacturer" in gpsr.problems(none)[0]


def test_admin_filter_and_warning(admin_client, store):
    complete = _safe_product(store)
    lacking = ProductFactory(store=store, name="Bez danych GPSR", is_published=True)
    listing = admin_client.get("/admin/catalog/product/?gpsr=missing_published").content.decode()
    assert "Bez danych GPSR" in listing and complete.name not in listing
    assert "brak danych GPSR" in admin_client.get("/admin/catalog/product/").content.decode()
    page = admin_client.get(f"/admin/catalog/product/{lacking.pk}/change/").content.decode()
    assert "Bezpieczeństwo produktu (GPSR)" in page
    assert "Brak producenta" in page
    clean = admin_client.get(f"/admin/catalog/product/{complete.pk}/change/").content.decode()
    assert "Bezpieczeństwo produktu (GPSR): " not in clean, re.findall(r".{80}Brak producenta.{80}", clean)


def test_manufacturer_needs_an_electronic_address(store):
    form = ManufacturerForm(data={"store": store.pk, "name": "X", "address": "ul. A 1", "country": "pl"})
    assert not form.is_valid() and "email" in form.errors
    form = ManufacturerForm(
        data={"store": store.pk, "name": "X", "address": "ul. A 1", "country": "pl", "url": "https://x.pl"}
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["country"] == "PL"
    bad = ManufacturerForm(
        data={"store": store.pk, "name": "X", "address": "a", "country": "Polska", "url": "https://x.pl"}
    )
    assert "country" in bad.errors


def test_responsible_person_must_be_in_the_eu(store):
    form = ResponsiblePersonForm(
        data={"store": store.pk, "name": "Y", "address": "1 Main St", "country": "US", "email": "y@y.com"}
    )
    assert not form.is_valid() and "country" in form.errors


def test_product_form_refuses_another_stores_manufacturer(store):
    other = StoreFactory(domain="inny.example.pl")
    maker = ManufacturerFactory(store=other)
    form = ProductAdminForm(
        data={"store": store.pk, "kind": "standard", "name": "P", "vat_rate": "23", "manufacturer": maker.pk}
    )
    assert not form.is_valid()
    assert "manufacturer" in form.errors


def test_safety_document_is_checked_by_content():
    with pytest.raises(Exception, match="PDF, PNG or JPEG"):
        clean_safety_document(SimpleUploadedFile("instrukcja.pdf", b"MZ\x90\x00 not a pdf"))
    good = clean_safety_document(SimpleUploadedFile("../../etc/Instrukcja obsługi.exe", PDF_BYTES))
    assert good.name.endswith(".pdf") and "/" not in good.name
    big = SimpleUploadedFile("big.pdf", PDF_BYTES + b"0" * (10 * 1024 * 1024))
    with pytest.raises(Exception, match="10 MB"):
        clean_safety_document(big)


def test_staff_of_another_store_does_not_see_manufacturers(client, store):
    other = StoreFactory(domain="inny.example.pl")
    ManufacturerFactory(store=store, name="Nasz Producent")
    ManufacturerFactory(store=other, name="Cudzy Producent")
    user = StaffFactory(all_stores=False)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="catalog"))
    store.staff.add(user)
    client.force_login(user)
    page = client.get("/admin/catalog/manufacturer/").content.decode()
    assert "Nasz Producent" in page and "Cudzy Producent" not in page
    theirs = other.manufacturers.get()
    assert client.get(f"/admin/catalog/manufacturer/{theirs.pk}/change/").status_code in (302, 404)

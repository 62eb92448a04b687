"""Pages: defaults written for a Polish shop from the store's data, sanitised bodies, versions
bumped on each publication, drafts never public, footer links only to published pages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.test import Client

from content import pages, selectors
from content.admin import PageForm
from content.models import FooterColumn, FooterLink, Page, PageVersion
from content.sanitise import MAX_BODY_CHARS, clean_html
from tests.content.factories import FooterColumnFactory, FooterLinkFactory, PageFactory, published_page
from tests.orders.factories import PaymentMethodFactory, ShippingMethodFactory
from tests.shop.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    store = StoreFactory(
        name="Sklep Ogrodowy",
        domain="ogrod.example.pl",
        company_name="Ogród Jan Nowak",
        company_address="ul. Kwiatowa 7\n30-001 Kraków",
        company_tax_id="6762461659",
        support_email="pomoc@ogrod.example.pl",
        phone="+48 12 345 67 89",
    )
    ShippingMethodFactory(store=store, code="kurier", name="Kurier DPD", price=Decimal("16.90"))
    ShippingMethodFactory(store=store, code="stary", name="Poczta (wycofana)", is_active=False)
    PaymentMethodFactory(store=store, provider="bank_transfer", name="Przelew tradycyjny")
    return store


def test_a_store_gets_six_draft_pages_written_from_its_data(shop):
    created = pages.ensure_default_pages(store=shop)
    assert {p.kind for p in created} == {"terms", "privacy", "shipping", "returns", "contact", "about"}
    assert all(p.status == Page.Status.DRAFT and p.version == 0 for p in created)
    by_kind = {p.kind: p for p in created}
    terms = by_kind["terms"].body
    assert "Ogród Jan Nowak" in terms and "ul. Kwiatowa 7, 30-001 Kraków" in terms and "6762461659" in terms
    assert "14 dni" in terms and "polubowne.uokik.gov.pl" in terms and "pomoc@ogrod.example.pl" in terms
    assert "Przelew tradycyjny" in terms
    shipping = by_kind["shipping"].body
    assert "Kurier DPD" in shipping and "16,90" in shipping and "Poczta (wycofana)" not in shipping
    privacy = by_kind["privacy"].body
    assert "Prezesa Urzędu Ochrony Danych Osobowych" in privacy and "cookies" in privacy
    assert by_kind["terms"].slug == "regulamin" and by_kind["contact"].title == "Kontakt"
    # The default footer: the legal pages, then contact, the withdrawal form and the sitemap.
    columns = list(FooterColumn.objects.filter(store=shop))
    assert [c.title for c in columns] == ["Informacje", "Obsługa klienta"]
    service = [str(link) for link in columns[1].links.all()]
    assert service == ["Kontakt", "Formularz odstąpienia od umowy", "Mapa strony"]
    # Running it again adds nothing.
    assert pages.ensure_default_pages(store=shop) == []
    assert Page.objects.filter(store=shop).count() == 6


def test_an_english_store_gets_english_texts():
    store = StoreFactory(default_language="en", company_name="Garden Ltd")
    by_kind = {p.kind: p for p in pages.ensure_default_pages(store=store)}
    assert by_kind["terms"].title == "Terms and conditions" and by_kind["terms"].slug == "terms"
    assert "Right of withdrawal" in by_kind["terms"].body and "Garden Ltd" in by_kind["terms"].body


def test_a_new_store_gets_its_pages_once_committed(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        store = StoreFactory()
    assert Page.objects.filter(store=store, status="draft").count() == 6


def test_publishing_bumps_the_version_and_keeps_every_text(shop):
    page = PageFactory(store=shop, kind="terms", slug="regulamin", body="<p>Pierwsza</p>")
    pages.publish(page=page)
    assert page.version == 1 and page.published_at is not None
    page.body = "<p>Druga</p>"
    pages.save_page(page=page)
    assert page.version == 2
    # A save with nothing changed is not a new publication.
    pages.save_page(page=Page.objects.get(pk=page.pk))
    assert Page.objects.get(pk=page.pk).version == 2
    texts = list(PageVersion.objects.filter(page=page).order_by("version").values_list("version", "body"))
    assert texts == [(1, "<p>Pierwsza</p>"), (2, "<p>Druga</p>")]
    # Editing a draft publishes nothing.
    page.status = Page.Status.DRAFT
    page.body = "<p>Trzecia</p>"
    pages.save_page(page=page)
    assert page.version == 2 and PageVersion.objects.filter(page=page).count() == 2


def test_the_version_cannot_be_set_from_outside(shop):
    page = published_page(store=shop)
    page.version = 99
    page.title = "Nowy tytuł"
    pages.save_page(page=page)
    assert page.version == 2


@pytest.mark.parametrize(
    ("hostile", "kept", "gone"),
    [
        ("<p>ok<script>alert(1)</script></p>", "<p>ok</p>", "script"),
        ('<p><a href="javascript:alert(1)">x</a></p>', "<a", "javascript"),
        ('<p><a href="JaVaScRiPt:alert(1)">x</a></p>', "<a", "alert"),
        ('<p><a href="data:text/html,<script>1</script>">x</a></p>', "<a", "data:"),
        ('<p onclick="steal()">tekst</p>', "<p>tekst</p>", "onclick"),
        ('<img src="x" onerror="steal()"><p>t</p>', "<p>t</p>", "onerror"),
        ('<iframe src="https://evil.example"></iframe><p>t</p>', "<p>t</p>", "iframe"),
        ("<style>body{display:none}</style><p>t</p>", "<p>t</p>", "display"),
        ('<p style="position:fixed">t</p>', "<p>t</p>", "style"),
    ],
)
def test_bodies_are_sanitised_on_save(shop, hostile, kept, gone):
    page = PageFactory(store=shop, body=hostile)
    pages.save_page(page=page)
    stored = Page.objects.get(pk=page.pk).body
    assert kept in stored and gone not in stored.lower()


def test_safe_links_and_structure_survive():
    html = '<h2>A</h2><ul><li><a href="/strona/x/">x</a></li></ul><table><tbody><tr><td>1</td></tr></tbody></table>'
    cleaned = clean_html(html)
    assert '<a href="/strona/x/" rel="noopener noreferrer">x</a>' in cleaned and "<td>1</td>" in cleaned


def test_a_one_megabyte_body_is_refused_with_a_clear_error(shop):
    big = "<p>" + "a" * (1024 * 1024) + "</p>"
    form = PageForm(
        data={
            "store": shop.pk,
            "kind": "custom",
            "title": "Duża",
            "slug": "duza",
            "status": "draft",
            "body": big,
        }
    )
    assert not form.is_valid()
    assert "too long" in str(form.errors["body"]) or "za długi" in str(form.errors["body"])
    with pytest.raises(pages.PageError):
        pages.save_page(page=Page(store=shop, title="Duża", slug="duza", body="a" * (MAX_BODY_CHARS + 1)))


def test_drafts_are_404_for_shoppers_and_a_preview_for_the_stores_staff(shop):
    draft = PageFactory(store=shop, slug="szkic", title="Szkic")
    shopper = Client(HTTP_HOST=shop.domain)
    assert shopper.get("/strona/szkic/").status_code == 404
    staff = StaffFactory(all_stores=False)
    shop.staff.add(staff)
    preview = Client(HTTP_HOST=shop.domain)
    preview.force_login(staff)
    response = preview.get("/strona/szkic/")
    assert response.status_code == 200 and "noindex" in response.content.decode()
    # Staff of another store see no preview (404 like a shopper).
    other = StaffFactory(all_stores=False)
    StoreFactory().staff.add(other)
    outsider = Client(HTTP_HOST=shop.domain)
    outsider.force_login(other)
    assert outsider.get("/strona/szkic/").status_code == 404
    pages.publish(page=draft)
    assert shopper.get("/strona/szkic/").status_code == 200


def test_a_page_of_another_store_is_not_found(shop):
    published_page(store=StoreFactory(), slug="cudza")
    assert Client(HTTP_HOST=shop.domain).get("/strona/cudza/").status_code == 404


def test_the_footer_links_published_pages_only_and_the_page_view_is_cheap(
    shop, django_assert_max_num_queries
):
    pages.ensure_default_pages(store=shop)
    terms = Page.objects.get(store=shop, kind="terms")
    pages.publish(page=terms)
    client = Client(HTTP_HOST=shop.domain)
    client.get("/strona/regulamin/")  # warms the per-host store cache
    with django_assert_max_num_queries(8):
        html = footer(client.get("/strona/regulamin/"))
    assert 'href="/strona/regulamin/"' in html
    assert "/strona/polityka-prywatnosci/" not in html  # still a draft
    assert 'href="/odstapienie-od-umowy/"' in html and 'href="/sitemap.xml"' in html
    # Publishing another page shows it at once (the cached footer is dropped).
    pages.publish(page=Page.objects.get(store=shop, kind="privacy"))
    assert "/strona/polityka-prywatnosci/" in footer(client.get("/strona/regulamin/"))


def footer(response) -> str:
    html = response.content.decode()
    return html[html.index('<footer class="site-footer">') :]


def test_footer_columns_without_visible_links_are_hidden(shop):
    column = FooterColumnFactory(store=shop, title="Pusta")
    FooterLinkFactory(column=column, page=PageFactory(store=shop))  # a draft
    assert selectors.footer_columns(shop) == ()
    FooterLinkFactory(column=column, url="https://blog.example.pl", label="Blog")
    selectors.forget(shop.pk)
    (only,) = selectors.footer_columns(shop)
    assert only.title == "Pusta" and only.links[0].external


def test_a_footer_link_is_a_page_or_an_address_never_both():
    with pytest.raises(IntegrityError):
        FooterLink.objects.create(column=FooterColumnFactory(), url="", page=None)


def test_the_withdrawal_form_is_a_page_and_a_pdf_with_the_sellers_data(shop):
    from io import BytesIO

    from pypdf import PdfReader

    client = Client(HTTP_HOST=shop.domain)
    html = client.get("/odstapienie-od-umowy/").content.decode()
    assert (
        "Wzór formularza odstąpienia od umowy" in html
        and "Ogród Jan Nowak, ul. Kwiatowa 7, 30-001 Kraków" in html
    )
    response = client.get("/odstapienie-od-umowy/formularz.pdf")
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    text = PdfReader(BytesIO(response.content)).pages[0].extract_text()
    assert "Ogród Jan Nowak" in text and "Niepotrzebne skreślić" in text

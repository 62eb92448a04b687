"""Factories for the content tests: pages (drafts, published through content.pages), footer
columns and links, contact messages; ``publish_legal_pages`` makes a store ready to sell."""

from __future__ import annotations

import factory

from content import pages
from content.models import ContactMessage, FooterColumn, FooterLink, Page
from tests.shop.factories import StoreFactory


class PageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Page

    store = factory.SubFactory(StoreFactory)
    kind = Page.Kind.CUSTOM
    title = factory.Sequence(lambda n: f"Strona {n}")
    slug = factory.Sequence(lambda n: f"strona-{n}")
    body = "<h2>Nagłówek</h2><p>Treść strony.</p>"
    status = Page.Status.DRAFT


def published_page(**kwargs) -> Page:
    """A page published through the service (version 1 and its PageVersion)."""
    page = PageFactory(**kwargs)
    return pages.publish(page=page)


def publish_legal_pages(store) -> dict[str, Page]:
    """Terms and privacy policy published for ``store`` (its default drafts when it has them)."""
    found = {}
    for kind, slug in ((Page.Kind.TERMS, "regulamin"), (Page.Kind.PRIVACY, "polityka-prywatnosci")):
        page = Page.objects.filter(store=store, kind=kind).first()
        if page is None:
            page = PageFactory(
                store=store, kind=kind, slug=slug, title=Page.Kind(kind).label, body=f"<p>{kind} v1</p>"
            )
        if not page.is_published:
            pages.publish(page=page)
        found[kind] = page
    return found


class FooterColumnFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FooterColumn

    store = factory.SubFactory(StoreFactory)
    title = factory.Sequence(lambda n: f"Kolumna {n}")
    position = factory.Sequence(lambda n: n)


class FooterLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FooterLink

    column = factory.SubFactory(FooterColumnFactory)
    page = None
    url = ""
    label = ""
    position = factory.Sequence(lambda n: n)


class ContactMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactMessage

    store = factory.SubFactory(StoreFactory)
    name = "Jan Kowalski"
    email = "jan@example.com"
    subject = "Pytanie o zamówienie"
    message = "Kiedy wyślecie moje zamówienie?"

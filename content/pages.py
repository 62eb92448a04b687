"""Pages: the defaults a store starts with, saving and publishing (versions), and the terms an
order is placed under. Every write to a page goes through here (the admin calls it too)."""

from __future__ import annotations

from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from .models import FooterColumn, FooterLink, Page, PageVersion, TermsAcceptance
from .sanitise import MAX_BODY_CHARS, clean_html

Kind = Page.Kind

# (kind, Polish title and address, English title and address) of the pages every store starts with.
DEFAULT_PAGES = [
    (Kind.TERMS, ("Regulamin sklepu", "regulamin"), ("Terms and conditions", "terms")),
    (Kind.PRIVACY, ("Polityka prywatności", "polityka-prywatnosci"), ("Privacy policy", "privacy-policy")),
    (Kind.SHIPPING, ("Dostawa i płatności", "dostawa-i-platnosci"), ("Shipping and payment", "shipping")),
    (Kind.RETURNS, ("Zwroty i reklamacje", "zwroty-i-reklamacje"), ("Returns and complaints", "returns")),
    (Kind.CONTACT, ("Kontakt", "kontakt"), ("Contact", "contact")),
    (Kind.ABOUT, ("O nas", "o-nas"), ("About us", "about-us")),
]
LEGAL_KINDS = (Kind.TERMS, Kind.PRIVACY, Kind.SHIPPING, Kind.RETURNS, Kind.ABOUT)


class PageError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def store_language(store) -> str:
    return "en" if (store.default_language or "pl").startswith("en") else "pl"


def default_context(store) -> dict:
    """What the default texts fill in: the seller's data from the store, its active shipping and
    payment methods, and the addresses of the other pages."""
    from orders.models import PaymentMethod, ShippingMethod

    return {
        "store": store,
        "seller": store.company_name or store.name,
        "address": one_line(store.company_address),
        "tax_id": store.company_tax_id,
        "email": store.support_email or store.sender_email,
        "phone": store.phone,
        "shop_url": store.absolute_url("/"),
        "shipping_methods": list(ShippingMethod.objects.filter(store=store, is_active=True)),
        "payment_methods": list(PaymentMethod.objects.filter(store=store, is_active=True)),
        "urls": default_urls(store_language(store)),
    }


def one_line(address: str) -> str:
    """A postal address on one line: "ul. Długa 1, 00-001 Warszawa"."""
    return ", ".join(" ".join(line.split()) for line in (address or "").splitlines() if line.strip())


def default_body(*, store, kind: str, context: dict | None = None) -> str:
    return render_default(
        language=store_language(store), kind=kind, context=context or default_context(store)
    )


def render_default(*, language: str, kind: str, context: dict) -> str:
    """A default text (content/templates/content/defaults/<language>/<kind>.html), sanitised."""
    with translation.override(language):
        html = render_to_string(f"content/defaults/{language}/{kind}.html", context)
    return clean_html(html)


def default_urls(language: str) -> dict:
    slugs = {kind: (pl if language == "pl" else en)[1] for kind, pl, en in DEFAULT_PAGES}
    return {kind: f"/strona/{slug}/" for kind, slug in slugs.items()} | {
        "withdrawal": "/odstapienie-od-umowy/",
        "withdrawal_pdf": "/odstapienie-od-umowy/formularz.pdf",
    }


@transaction.atomic
def ensure_default_pages(*, store) -> list[Page]:
    """Give ``store`` the six standard pages it lacks, as drafts written from the templates (the
    merchant reviews and publishes them), and the default footer when it has none. Returns the
    pages created; running it again creates nothing."""
    language = store_language(store)
    have = set(Page.objects.filter(store=store).values_list("kind", flat=True))
    taken = set(Page.objects.filter(store=store).values_list("slug", flat=True))
    context = default_context(store)
    created = []
    for kind, pl, en in DEFAULT_PAGES:
        if kind in have:
            continue
        title, slug = pl if language == "pl" else en
        if slug in taken:
            slug = f"{slug}-{kind}"
        created.append(
            Page.objects.create(
                store=store,
                kind=kind,
                title=title,
                slug=slug,
                body=default_body(store=store, kind=kind, context=context),
                status=Page.Status.DRAFT,
            )
        )
    if not FooterColumn.objects.filter(store=store).exists():
        _default_footer(store=store, language=language)
    return created


def _default_footer(*, store, language: str) -> None:
    pages = {p.kind: p for p in Page.objects.filter(store=store).exclude(kind=Kind.CUSTOM)}
    with translation.override(language):
        info = FooterColumn.objects.create(store=store, title=_("Information"), position=0)
        service = FooterColumn.objects.create(store=store, title=_("Customer service"), position=1)
        links = [
            FooterLink(column=info, page=pages[kind], position=i)
            for i, kind in enumerate(LEGAL_KINDS)
            if kind in pages
        ]
        if Kind.CONTACT in pages:
            links.append(FooterLink(column=service, page=pages[Kind.CONTACT], position=0))
        links.append(
            FooterLink(
                column=service, url=reverse("content:withdrawal"), label=_("Withdrawal form"), position=1
            )
        )
        links.append(FooterLink(column=service, url="/sitemap.xml", label=_("Sitemap"), position=2))
    FooterLink.objects.bulk_create(links)


def unique_slug(*, store, title: str, exclude_pk=None) -> str:
    base = slugify(title)[:100] or "strona"
    taken = set(Page.objects.filter(store=store).exclude(pk=exclude_pk).values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def save_page(*, page: Page, user=None) -> Page:
    """Save ``page`` (new or changed). Its text is sanitised; when it is saved as published and it
    was not, or its title or text changed, that is a new publication: the version goes up, the
    moment is recorded and the text is kept as a :class:`PageVersion` (orders point to it)."""
    if len(page.body or "") > MAX_BODY_CHARS:
        raise PageError(_("The text is too long (at most %(n)s characters).") % {"n": f"{MAX_BODY_CHARS:,}"})
    page.body = clean_html(page.body)
    if not page.slug:
        page.slug = unique_slug(store=page.store, title=page.title)
    before = Page.objects.select_for_update().filter(pk=page.pk).first() if page.pk else None
    publishing = page.status == Page.Status.PUBLISHED and (
        before is None
        or before.status != Page.Status.PUBLISHED
        or before.title != page.title
        or before.body != page.body
        or page.version == 0
    )
    if before is not None:
        page.version = before.version  # never from the form
    if publishing:
        now = timezone.now()
        page.version += 1
        page.published_at = now
    page.save()
    if publishing:
        PageVersion.objects.create(
            page=page,
            version=page.version,
            title=page.title,
            body=page.body,
            published_at=page.published_at,
            published_by=user if user is not None and user.is_authenticated else None,
        )
    return page


def publish(*, page: Page, user=None) -> Page:
    page.status = Page.Status.PUBLISHED
    return save_page(page=page, user=user)


def current_version(*, store, kind: str) -> PageVersion | None:
    """The version of the store's ``kind`` page in force now (``None`` while it is unpublished)."""
    return (
        PageVersion.objects.filter(page__store=store, page__kind=kind, page__status=Page.Status.PUBLISHED)
        .order_by("-version")
        .first()
    )


class Terms:
    """The keeper ``orders.terms`` calls while an order is placed (registered in apps.py)."""

    def require(self, *, store) -> None:
        from orders.services.errors import CheckoutError

        if current_version(store=store, kind=Kind.TERMS) is None:
            raise CheckoutError(
                _(
                    "This shop cannot take orders yet: it has not published its terms and conditions. "
                    "Please contact the shop."
                ),
                field="summary",
            )

    def record(self, *, order) -> None:
        terms = current_version(store=order.store, kind=Kind.TERMS)
        if terms is None:  # require() passed earlier in this transaction; unpublished meanwhile
            self.require(store=order.store)
        TermsAcceptance.objects.create(
            order=order,
            terms=terms,
            privacy=current_version(store=order.store, kind=Kind.PRIVACY),
            accepted_at=timezone.now(),
        )

"""Every existing store gets the six standard pages (drafts to review) and the default footer.

Historical models only; the texts come from content/templates/content/defaults/ like for a new
store (content.pages.render_default)."""

from django.conf import settings
from django.db import migrations
from django.utils import translation

PAGES = [
    ("terms", ("Regulamin sklepu", "regulamin"), ("Terms and conditions", "terms")),
    ("privacy", ("Polityka prywatności", "polityka-prywatnosci"), ("Privacy policy", "privacy-policy")),
    ("shipping", ("Dostawa i płatności", "dostawa-i-platnosci"), ("Shipping and payment", "shipping")),
    ("returns", ("Zwroty i reklamacje", "zwroty-i-reklamacje"), ("Returns and complaints", "returns")),
    ("contact", ("Kontakt", "kontakt"), ("Contact", "contact")),
    ("about", ("O nas", "o-nas"), ("About us", "about-us")),
]
FOOTER = {
    "pl": ("Informacje", "Obsługa klienta", "Formularz odstąpienia od umowy", "Mapa strony"),
    "en": ("Information", "Customer service", "Withdrawal form", "Sitemap"),
}


def create_pages(apps, schema_editor):
    from content.pages import default_urls, one_line, render_default

    Store = apps.get_model("shop", "Store")
    Page = apps.get_model("content", "Page")
    FooterColumn = apps.get_model("content", "FooterColumn")
    FooterLink = apps.get_model("content", "FooterLink")
    ShippingMethod = apps.get_model("orders", "ShippingMethod")
    PaymentMethod = apps.get_model("orders", "PaymentMethod")
    for store in Store.objects.all():
        language = "en" if (store.default_language or "pl").startswith("en") else "pl"
        base = settings.SITE_URL
        if not settings.DEBUG and store.domain not in ("localhost", "testserver"):
            base = f"https://{store.domain}"
        context = {
            "store": store,
            "seller": store.company_name or store.name,
            "address": one_line(store.company_address),
            "tax_id": store.company_tax_id,
            "email": store.support_email or store.sender_email,
            "phone": store.phone,
            "shop_url": f"{base}/",
            "shipping_methods": list(ShippingMethod.objects.filter(store=store, is_active=True)),
            "payment_methods": list(PaymentMethod.objects.filter(store=store, is_active=True)),
            "urls": default_urls(language),
        }
        have = set(Page.objects.filter(store=store).values_list("kind", flat=True))
        for kind, pl, en in PAGES:
            if kind in have:
                continue
            title, slug = pl if language == "pl" else en
            with translation.override(language):
                body = render_default(language=language, kind=kind, context=context)
            Page.objects.create(store=store, kind=kind, title=title, slug=slug, body=body, status="draft")
        if FooterColumn.objects.filter(store=store).exists():
            continue
        info_title, service_title, withdrawal, sitemap = FOOTER[language]
        info = FooterColumn.objects.create(store=store, title=info_title, position=0)
        service = FooterColumn.objects.create(store=store, title=service_title, position=1)
        pages = {p.kind: p for p in Page.objects.filter(store=store).exclude(kind="custom")}
        links = [
            FooterLink(column=info, page=pages[kind], position=i)
            for i, kind in enumerate(("terms", "privacy", "shipping", "returns", "about"))
            if kind in pages
        ]
        if "contact" in pages:
            links.append(FooterLink(column=service, page=pages["contact"], position=0))
        links.append(FooterLink(column=service, url="/odstapienie-od-umowy/", label=withdrawal, position=1))
        links.append(FooterLink(column=service, url="/sitemap.xml", label=sitemap, position=2))
        FooterLink.objects.bulk_create(links)


class Migration(migrations.Migration):
    dependencies = [
        ("content", "0001_initial"),
        ("orders", "0010_invoice_corrections"),
    ]

    operations = [migrations.RunPython(create_pages, migrations.RunPython.noop)]

"""The store's look on the storefront: CSS variables, logo and icons, the manifest, the menu
(default and edited), home blocks in order, the page cache forgetting them, delivery lines."""

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile

from branding.models import HomeBlock, StoreBranding
from branding.services import refresh_icons
from tests.branding.factories import HomeBlockFactory, MenuItemFactory, StoreBrandingFactory, png_bytes
from tests.catalog.factories import CategoryFactory, ProductGroupFactory, VariantFactory
from tests.orders.factories import ShippingMethodFactory

pytestmark = pytest.mark.django_db


def html(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_a_store_without_a_look_keeps_the_built_in_one(client, store):
    CategoryFactory(store=store, name="Obuwie", slug="obuwie")
    page = html(client.get("/"))
    assert "--brand:" not in page.split("</head>")[0].split("theme.css")[1]  # no override
    assert '<meta name="theme-color" content="#1f4e79">' in page
    assert '<a class="brand" href="/">Sklep Testowy</a>' in page
    assert 'class="categories" aria-label="Kategorie"' in page and 'href="/k/obuwie/"' in page
    assert "New arrivals" not in page and "Nowości" in page  # the default home sections


def test_colours_and_font_reach_the_page_as_css_variables(client, store):
    StoreBrandingFactory(
        store=store,
        primary_color="#FFD43B",
        accent_color="#0b7285",
        text_color="#222222",
        background_color="#fffdf5",
        font="serif",
    )
    head = html(client.get("/")).split("</head>")[0]
    assert "--brand:#ffd43b;--on-brand:#111111;" in head  # dark text on a light brand colour
    assert "--accent:#0b7285;--on-accent:#ffffff;--ink:#222222;--bg:#fffdf5;" in head
    assert "--font:Charter," in head and "fonts.googleapis" not in head
    assert '<meta name="theme-color" content="#ffd43b">' in head


def test_a_row_written_around_the_form_cannot_break_out_of_the_style(client, store):
    StoreBranding.objects.create(store=store, primary_color="}</sty>", accent_color="#C2410C")
    page = html(client.get("/"))
    assert "}</sty>" not in page and "--brand:#1f4e79;" in page and "--accent:#c2410c;" in page


def test_logo_icons_and_manifest(client, store):
    branding = StoreBrandingFactory(store=store, primary_color="#123c5a", background_color="#fafafa")
    branding.logo.save("logo.png", ContentFile(png_bytes()), save=True)
    key = refresh_icons(branding=branding)
    page = html(client.get("/"))
    assert (
        f'<img class="logo" src="/media/branding/{store.pk}/logo/logo' in page
        and 'alt="Sklep Testowy"' in page
    )
    base = f"/media/branding/{store.pk}/icons/{key}/"
    assert f'<link rel="icon" href="{base}favicon.ico" sizes="48x48">' in page
    assert f'href="{base}favicon-32.png" type="image/png" sizes="32x32"' in page
    assert f'<link rel="apple-touch-icon" href="{base}apple-touch-icon.png" sizes="180x180">' in page
    manifest = client.get("/manifest.webmanifest").json()
    assert manifest["theme_color"] == "#123c5a" and manifest["background_color"] == "#fafafa"
    assert [(i["src"], i["sizes"], i["purpose"]) for i in manifest["icons"]] == [
        (f"{base}icon-192.png", "192x192", "any"),
        (f"{base}icon-512.png", "512x512", "any"),
        (f"{base}icon-maskable-512.png", "512x512", "maskable"),
    ]


def test_the_manifest_without_a_logo_uses_the_built_in_icons(client, store):
    manifest = client.get("/manifest.webmanifest").json()
    assert manifest["theme_color"] == "#1f4e79"
    assert manifest["icons"][0]["src"].endswith("img/icon-192.png")
    assert manifest["icons"][2]["purpose"] == "maskable"


def test_the_logo_heads_the_emails(store, settings):
    from django.template.loader import render_to_string

    branding = StoreBrandingFactory(store=store, primary_color="#123c5a")
    branding.logo.save("logo.png", ContentFile(png_bytes()), save=True)
    mail = render_to_string("email/base.html", {"store": store})
    assert f'<img src="{settings.SITE_URL}/media/branding/{store.pk}/logo/logo' in mail
    assert "background:#123c5a;color:#ffffff" in mail


def test_an_edited_menu_replaces_the_categories_with_one_sub_level(client, store):
    shoes = CategoryFactory(store=store, name="Obuwie", slug="obuwie")
    CategoryFactory(store=store, name="Książki", slug="ksiazki")
    branding = StoreBrandingFactory(store=store)
    top = MenuItemFactory(branding=branding, label="", url="", category=shoes, position=1)
    MenuItemFactory(branding=branding, label="Promocje", url="/g/promocje/", parent=top, position=0)
    MenuItemFactory(branding=branding, label="Regulamin", url="/regulamin/", position=0)
    MenuItemFactory(branding=branding, label="Ukryta", url="/x/", position=2, is_active=False)
    page = html(client.get("/k/obuwie/"))  # a catalog page: its cached category menu gives way too
    nav = page.split('data-testid="store-menu"')[1].split("</nav>")[0]
    assert nav.index("Regulamin") < nav.index("Obuwie")  # by position
    assert "<summary>Obuwie</summary>" in nav and 'href="/k/obuwie/">Wszystko: Obuwie' in nav
    assert 'href="/g/promocje/">Promocje' in nav and "Ukryta" not in nav and "Książki" not in nav


def test_saving_a_menu_item_shows_at_once_on_cached_pages(client, store):
    CategoryFactory(store=store, name="Obuwie", slug="obuwie")
    branding = StoreBrandingFactory(store=store)
    assert 'href="/k/obuwie/"' in html(client.get("/"))
    item = MenuItemFactory(branding=branding, label="Kontakt", url="/kontakt/")
    assert 'href="/kontakt/">Kontakt' in html(client.get("/"))
    item.delete()
    page = html(client.get("/"))
    assert "Kontakt" not in page and 'href="/k/obuwie/"' in page  # back to the default menu


def test_home_blocks_render_in_position_order_and_slides_form_one_slider(client, store):
    group = ProductGroupFactory(store=store, name="Bestsellery", slug="bestsellery")
    variant = VariantFactory(store=store, product__name="But zimowy", price=Decimal("199.00"), stock=3)
    group.products.add(variant.product)
    CategoryFactory(store=store, name="Obuwie", slug="obuwie")
    branding = StoreBrandingFactory(store=store)
    HomeBlockFactory(branding=branding, kind=HomeBlock.Kind.TEXT, heading="O nas", position=5)
    HomeBlockFactory(
        branding=branding,
        kind=HomeBlock.Kind.HERO,
        heading="Wielka wyprzedaż",
        link="/g/bestsellery/",
        link_label="Kupuj",
        position=1,
    )
    HomeBlockFactory(branding=branding, kind=HomeBlock.Kind.PRODUCTS, group=group, heading="", position=3)
    HomeBlockFactory(branding=branding, kind=HomeBlock.Kind.SLIDE, heading="Slajd A", position=2)
    HomeBlockFactory(branding=branding, kind=HomeBlock.Kind.SLIDE, heading="Slajd B", position=2)
    HomeBlockFactory(branding=branding, kind=HomeBlock.Kind.CATEGORIES, heading="", position=4)
    HomeBlockFactory(
        branding=branding, kind=HomeBlock.Kind.TEXT, heading="Wyłączony", position=0, is_active=False
    )
    page = html(client.get("/"))
    kinds = [chunk.split('"')[0] for chunk in page.split('data-kind="')[1:]]
    assert kinds == ["hero", "slider", "products", "categories", "text"]
    assert page.index("Slajd A") < page.index("Slajd B") < page.index("But zimowy")
    assert "Wielka wyprzedaż" in page and 'href="/g/bestsellery/">Kupuj' in page
    assert "Bestsellery" in page and 'href="/k/obuwie/"' in page and "Kupuj według kategorii" in page
    assert "Wyłączony" not in page and "Nowości" not in page


def test_saving_or_deleting_a_block_invalidates_the_cached_home(client, store):
    branding = StoreBrandingFactory(store=store)
    block = HomeBlockFactory(branding=branding, heading="Pierwsza wersja")
    assert "Pierwsza wersja" in html(client.get("/"))
    assert "Pierwsza wersja" in html(client.get("/"))  # now from the page cache
    block.heading = "Druga wersja"
    block.save()
    assert "Druga wersja" in html(client.get("/"))
    HomeBlockFactory(branding=branding, heading="Nowy blok", position=9)
    assert "Nowy blok" in html(client.get("/"))
    HomeBlock.objects.filter(branding=branding).delete()  # a queryset delete sends post_delete per row
    page = html(client.get("/"))
    assert "Druga wersja" not in page and "Nowy blok" not in page and "Nowości" in page


def test_a_warm_branded_home_costs_no_query(
    client, store, django_assert_num_queries, django_assert_max_num_queries
):
    group = ProductGroupFactory(store=store, slug="g")
    group.products.add(VariantFactory(store=store, stock=2).product)
    branding = StoreBrandingFactory(store=store)
    HomeBlockFactory(branding=branding, kind=HomeBlock.Kind.PRODUCTS, group=group)
    MenuItemFactory(branding=branding)
    with django_assert_max_num_queries(10):
        html(client.get("/"))
    with django_assert_num_queries(0):
        html(client.get("/"))


def test_product_page_shows_the_cheapest_delivery_and_follows_changes(client, store):
    variant = VariantFactory(store=store, product__slug="but", stock=3)
    ShippingMethodFactory(
        store=store, code="kurier", price=Decimal("14.99"), free_shipping_threshold=Decimal("200")
    )
    locker = ShippingMethodFactory(store=store, code="paczkomat", price=Decimal("9.99"))
    ShippingMethodFactory(store=store, code="odbior", kind="pickup", price=Decimal("0"))
    ShippingMethodFactory(store=store, code="stary", price=Decimal("1.00"), is_active=False)
    page = html(client.get(variant.product.get_absolute_url()))
    assert "Dostawa od 9,99\xa0zł · gratis od 200,00\xa0zł" in page
    locker.price = Decimal("8.49")
    locker.save()
    assert "Dostawa od 8,49\xa0zł" in html(client.get(variant.product.get_absolute_url()))


def test_no_delivery_line_without_shipping_methods(client, store):
    variant = VariantFactory(store=store, product__slug="but", stock=3)
    assert 'data-testid="delivery-from"' not in html(client.get(variant.product.get_absolute_url()))


def _cart_with(client, variant, quantity):
    response = client.post("/koszyk/dodaj/", {"variant": variant.pk, "quantity": quantity})
    assert response.status_code == 302
    return html(client.get("/koszyk/"))


def test_cart_shows_pictures_and_the_free_delivery_bar(client, store):
    from tests.catalog.factories import ProductImageFactory

    ShippingMethodFactory(
        store=store, code="kurier", price=Decimal("14.99"), free_shipping_threshold=Decimal("200")
    )
    variant = VariantFactory(store=store, price=Decimal("66.99"), stock=9)
    ProductImageFactory(product=variant.product)
    page = _cart_with(client, variant, 1)
    assert 'class="line-image"' in page and "/media/thumbs/96/" in page
    bar = page.split('data-testid="free-shipping"')[1].split("</div>\n</div>")[0]
    assert "Brakuje 133,01\xa0zł do darmowej dostawy" in bar
    assert 'aria-valuenow="33.50"' in bar and "width:33.50%" in bar
    page = _cart_with(client, variant, 2)  # 200.97: reached
    assert "Masz darmową dostawę." in page and "width:100%" in page


def test_no_bar_when_no_method_has_a_threshold(client, store):
    ShippingMethodFactory(store=store, code="kurier", price=Decimal("14.99"))
    page = _cart_with(client, VariantFactory(store=store, stock=9), 1)
    assert 'data-testid="free-shipping"' not in page


def test_the_demo_store_gets_a_hero_two_groups_and_the_categories(client, store):
    import random

    from branding import demo

    ProductGroupFactory(store=store, slug="nowosci", name="Nowości")
    ProductGroupFactory(store=store, slug="promocje", name="Promocje")
    demo.seed(store=store, rng=random.Random(1))
    demo.seed(store=store, rng=random.Random(1))  # idempotent
    branding = StoreBranding.objects.get(store=store)
    assert branding.logo and branding.icons_key
    blocks = list(branding.home_blocks.order_by("position").values_list("kind", "group__slug"))
    assert blocks == [
        ("hero", None),
        ("products", "nowosci"),
        ("products", "promocje"),
        ("categories", None),
        ("text", None),
    ]
    assert "Jesień w dobrym stylu" in html(client.get("/"))

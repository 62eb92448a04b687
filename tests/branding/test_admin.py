"""The admin page of the store's look: contrast warnings with the ratios, hostile uploads
refused with a clear message, icons made on save, per-store staff."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from branding.models import HomeBlock, MenuItem, StoreBranding
from tests.branding.factories import StoreBrandingFactory, png_bytes
from tests.catalog.factories import CategoryFactory, ProductGroupFactory
from tests.shop.factories import StaffFactory, StoreFactory, SuperuserFactory

pytestmark = pytest.mark.django_db

ADD = reverse("admin:branding_storebranding_add")


@pytest.fixture
def admin_client(client):
    client.force_login(SuperuserFactory())
    return client


def _inlines(prefix: str, total: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def form_data(store, **overrides) -> dict:
    data = {
        "store": store.pk,
        "primary_color": "#123c5a",
        "accent_color": "#c2410c",
        "text_color": "#1c2330",
        "background_color": "#ffffff",
        "font": "system",
        **_inlines("menu_items"),
        **_inlines("home_blocks"),
    }
    data.update(overrides)
    return data


def errors_of(response) -> str:
    assert response.status_code == 200, "the form was expected to come back with errors"
    return response.content.decode()


def test_good_colours_and_a_logo_save_and_make_icons(admin_client, store):
    logo = SimpleUploadedFile("Logo Sklepu.PNG", png_bytes((800, 400)), content_type="image/png")
    response = admin_client.post(ADD, form_data(store, logo=logo))
    assert response.status_code == 302, response.content.decode()[:3000]
    branding = StoreBranding.objects.get(store=store)
    assert branding.logo.name.startswith(f"branding/{store.pk}/logo/logo-sklepu") and branding.icons_key
    change = admin_client.get(
        reverse("admin:branding_storebranding_change", args=[store.pk])
    ).content.decode()
    assert "180 px" in change and "512 px" in change  # icon previews
    assert change.count("✓") == 4 and "za niski" not in change  # the saved colours' ratios


def test_low_contrast_is_a_validation_warning_with_the_ratios(admin_client, store):
    data = form_data(store, text_color="#aaaaaa", accent_color="#ffa94d")
    page = errors_of(admin_client.post(ADD, data))
    assert "Te kolory nie spełniają kontrastu WCAG AA 4,5:1 dla tekstu" in page
    assert "Tekst na tle: 2,32:1" in page
    assert "Tekst przycisków na kolorze akcentu" in page
    assert not StoreBranding.objects.exists()
    response = admin_client.post(ADD, {**data, "accept_low_contrast": "on"}, follow=True)
    assert StoreBranding.objects.get(store=store).text_color == "#aaaaaa"
    assert "Zapisano z niskim kontrastem" in response.content.decode()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "Pliki SVG nie są przyjmowane",
        ),
        (
            "logo.png",
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
            "Pliki SVG nie są przyjmowane",
        ),
        ("logo.png", b"<html><script>alert(1)</script></html>", "Pliki SVG nie są przyjmowane"),
        ("logo.png", b"MZ\x90\x00 not an image at all" * 10, "Plik nie jest prawidłowym obrazem"),
        ("logo.jpg", b"%PDF-1.7\n" + b"x" * 100, "Plik nie jest prawidłowym obrazem"),
    ],
)
def test_hostile_or_disguised_logos_are_refused(admin_client, store, name, content, message):
    page = errors_of(admin_client.post(ADD, form_data(store, logo=SimpleUploadedFile(name, content))))
    assert message in page
    assert not StoreBranding.objects.exists()


def test_a_decompression_bomb_is_refused(admin_client, store, settings):
    settings.CATALOG_MAX_IMAGE_PIXELS = 1_000_000
    out = io.BytesIO()
    Image.new("1", (4000, 4000)).save(out, "PNG")  # 4 kB on disk, 16 megapixels decoded
    page = errors_of(
        admin_client.post(ADD, form_data(store, logo=SimpleUploadedFile("bomb.png", out.getvalue())))
    )
    assert "Obraz ma za dużo pikseli (4000 × 4000)." in page


def test_an_oversized_upload_is_refused(admin_client, store, settings):
    settings.MAX_IMAGE_UPLOAD_BYTES = 50 * 1024
    big = SimpleUploadedFile(
        "big.png", png_bytes((1200, 1200), mode="RGB", color=(1, 2, 3)) + b"\0" * 60 * 1024
    )
    page = errors_of(admin_client.post(ADD, form_data(store, logo=big)))
    assert "Obraz jest za duży" in page


def test_banner_uploads_are_checked_like_the_logo(admin_client, store):
    data = form_data(
        store,
        **{
            **_inlines("home_blocks", 1),
            "home_blocks-0-kind": "hero",
            "home_blocks-0-heading": "Baner",
            "home_blocks-0-position": "0",
            "home_blocks-0-is_active": "on",
            "home_blocks-0-image": SimpleUploadedFile("b.svg", b"<svg/>"),
        },
    )
    assert "Pliki SVG nie są przyjmowane" in errors_of(admin_client.post(ADD, data))


def test_menu_and_blocks_are_edited_inline_and_checked(admin_client, store):
    category = CategoryFactory(store=store, name="Obuwie", slug="obuwie")
    other_group = ProductGroupFactory(store=StoreFactory(domain="inny.example"))
    StoreBrandingFactory(store=store)
    url = reverse("admin:branding_storebranding_change", args=[store.pk])
    base = form_data(store)
    del base["store"]
    data = {
        **base,
        **_inlines("menu_items", 3),
        "menu_items-0-category": category.pk,
        "menu_items-0-position": "0",
        "menu_items-0-is_active": "on",
        "menu_items-1-label": "Zło",
        "menu_items-1-url": "javascript:alert(1)",
        "menu_items-1-position": "1",
        "menu_items-2-label": "Dwa cele",
        "menu_items-2-url": "/x/",
        "menu_items-2-category": category.pk,
        "menu_items-2-position": "2",
        **_inlines("home_blocks", 1),
        "home_blocks-0-kind": "products",
        "home_blocks-0-group": other_group.pk,
        "home_blocks-0-position": "0",
    }
    page = errors_of(admin_client.post(url, data))
    assert "Podaj stronę tego sklepu (/k/buty/) albo adres https://." in page
    assert "Wybierz dokładnie jedno: kategorię, grupę produktów albo adres." in page
    assert "Wybierz poprawną wartość" in page  # another store's group is not even a choice
    assert not MenuItem.objects.exists() and not HomeBlock.objects.exists()
    data.update({"menu_items-TOTAL_FORMS": "1", "home_blocks-TOTAL_FORMS": "0"})
    assert admin_client.post(url, data).status_code == 302
    assert MenuItem.objects.get().category == category


def test_staff_of_another_store_cannot_see_or_change_its_look(client, store):
    from django.contrib.auth.models import Permission

    StoreBrandingFactory(store=store)
    other = StoreFactory(domain="inny.example")
    staff = StaffFactory(all_stores=False)
    other.staff.add(staff)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="branding"))
    client.force_login(staff)
    url = reverse("admin:branding_storebranding_change", args=[store.pk])
    assert client.get(url).status_code in (302, 404)
    assert client.post(url, form_data(store, primary_color="#000000")).status_code in (302, 404)
    assert StoreBranding.objects.get(store=store).primary_color != "#000000"
    listing = client.get(reverse("admin:branding_storebranding_changelist")).content.decode()
    assert "Sklep Testowy" not in listing

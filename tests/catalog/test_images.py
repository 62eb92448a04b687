import io
import os

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog import images, services
from catalog.templatetags.catalog_tags import thumbnail
from tests.catalog.factories import ProductFactory, ProductImageFactory, VariantFactory

pytestmark = pytest.mark.django_db


def _jpeg(size=(40, 30), color="red", exif=False) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, color)
    kwargs = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        data[0x8825] = {2: (52.0, 13.0, 0.0)}  # GPS
        kwargs["exif"] = data
    image.save(out, "JPEG", **kwargs)
    return out.getvalue()


def test_valid_upload_is_reencoded_without_exif_and_renamed(store):
    upload = SimpleUploadedFile("../../etc/Zdjęcie ŁÓDŹ.JPG", _jpeg(exif=True), content_type="image/jpeg")
    product = ProductFactory(store=store)
    image = services.add_product_image(product=product, upload=upload, alt="Łódź")
    assert image.image.name == f"products/{product.pk}/zdjecie-lodz.jpg"
    assert (image.width, image.height) == (40, 30)
    with default_storage.open(image.image.name) as fh, Image.open(fh) as stored:
        assert not stored.getexif()
    assert len(image.checksum) == 64
    # The same picture again is stored once.
    again = services.add_product_image(product=product, upload=SimpleUploadedFile("b.jpg", _jpeg(exif=True)))
    assert again.pk == image.pk


def test_transparent_png_stays_png(store):
    out = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(out, "PNG")
    processed = images.process_upload(SimpleUploadedFile("logo.png", out.getvalue()))
    assert processed.content.name == "logo.png"


@pytest.mark.parametrize(
    "payload",
    [
        b"not an image at all",
        b"%PDF-1.4 fake",
        b"",
        b"\xff\xd8\xff\xe0" + b"\x00" * 50,
        b"<svg xmlns='x'></svg>",
    ],
)
def test_non_images_are_refused(payload):
    with pytest.raises(ValidationError, match=r"not a valid image|Unsupported"):
        images.process_upload(SimpleUploadedFile("x.jpg", payload))


class _Huge(io.BytesIO):
    """A file that claims to be 50 MB without holding 50 MB."""

    size = 50 * 1024 * 1024


def test_fifty_megabytes_is_refused_before_reading(settings):
    upload = _Huge(_jpeg())
    upload.name = "big.jpg"
    with pytest.raises(ValidationError, match="too large"):
        images.process_upload(upload)
    settings.MAX_IMAGE_UPLOAD_BYTES = 100
    with pytest.raises(ValidationError, match="too large"):
        images.process_upload(SimpleUploadedFile("a.jpg", _jpeg()))


def test_decompression_bomb_is_refused(settings):
    settings.CATALOG_MAX_IMAGE_PIXELS = 1000
    with pytest.raises(ValidationError, match="too many pixels"):
        images.process_upload(SimpleUploadedFile("a.jpg", _jpeg(size=(100, 100))))


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        ("..\\..\\windows\\evil.JPG", "evil.jpg"),
        ("/abs/path/Żółw.gif", "zolw.gif"),
        ("....", "file"),
        ("a.tar.gz", "a-tar.gz"),
    ],
)
def test_safe_filename(name, safe):
    assert images.safe_filename(name) == safe


def test_variant_of_another_product_is_refused(store):
    product = ProductFactory(store=store)
    with pytest.raises(ValidationError):
        services.add_product_image(
            product=product, upload=SimpleUploadedFile("a.jpg", _jpeg()), variant=VariantFactory(store=store)
        )


def test_thumbnails_are_webp_generated_once_and_cached(store, monkeypatch):
    image = ProductImageFactory(product=ProductFactory(store=store), image__width=800, image__height=400)
    url = thumbnail(image.image, 300)
    assert url.endswith(".webp") and "/thumbs/300/" in url
    name = images.thumbnail_name(image.image.name, 300)
    with default_storage.open(name) as fh, Image.open(fh) as thumb:
        assert thumb.format == "WEBP" and thumb.size == (300, 150)
    calls = []
    monkeypatch.setattr(images, "make_thumbnail", lambda *a: calls.append(a))
    assert thumbnail(image.image.name, 300) == url
    assert calls == []  # cached on disk: not generated again
    assert os.path.exists(default_storage.path(name))


def test_thumbnail_of_a_missing_or_broken_file_falls_back(store):
    assert thumbnail("", 300).endswith("placeholder.svg")
    assert thumbnail("products/nope.jpg", 300).endswith("products/nope.jpg")
    default_storage.save("products/broken.jpg", ContentFile(b"garbage"))
    assert thumbnail("products/broken.jpg", 96).endswith("broken.jpg")


def test_thumbnail_task(store):
    from catalog.tasks import generate_thumbnails

    image = ProductImageFactory(product=ProductFactory(store=store))
    assert generate_thumbnails(image.pk) == 3
    assert generate_thumbnails(999999) == 0


# --- placeholder pictures (demo products without a photo) ------------------------------------------


def _glyph_box(font, char: str) -> bytes:
    """The pixels ``char`` draws with ``font``, cropped to the ink."""
    from PIL import ImageDraw

    image = Image.new("L", (400, 400), 0)
    ImageDraw.Draw(image).text((200, 200), char, fill=255, font=font, anchor="mm")
    return image.crop(image.getbbox()).tobytes() if image.getbbox() else b""


def test_placeholder_font_draws_every_polish_letter_not_the_missing_glyph_box():
    from fontTools.ttLib import TTFont

    cmap = TTFont(str(images.PLACEHOLDER_FONT))["cmap"].getBestCmap()
    polish = "ĄĆĘŁŃÓŚŹŻąćęłńóśźż"
    assert [c for c in polish if ord(c) not in cmap] == []
    font = images.placeholder_font(120)
    missing = _glyph_box(font, "\ue000")  # a private-use code point: no font has it, .notdef is drawn
    for char in "ŻÓŁĆżółć":
        drawn = _glyph_box(font, char)
        assert drawn and drawn != missing, char
    # Ż is not Z: the dot is drawn.
    assert _glyph_box(font, "Ż") != _glyph_box(font, "Z")


def test_placeholder_image_of_a_polish_name_shows_its_initials():
    data = images.placeholder_image("Żółć łąkowa", "#1f4e79")
    with Image.open(io.BytesIO(data)) as picture:
        assert picture.size == (600, 600) and picture.format == "JPEG"
    assert images.placeholder_initials("Żółć łąkowa") == "ŻŁ"
    assert images.placeholder_initials("E-book „Przepisy babci”") == "EP"
    # The drawing differs from one where both letters are the .notdef box.
    boxes = images.placeholder_image("\ue000 \ue000", "#1f4e79")
    assert data != boxes

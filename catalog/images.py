"""Product images: validation of uploads, re-encoding, and WebP thumbnails cached on disk.

An upload is trusted only after Pillow has verified it, its byte size and pixel count are within
limits (a small PNG can decompress into gigabytes: a "decompression bomb"), and it has been
re-encoded from pixels: that drops EXIF (GPS position, camera serial) and anything smuggled after
the image data. File names are reduced to a safe slug, so ``../../etc/passwd.png`` cannot climb
out of the media directory.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from .text import slugify_pl

log = logging.getLogger(__name__)

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


def safe_filename(name: str, *, default_stem: str = "file", extension: str | None = None) -> str:
    """A bare, ASCII, slugged file name: no directories, no dots but the extension's.

    ``"../../etc/Zdjęcie ŁÓDŹ.PNG"`` -> ``"zdjecie-lodz.png"``.
    """
    base = PureWindowsPath(PurePosixPath(str(name or "")).name).name  # strips / and \\ parts
    stem, ext = os.path.splitext(base)
    stem = slugify_pl(stem, max_length=80) or default_stem
    ext = extension if extension is not None else slugify_pl(ext.lstrip("."), max_length=10)
    return f"{stem}.{ext}" if ext else stem


@dataclass
class ProcessedImage:
    content: ContentFile
    checksum: str
    width: int
    height: int


def _upload_size(upload) -> int:
    size = getattr(upload, "size", None)
    if size is None:
        pos = upload.tell()
        upload.seek(0, os.SEEK_END)
        size = upload.tell()
        upload.seek(pos)
    return size


def process_upload(upload) -> ProcessedImage:
    """Validate an uploaded file as an image and return it re-encoded (JPEG, or PNG when it has
    transparency) with a safe name and its SHA-256. Raises ``ValidationError`` with a message a
    merchant understands."""
    limit = settings.MAX_IMAGE_UPLOAD_BYTES
    if _upload_size(upload) > limit:
        raise ValidationError(
            _("The image is too large: at most %(mb)s MB.") % {"mb": f"{limit / 1024 / 1024:.0f}"},
            code="too_large",
        )
    max_pixels = settings.CATALOG_MAX_IMAGE_PIXELS
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as probe:
                if probe.format not in ALLOWED_FORMATS:
                    raise ValidationError(
                        _("Unsupported image format; upload a JPEG, PNG, WebP or GIF file."), code="format"
                    )
                if probe.width * probe.height > max_pixels:
                    raise ValidationError(
                        _("The image has too many pixels (%(w)d × %(h)d).")
                        % {"w": probe.width, "h": probe.height},
                        code="too_many_pixels",
                    )
                probe.verify()
            upload.seek(0)
            with Image.open(upload) as image:
                image.load()
                image = ImageOps.exif_transpose(image)
                has_alpha = image.mode in ("RGBA", "LA") or (
                    image.mode == "P" and "transparency" in image.info
                )
                out = io.BytesIO()
                if has_alpha:
                    image.convert("RGBA").save(out, "PNG", optimize=True)
                    ext = "png"
                else:
                    image.convert("RGB").save(out, "JPEG", quality=88, optimize=True, progressive=True)
                    ext = "jpg"
                width, height = image.size
    except ValidationError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        log.info("Rejected image upload: %s", exc)
        raise ValidationError(_("The file is not a valid image."), code="invalid") from exc
    data = out.getvalue()
    name = safe_filename(getattr(upload, "name", "") or "image", default_stem="image", extension=ext)
    return ProcessedImage(ContentFile(data, name=name), hashlib.sha256(data).hexdigest(), width, height)


# --- Thumbnails ----------------------------------------------------------------------------------


def thumbnail_name(original: str, size: int) -> str:
    stem = os.path.splitext(str(original))[0]
    return f"thumbs/{size}/{stem}.webp"


def thumbnail_url(original: str, size: int) -> str:
    """URL of the WebP thumbnail (fit in ``size`` × ``size``) of a stored image; generated on
    first use and kept under ``MEDIA_ROOT/thumbs/``. Falls back to the original on failure."""
    if not original:
        return ""
    name = thumbnail_name(original, size)
    if not default_storage.exists(name):
        try:
            make_thumbnail(original, size)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            log.warning("Thumbnail of %s failed: %s", original, exc)
            return default_storage.url(original)
    return default_storage.url(name)


def make_thumbnail(original: str, size: int) -> str:
    name = thumbnail_name(original, size)
    with default_storage.open(original, "rb") as fh, Image.open(fh) as image:
        image.draft("RGB", (size, size))  # fast JPEG downscale while decoding
        image = ImageOps.exif_transpose(image)
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        out = io.BytesIO()
        image.save(out, "WEBP", quality=80, method=4)
    if default_storage.exists(name):  # generated meanwhile by another request
        return name
    return default_storage.save(name, ContentFile(out.getvalue()))


def make_all_thumbnails(original: str) -> list[str]:
    return [make_thumbnail(original, size) for size in settings.CATALOG_THUMBNAIL_SIZES]


def delete_thumbnails(original: str) -> None:
    for size in settings.CATALOG_THUMBNAIL_SIZES:
        name = thumbnail_name(original, size)
        if default_storage.exists(name):
            default_storage.delete(name)


# --- Placeholder pictures ---------------------------------------------------------------------------

# Pillow's built-in default font has no Polish letters (Ż, ó, ł... come out as empty boxes), so
# placeholders are drawn with DejaVu Sans Bold, shipped with its licence in static/fonts/.
PLACEHOLDER_FONT = Path(__file__).resolve().parent.parent / "static" / "fonts" / "DejaVuSans-Bold.ttf"


@lru_cache(maxsize=8)
def placeholder_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(PLACEHOLDER_FONT), size)


def placeholder_initials(text: str) -> str:
    """``"Żółta bluza"`` -> ``"ŻB"``: the first letters of the first two words."""
    words = [w for w in text.replace("„", " ").replace("”", " ").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper()


def placeholder_image(text: str, color: str = "#1f4e79", *, size: int = 600) -> bytes:
    """A square JPEG in ``color`` (``#rrggbb``) with the initials of ``text`` in the middle."""
    rgb = tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
    image = Image.new("RGB", (size, size), rgb)
    ink = (20, 20, 20) if sum(rgb) > 500 else (255, 255, 255)
    ImageDraw.Draw(image).text(
        (size // 2, size // 2),
        placeholder_initials(text),
        fill=ink,
        font=placeholder_font(size * 3 // 10),
        anchor="mm",
    )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()

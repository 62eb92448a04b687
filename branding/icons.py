"""The favicon, Apple touch icon and PWA icons of a store, drawn from its logo with Pillow.

Icons that cannot be transparent (touch and app icons) are filled with the store's primary
colour: the logo is made to be read on it, since the storefront header shows it there.

The logo was validated and re-encoded on upload (``catalog.images.process_upload``); the icons
are written under ``branding/<store>/icons/<key>/`` where the key is a hash of the logo and the
fill colour, so a new logo gets new addresses and browsers fetch it at once.
"""

from __future__ import annotations

import hashlib
import io

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

# name -> (size, kind): "plain" keeps the logo's transparency, "opaque" fills the background
# (iOS paints a transparent touch icon black), "maskable" keeps the logo in the 80 % safe zone.
ICONS = {
    "favicon_16": ("favicon-16.png", 16, "plain"),
    "favicon_32": ("favicon-32.png", 32, "plain"),
    "apple_touch": ("apple-touch-icon.png", 180, "opaque"),
    "icon_192": ("icon-192.png", 192, "opaque"),
    "icon_512": ("icon-512.png", 512, "opaque"),
    "maskable_512": ("icon-maskable-512.png", 512, "maskable"),
}
FAVICON_ICO = "favicon.ico"
ICO_SIZES = [(16, 16), (32, 32), (48, 48)]


def icons_key(logo: bytes, background: str) -> str:
    return hashlib.sha256(logo + background.encode()).hexdigest()[:12]


def icon_dir(store_id: int, key: str) -> str:
    return f"branding/{store_id}/icons/{key}"


def _hex_rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return tuple(int(color[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


def draw(logo: Image.Image, size: int, kind: str, background: str) -> Image.Image:
    """``logo`` centred in a ``size`` square (its aspect kept), on ``background`` unless plain."""
    logo = logo.convert("RGBA")
    pad = {"plain": 0.0, "opaque": 0.08, "maskable": 0.2}[kind]
    inner = max(1, round(size * (1 - 2 * pad)))
    fitted = logo.copy()
    fitted.thumbnail((inner, inner), Image.Resampling.LANCZOS)
    if fitted.width < inner and fitted.height < inner:  # a small logo is scaled up to fill the box
        scale = inner / max(fitted.width, fitted.height)
        fitted = logo.resize(
            (max(1, round(logo.width * scale)), max(1, round(logo.height * scale))), Image.Resampling.LANCZOS
        )
    fill = (0, 0, 0, 0) if kind == "plain" else (*_hex_rgb(background), 255)
    canvas = Image.new("RGBA", (size, size), fill)
    canvas.alpha_composite(fitted, ((size - fitted.width) // 2, (size - fitted.height) // 2))
    return canvas if kind == "plain" else canvas.convert("RGB")


def generate(*, store_id: int, logo: bytes, background: str) -> str:
    """Write every icon of ``logo`` and return their key (the directory they are in)."""
    key = icons_key(logo, background)
    directory = icon_dir(store_id, key)
    with Image.open(io.BytesIO(logo)) as source:
        source.load()
        for name, size, kind in ICONS.values():
            out = io.BytesIO()
            draw(source, size, kind, background).save(out, "PNG", optimize=True)
            _write(f"{directory}/{name}", out.getvalue())
        out = io.BytesIO()
        draw(source, 48, "plain", background).save(out, "ICO", sizes=ICO_SIZES)
        _write(f"{directory}/{FAVICON_ICO}", out.getvalue())
    return key


def _write(name: str, data: bytes) -> None:
    if default_storage.exists(name):
        default_storage.delete(name)
    default_storage.save(name, ContentFile(data))


def icon_urls(store_id: int, key: str) -> dict[str, str]:
    directory = icon_dir(store_id, key)
    urls = {key: default_storage.url(f"{directory}/{name}") for key, (name, _size, _kind) in ICONS.items()}
    urls["favicon_ico"] = default_storage.url(f"{directory}/{FAVICON_ICO}")
    return urls

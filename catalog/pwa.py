"""The PWA icons in static/img/, drawn with Pillow (run ``python -m catalog.pwa`` to redraw)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

BRAND = (31, 78, 121)
ACCENT = (217, 72, 15)


def draw_icon(size: int, *, maskable: bool = False) -> Image.Image:
    """A shopping basket on the brand colour; maskable icons keep it inside the safe 80 %."""
    image = Image.new("RGB", (size, size), BRAND)
    draw = ImageDraw.Draw(image)
    pad = size * (0.22 if maskable else 0.14)
    w = size - 2 * pad
    top = pad + w * 0.38
    # handle
    draw.arc(
        [pad + w * 0.22, pad + w * 0.05, pad + w * 0.78, top + w * 0.25],
        180,
        360,
        fill="white",
        width=max(2, int(size * 0.045)),
    )
    # basket
    draw.polygon(
        [(pad, top), (pad + w, top), (pad + w * 0.86, pad + w * 0.95), (pad + w * 0.14, pad + w * 0.95)],
        fill="white",
    )
    for i in range(1, 4):
        x = pad + w * (0.2 + 0.2 * i)
        draw.line(
            [(x, top + w * 0.1), (x - w * 0.03, pad + w * 0.85)], fill=ACCENT, width=max(2, int(size * 0.03))
        )
    return image


def make_icons(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name, size, maskable in (
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("icon-maskable-512.png", 512, True),
    ):
        path = directory / name
        draw_icon(size, maskable=maskable).save(path, "PNG", optimize=True)
        out.append(path)
    return out


if __name__ == "__main__":  # pragma: no cover
    for p in make_icons(Path(__file__).resolve().parent.parent / "static" / "img"):
        print(p)

"""Product pictures for the demo shop, drawn with Pillow: a shirt, a boot, a book, a jar...

``product_picture(name, color, category=...)`` picks a drawing from the product's name (and its
category when the name says nothing), paints it in the product's colour on a soft studio
background with a gentle shadow, and returns JPEG bytes. Drawing happens at twice the size and is
reduced 2:1 (each output pixel averages four), so edges are smooth. The output depends only on the arguments, so
``seed_demo`` stays idempotent (same picture, same checksum).

Shapes are described in a 0-100 coordinate space; a *part* is a list of shapes filled with a
shaded colour (lighter at the top, as if lit from above) and outlined in a darker tone. Real
merchants' products without a photo keep the initials placeholder of ``catalog.images``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFilter

from .images import placeholder_font

Shape = tuple  # ("poly", points) | ("ellipse", box) | ("rect", box, radius) | ("line", points, width)
RGB = tuple[int, int, int]


def _rgb(color: str) -> RGB:
    try:
        return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    except (ValueError, IndexError, TypeError):
        return (31, 78, 121)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _lum(c: RGB) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


WHITE: RGB = (255, 255, 255)
BLACK: RGB = (0, 0, 0)
CREAM: RGB = (246, 241, 230)
SILVER: RGB = (200, 204, 208)
WOOD: RGB = (196, 150, 100)


def _darker(c: RGB, t: float = 0.35) -> RGB:
    return _mix(c, BLACK, t)


def _lighter(c: RGB, t: float = 0.35) -> RGB:
    return _mix(c, WHITE, t)


def _ink(c: RGB) -> RGB:
    """Readable text colour on ``c``."""
    return (30, 30, 30) if _lum(c) > 165 else (250, 250, 250)


@lru_cache(maxsize=4)
def _light(side: int) -> Image.Image:
    """Mask of the light falling from above: 0 at the top, 255 at the bottom."""
    return Image.linear_gradient("L").resize((side, side))


def _shade(image: Image.Image, side: int, box: tuple[int, int, int, int]) -> Image.Image:
    """``image`` (the ``box`` of a ``side``-wide canvas) lit from above: lighter at the top, darker
    at the bottom, in one pass over the whole product rather than one per part."""
    light = Image.blend(image, Image.new("RGB", image.size, WHITE), 0.16)
    dark = Image.blend(image, Image.new("RGB", image.size, BLACK), 0.16)
    return Image.composite(dark, light, _light(side).crop(box))


@lru_cache(maxsize=16)
def _background(color: RGB, side: int) -> Image.Image:
    """A studio backdrop tinted with the product's colour; darker so a white product stands out."""
    base = (236, 232, 226) if _lum(color) > 215 else _mix((247, 244, 239), color, 0.10)
    top = _lighter(base, 0.35)
    bottom = _darker(base, 0.07)
    gradient = Image.linear_gradient("L").resize((side, side))
    return Image.composite(
        Image.new("RGB", (side, side), bottom), Image.new("RGB", (side, side), top), gradient
    )


class _Canvas:
    def __init__(self, size: int, color: RGB):
        self.size = size
        self.s = size * 2
        self.color = color
        self.layer = Image.new("RGB", (self.s, self.s), color)
        self.union = Image.new("L", (self.s, self.s), 0)
        self.draw = ImageDraw.Draw(self.layer)
        self.union_draw = ImageDraw.Draw(self.union)
        self.floor: tuple[float, float, float] | None = None  # centre x, y, half-width of a contact shadow

    # coordinates: 0-100 -> pixels at 2x
    def p(self, x: float, y: float) -> tuple[float, float]:
        return (x * self.s / 100, y * self.s / 100)

    def pts(self, points) -> list[tuple[float, float]]:
        return [self.p(x, y) for x, y in points]

    def box(self, b) -> list[float]:
        x0, y0 = self.p(b[0], b[1])
        x1, y1 = self.p(b[2], b[3])
        return [x0, y0, x1, y1]

    def _shape(self, d: ImageDraw.ImageDraw, shape: Shape, fill, outline=None, width: int = 0) -> None:
        kind = shape[0]
        if kind == "poly":
            d.polygon(self.pts(shape[1]), fill=fill, outline=outline, width=width)
        elif kind == "ellipse":
            d.ellipse(self.box(shape[1]), fill=fill, outline=outline, width=width)
        elif kind == "rect":
            radius = shape[2] * self.s / 100 if len(shape) > 2 else 0
            d.rounded_rectangle(self.box(shape[1]), radius=radius, fill=fill, outline=outline, width=width)
        elif kind == "line":
            w = max(1, round(shape[2] * self.s / 100))
            d.line(self.pts(shape[1]), fill=fill if fill is not None else outline, width=w, joint="curve")
            if fill is not None:
                for x, y in (shape[1][0], shape[1][-1]):  # round caps
                    cx, cy = self.p(x, y)
                    d.ellipse([cx - w / 2, cy - w / 2, cx + w / 2, cy + w / 2], fill=fill)
        elif kind == "pie":
            d.pieslice(self.box(shape[1]), shape[2], shape[3], fill=fill, outline=outline, width=width)
        elif kind == "chord":
            d.chord(self.box(shape[1]), shape[2], shape[3], fill=fill, outline=outline, width=width)

    def part(self, shapes: list[Shape], color: RGB | None = None, *, outline: bool = True) -> None:
        """Fill ``shapes`` with ``color`` and add them to the silhouette (shading comes in ``render``)."""
        color = color or self.color
        for shape in shapes:
            self._shape(self.draw, shape, color)
            self._shape(self.union_draw, shape, 255)
        if outline:
            edge = _darker(color, 0.3) if _lum(color) > 60 else _lighter(color, 0.18)
            for shape in shapes:
                if shape[0] != "line":
                    self._shape(self.draw, shape, None, edge, max(2, self.s // 400))

    def hole(self, shapes: list[Shape]) -> None:
        """Cut ``shapes`` out of the silhouette (a mug's handle, a hanging hole): the backdrop shows."""
        for shape in shapes:
            self._shape(self.union_draw, shape, 0)

    def detail(
        self, shapes: list[Shape], color: RGB, *, outline: RGB | None = None, width: float = 0
    ) -> None:
        """Flat details (buttons, seams, labels) drawn on the product, clipped to its silhouette."""
        w = max(1, round(width * self.s / 100)) if width else 0
        for shape in shapes:
            self._shape(self.draw, shape, color, outline, w)

    def text(self, xy, text: str, color: RGB, height: float, *, max_width: float = 80) -> None:
        """``text`` centred on ``xy`` at ``height`` units, shrunk to fit ``max_width`` units."""
        px = max(8, round(height * self.s / 100))
        font = placeholder_font(px)
        limit = max_width * self.s / 100
        while px > 8 and self.draw.textlength(text, font=font) > limit:
            px = round(px * 0.9)
            font = placeholder_font(px)
        self.draw.text(self.p(*xy), text, fill=color, font=font, anchor="mm")

    def render(self) -> bytes:
        side = self.s
        out = _background(self.color, side).copy()
        # Soft drop shadow of the silhouette (blurred at low resolution: fast), plus a contact shadow.
        small = side // 8
        offset = Image.new("L", (small, small), 0)
        offset.paste(self.union.reduce(8), (small // 60, small // 45))
        shadow = offset.filter(ImageFilter.GaussianBlur(small / 55))
        if self.floor is not None:
            cx, cy, hw = self.floor
            fd = ImageDraw.Draw(shadow)
            fx, fy = cx * small / 100, cy * small / 100
            fw = hw * small / 100
            fd.ellipse([fx - fw, fy - fw * 0.09, fx + fw, fy + fw * 0.09], fill=200)
            shadow = shadow.filter(ImageFilter.GaussianBlur(small / 70))
        shadow = shadow.point(lambda v: v * 0.45)
        shade = _darker(_mix((120, 115, 108), self.color, 0.15), 0.2)
        bbox = shadow.getbbox()
        if bbox is not None:
            big = tuple(v * 8 for v in bbox)
            mask = shadow.crop(bbox).resize((big[2] - big[0], big[3] - big[1]), Image.Resampling.BILINEAR)
            out.paste(shade, big, mask)
        bbox = self.union.getbbox()
        if bbox is not None:
            lit = _shade(self.layer.crop(bbox), side, bbox)
            out.paste(lit, bbox, self.union.crop(bbox))
        # An exact 2:1 reduction averages each 2 × 2 block (supersampling): the same smooth edges as
        # a LANCZOS resize of this drawing, ten times faster (seed_demo draws ~200 of them).
        out = out.reduce(2)
        buf = io.BytesIO()
        out.save(buf, "JPEG", quality=85, optimize=True)
        return buf.getvalue()


# --- clothes ----------------------------------------------------------------------------------------


def _top(
    c: _Canvas, *, long_sleeves: bool, collar: str, hem: str = "", zip_: bool = False, check: bool = False
) -> None:
    if long_sleeves:
        sleeves = [
            ("poly", [(29, 21), (19, 27), (11, 76), (21, 78), (30, 42)]),
            ("poly", [(71, 21), (81, 27), (89, 76), (79, 78), (70, 42)]),
        ]
    else:
        sleeves = [
            ("poly", [(29, 21), (14, 31), (20, 46), (31, 40)]),
            ("poly", [(71, 21), (86, 31), (80, 46), (69, 40)]),
        ]
    body = (
        "poly",
        [(40, 16), (29, 21), (30, 40), (29, 86), (71, 86), (70, 40), (71, 21), (60, 16), (50, 19)],
    )
    c.part([*sleeves, body])
    dark = _darker(c.color, 0.22) if _lum(c.color) > 60 else _lighter(c.color, 0.2)  # seams show on black
    if check:  # flannel check: wide darker bands both ways, clipped to the silhouette
        band = _darker(c.color, 0.18) if _lum(c.color) > 60 else _lighter(c.color, 0.2)
        for v in range(8, 92, 7):
            c.detail([("line", [(v, 5), (v, 92)], 1.6), ("line", [(5, v), (95, v)], 1.6)], band)
    if long_sleeves and hem:  # cuffs
        c.detail([("poly", [(11.5, 71), (20.8, 73), (21, 78), (11, 76)])], dark)
        c.detail([("poly", [(88.5, 71), (79.2, 73), (79, 78), (89, 76)])], dark)
    if collar == "shirt":
        c.detail([("poly", [(40, 16), (50, 19), (60, 16), (50, 21)])], _darker(c.color, 0.3))
        c.part(
            [
                ("poly", [(40, 15), (50, 22), (45, 28), (38, 19)]),
                ("poly", [(60, 15), (50, 22), (55, 28), (62, 19)]),
            ]
        )
        c.detail([("line", [(50, 22), (50, 86)], 0.5)], dark)
        for y in range(28, 84, 9):
            c.detail([("ellipse", (49, y, 51, y + 2))], _lighter(c.color, 0.5), outline=dark, width=0.2)
        c.detail([("rect", (56, 31, 65, 40), 0.6)], None, outline=dark, width=0.35)  # pocket
    elif collar == "round":
        c.detail([("chord", (40, 10, 60, 24), 0, 180)], _darker(c.color, 0.35))
        c.detail([("chord", (40, 10, 60, 24), 0, 180)], None, outline=_lighter(c.color, 0.25), width=0.7)
    elif collar == "turtle":
        c.part([("rect", (40, 8, 60, 19), 1.5)], _darker(c.color, 0.08))
        for x in range(42, 60, 2):
            c.detail([("line", [(x, 9.5), (x, 18)], 0.25)], _darker(c.color, 0.25))
    elif collar == "jacket":
        c.part(
            [("poly", [(38, 13), (50, 18), (62, 13), (63, 20), (50, 24), (37, 20)])], _darker(c.color, 0.1)
        )
    if hem == "rib":
        c.detail([("rect", (29, 80, 71, 86))], _darker(c.color, 0.12))
        for x in range(30, 71, 2):
            c.detail([("line", [(x, 80.5), (x, 85.5)], 0.25)], _darker(c.color, 0.28))
    if zip_:
        c.detail([("line", [(50, 24), (50, 86)], 0.8)], SILVER)
        c.detail([("rect", (49, 25, 51, 31), 0.5)], (150, 150, 155))
        c.detail([("line", [(33, 62), (39, 72)], 0.6), ("line", [(67, 62), (61, 72)], 0.6)], dark)
    if hem == "quilt":
        for y in range(32, 84, 8):
            c.detail([("line", [(30, y), (70, y)], 0.35)], dark)


def _dress(c: _Canvas, *, pattern: bool) -> None:
    c.part(
        [
            (
                "poly",
                [
                    (42, 10),
                    (38, 12),
                    (36, 24),
                    (39, 40),
                    (24, 88),
                    (76, 88),
                    (61, 40),
                    (64, 24),
                    (62, 12),
                    (58, 10),
                    (50, 18),
                ],
            ),
            ("line", [(41, 11), (41, 4)], 1.2),
            ("line", [(59, 11), (59, 4)], 1.2),
        ]
    )
    c.detail([("line", [(41, 11), (41, 4)], 1.0), ("line", [(59, 11), (59, 4)], 1.0)], c.color)
    c.detail([("rect", (38.5, 38, 61.5, 42), 0.5)], _darker(c.color, 0.3))
    for x in range(36, 66, 6):
        c.detail(
            [("line", [(x, 50), (x - (50 - x) * 0.5 + (x - 50) * 0.1, 86)], 0.3)], _darker(c.color, 0.14)
        )
    if pattern:
        petals = _lighter(c.color, 0.65) if _lum(c.color) < 150 else _darker(c.color, 0.45)
        for i in range(18):
            x = 30 + (i * 37) % 40
            y = 46 + (i * 23) % 38
            if abs(x - 50) < (y - 38) * 0.5 + 10:
                c.detail([("ellipse", (x - 1.4, y - 1.4, x + 1.4, y + 1.4))], petals)


# --- shoes ------------------------------------------------------------------------------------------


def _shoe(c: _Canvas, *, high: bool, laces: bool, toe_cap: bool, sole: RGB) -> None:
    c.floor = (52, 80, 40)
    top = 28 if high else 50
    # Heel, collar, instep, then a rounded toe (an arc of points: one outline, no seam).
    toe = [
        (78 + 12 * math.cos(math.radians(a)), 72 + 10 * math.sin(math.radians(a)))
        for a in range(-110, 31, 10)
    ]
    upper = [
        (14, 76),
        (15, top),
        (30, top - 2),
        (36, top - 2) if high else (34, 50),
        (44, 55),
        (66, 60),
        *toe,
    ]
    c.part([("poly", [*upper, (88, 76)])])
    c.part([("rect", (12, 73, 91, 80), 2.5)], sole)
    if high:
        c.part([("rect", (14, 76, 27, 82), 1)], _darker(c.color, 0.3))  # heel block
    c.detail(
        [("line", [(14, 74), (90, 74)], 0.4)],
        _lighter(sole, 0.3) if _lum(sole) < 100 else _darker(sole, 0.15),
    )
    if toe_cap:
        c.part([("chord", (72, 60, 92, 80), 260, 90)], sole)
        c.detail([("line", [(20, 66), (66, 66)], 0.9)], _mix(c.color, WHITE, 0.7))
    lace = WHITE if _lum(c.color) < 150 else (40, 40, 40)
    if laces:  # along the front edge of the upper (clipped to the silhouette)
        (x0, y0), (x1, y1) = ((34, 31), (41, 55)) if high else ((39, 53.5), (60, 59))
        for i in range(5):
            x, y = x0 + (x1 - x0) * i / 4, y0 + (y1 - y0) * i / 4
            c.detail([("line", [(x - 2.5, y - 1.2), (x + 2.5, y + 1.2)], 0.8)], lace)
    else:  # moccasin stitch
        c.detail([("chord", (52, 52, 80, 68), 180, 360)], None, outline=_darker(c.color, 0.35), width=0.5)
        c.detail([("line", [(58, 57), (66, 56)], 0.8)], _darker(c.color, 0.4))


# --- books and print -------------------------------------------------------------------------------


def _book(c: _Canvas, *, title: str, subtitle: str) -> None:
    c.floor = (53, 87, 30)
    c.part([("poly", [(31, 12), (73, 12), (77, 15), (77, 88), (35, 88), (31, 85)])], CREAM)
    for i in range(1, 6):
        c.detail([("line", [(74 + i * 0.5, 14 + i * 0.3), (74 + i * 0.5, 87)], 0.15)], (210, 203, 188))
    c.part([("rect", (25, 10, 73, 86), 0.8)])
    c.detail([("rect", (25, 10, 30, 86))], _darker(c.color, 0.3))
    accent = _lighter(c.color, 0.55) if _lum(c.color) < 150 else _darker(c.color, 0.5)
    ink = _ink(c.color)
    c.detail([("line", [(36, 22), (66, 22)], 0.5), ("line", [(36, 74), (66, 74)], 0.5)], accent)
    words = title.split()
    lines: list[str] = []
    for w in words:
        if lines and len(lines[-1]) + len(w) < 11:
            lines[-1] += " " + w
        else:
            lines.append(w)
    lines = lines[:3]
    y0 = 44 - (len(lines) - 1) * 5
    for i, line in enumerate(lines):
        c.text((51, y0 + i * 10), line, ink, 8, max_width=40)
    if subtitle:
        c.text((51, 68), subtitle, accent, 4, max_width=40)
    c.text((51, 80), "KOSZYK", accent, 3.2, max_width=30)


def _tablet(c: _Canvas, *, title: str) -> None:
    c.floor = (50, 88, 30)
    c.part([("rect", (24, 8, 76, 88), 4)], (38, 40, 44))
    c.detail([("rect", (28, 13, 72, 81), 0.5)], c.color)
    c.detail([("ellipse", (48.5, 83, 51.5, 86))], (70, 72, 78))
    ink = _ink(c.color)
    c.text((50, 24), "E-BOOK", _lighter(c.color, 0.5) if _lum(c.color) < 150 else _darker(c.color, 0.5), 4)
    words = title.split()
    lines = [" ".join(words[i : i + 2]) for i in range(0, len(words), 2)][:3]
    for i, line in enumerate(lines):
        c.text((50, 42 + i * 10), line, ink, 7, max_width=38)


def _gift_card(c: _Canvas, *, store_name: str) -> None:
    c.floor = (50, 75, 38)
    c.part([("rect", (12, 26, 88, 74), 4)])
    ribbon = _lighter(c.color, 0.8)
    c.detail([("rect", (62, 26, 67, 74)), ("rect", (12, 44, 88, 49))], ribbon)
    c.detail(
        [("ellipse", (56, 39, 64.5, 47)), ("ellipse", (64.5, 39, 73, 47))], None, outline=ribbon, width=1.6
    )
    ink = _ink(c.color)
    c.text((36, 36), store_name.upper(), ink, 7, max_width=42)
    c.text((36, 60), "Karta", ink, 5, max_width=42)
    c.text((36, 67), "podarunkowa", ink, 5, max_width=42)


# --- cosmetics --------------------------------------------------------------------------------------


def _label(c: _Canvas, box, word: str) -> None:
    c.detail([("rect", box, 1)], (250, 248, 243))
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    c.text(
        (cx, cy),
        word,
        _darker(c.color, 0.2) if _lum(c.color) < 200 else (60, 60, 60),
        4,
        max_width=box[2] - box[0] - 4,
    )


def _bottle(c: _Canvas, word: str) -> None:
    c.floor = (50, 88, 18)
    c.part([("rect", (34, 26, 66, 88), 6)])
    c.part([("rect", (41, 12, 59, 27), 2)], _darker(c.color, 0.4) if _lum(c.color) > 60 else (200, 200, 200))
    _label(c, (37, 46, 63, 72), word)


def _dropper(c: _Canvas, word: str) -> None:
    c.floor = (50, 88, 15)
    c.part([("rect", (37, 42, 63, 88), 4)], c.color)
    c.part([("rect", (43, 32, 57, 43), 1)], (200, 170, 90))
    c.part([("ellipse", (43, 13, 57, 34))], (40, 40, 40))
    c.detail([("rect", (40, 46, 44, 84), 1)], _lighter(c.color, 0.35))  # glass highlight
    _label(c, (46, 56, 62, 76), word)


def _jar(c: _Canvas, word: str) -> None:
    c.floor = (50, 84, 30)
    c.part([("rect", (22, 46, 78, 84), 5)], _lighter(c.color, 0.1))
    c.part([("rect", (20, 32, 80, 48), 3)], _darker(c.color, 0.2) if _lum(c.color) > 60 else (215, 215, 215))
    for x in range(22, 80, 3):
        c.detail(
            [("line", [(x, 34), (x, 46)], 0.25)],
            _darker(c.color, 0.35) if _lum(c.color) > 60 else (180, 180, 180),
        )
    _label(c, (30, 56, 70, 76), word)


def _soap(c: _Canvas, word: str) -> None:
    c.floor = (50, 74, 34)
    c.part([("rect", (16, 44, 84, 74), 10)])
    c.part([("rect", (18, 38, 82, 64), 10)], _lighter(c.color, 0.12))
    c.text((50, 51), word.upper(), _darker(c.color, 0.3), 5, max_width=50)


# --- home and kitchen -------------------------------------------------------------------------------


def _plate(c: _Canvas, dotted: bool) -> None:
    c.floor = (50, 74, 44)
    c.part([("ellipse", (8, 32, 92, 74))], (248, 247, 243))
    c.detail([("ellipse", (10, 33, 90, 72))], None, outline=c.color, width=2.4)
    c.detail([("ellipse", (24, 40, 76, 64))], (238, 236, 230), outline=(220, 216, 208), width=0.4)
    if dotted:
        for i in range(24):
            a = 2 * math.pi * i / 24
            x, y = 50 + 36 * math.cos(a), 52.5 + 16.5 * math.sin(a)
            c.detail([("ellipse", (x - 1.2, y - 0.9, x + 1.2, y + 0.9))], _lighter(c.color, 0.6))


def _bowl(c: _Canvas) -> None:
    c.floor = (50, 80, 30)
    c.part([("chord", (14, 22, 86, 84), 0, 180)])
    c.part([("rect", (38, 76, 62, 82), 1)], _darker(c.color, 0.2))
    c.detail([("ellipse", (14, 46, 86, 60))], (246, 244, 238), outline=_darker(c.color, 0.2), width=0.6)


def _mug(c: _Canvas, x0: float = 26, scale: float = 1.0, color: RGB | None = None) -> None:
    color = color or c.color
    w = 40 * scale
    top, bottom = 88 - 52 * scale, 86
    c.floor = (x0 + w / 2 + 4, 86, 26 * scale) if c.floor is None else c.floor
    c.part(
        [("ellipse", (x0 + w - 8 * scale, top + 10 * scale, x0 + w + 16 * scale, top + 36 * scale))], color
    )
    c.hole([("ellipse", (x0 + w - 2 * scale, top + 16 * scale, x0 + w + 10 * scale, top + 30 * scale))])
    c.part([("rect", (x0, top + 3 * scale, x0 + w, bottom), 3)], color)
    c.part([("ellipse", (x0, top, x0 + w, top + 7 * scale))], _darker(color, 0.45))
    c.detail(
        [("rect", (x0 + 4 * scale, top + 10 * scale, x0 + 8 * scale, bottom - 6 * scale), 1)],
        _lighter(color, 0.3),
    )


def _kettle(c: _Canvas, *, tall: bool) -> None:
    c.floor = (50, 86, 30)
    top = 22 if tall else 36
    c.part([("line", [(34, top + 8), (40, top - 8), (60, top - 8), (66, top + 8)], 3)], (40, 40, 40))
    c.part(
        [
            ("poly", [(26, 86), (30, top + 6), (70, top + 6), (74, 86)]),
            ("poly", [(70, top + 24), (88, top + 8), (90, top + 11), (73, top + 38)]),
        ]
    )
    c.part([("ellipse", (30, top + 2, 70, top + 10))], _darker(c.color, 0.15))
    c.part([("ellipse", (46, top - 1, 54, top + 5))], (40, 40, 40))
    c.detail([("rect", (33, top + 14, 37, 80), 1)], _lighter(c.color, 0.35))


def _pot(c: _Canvas) -> None:
    c.floor = (50, 84, 36)
    c.part([("rect", (10, 46, 22, 52), 2), ("rect", (78, 46, 90, 52), 2)], (50, 50, 50))
    c.part([("rect", (18, 42, 82, 84), 3)])
    c.part([("ellipse", (16, 34, 84, 46))], SILVER)
    c.part([("rect", (44, 28, 56, 36), 2)], (50, 50, 50))
    c.detail([("rect", (22, 50, 27, 78), 1)], _lighter(c.color, 0.3))


def _pan(c: _Canvas) -> None:
    c.floor = (44, 74, 36)
    c.part([("line", [(74, 54), (96, 40)], 5)], (45, 35, 30))
    c.part([("ellipse", (6, 36, 78, 74))])
    c.detail([("ellipse", (11, 39, 73, 67))], (45, 45, 48))
    c.detail([("ellipse", (20, 43, 44, 53))], (70, 70, 75))


def _board(c: _Canvas) -> None:
    c.floor = (50, 80, 40)
    wood = _mix(WOOD, c.color, 0.15)
    c.part([("rect", (14, 30, 78, 78), 5), ("rect", (74, 44, 92, 64), 6)], wood)
    c.hole([("ellipse", (82, 50, 88, 58))])
    for i, y in enumerate(range(36, 76, 6)):
        c.detail([("line", [(18, y), (40 + i * 3, y + 1), (72, y)], 0.3)], _darker(wood, 0.15))


def _knives(c: _Canvas) -> None:
    c.floor = (50, 88, 28)
    for i, x in enumerate((36, 44, 52, 60)):
        c.part([("rect", (x, 12 + i * 3, x + 6, 38), 2)], (35, 35, 35))
    c.part([("poly", [(26, 88), (30, 34), (72, 34), (76, 88)])], _mix(WOOD, c.color, 0.25))
    c.detail([("line", [(30, 40), (72, 40)], 0.5)], _darker(_mix(WOOD, c.color, 0.25), 0.25))


def _grinder(c: _Canvas) -> None:
    c.floor = (50, 88, 26)
    c.part([("rect", (28, 52, 72, 88), 2)], _mix(WOOD, c.color, 0.3))
    c.detail([("rect", (44, 70, 56, 76), 1)], (60, 60, 60))
    c.part([("poly", [(34, 52), (40, 34), (60, 34), (66, 52)])], SILVER)
    c.part([("line", [(50, 30), (50, 22), (72, 18)], 1.5)], (60, 60, 60))
    c.part([("ellipse", (68, 12, 78, 22))], _darker(WOOD, 0.2))


def _pouch(c: _Canvas, word: str, x0: float = 28, scale: float = 1.0) -> None:
    def sx(x):
        return x0 + (x - 28) * scale

    def sy(y):
        return 88 - (88 - y) * scale

    c.floor = c.floor or (50, 88, 28)
    c.part([("poly", [(sx(30), sy(14)), (sx(70), sy(14)), (sx(74), sy(88)), (sx(26), sy(88))])])
    c.detail([("rect", (sx(30), sy(14), sx(70), sy(20)))], _darker(c.color, 0.25))
    _label(c, (sx(33), sy(38), sx(67), sy(70)), word)
    c.detail([("ellipse", (sx(46), sy(58), sx(54), sy(68)))], (110, 70, 40))
    c.detail([("line", [(sx(50), sy(59)), (sx(49), sy(67))], 0.35 * scale)], (250, 248, 243))


def _tea(c: _Canvas) -> None:
    c.floor = (46, 84, 38)
    c.part([("poly", [(18, 30), (58, 30), (70, 22), (70, 76), (58, 84), (18, 84)])])
    c.part([("poly", [(18, 30), (58, 30), (70, 22), (30, 22)])], _lighter(c.color, 0.25))
    c.part([("poly", [(58, 30), (70, 22), (70, 76), (58, 84)])], _darker(c.color, 0.25))
    _label(c, (22, 44, 54, 62), "HERBATA")
    c.part([("ellipse", (66, 62, 90, 86))], (250, 248, 243))
    c.detail([("ellipse", (69, 64, 87, 74))], (150, 90, 40))
    c.part([("line", [(40, 30), (52, 44)], 0.3)], (245, 240, 230))


def _candle(c: _Canvas) -> None:
    c.floor = (50, 86, 26)
    c.part([("rect", (30, 40, 70, 86), 3)], _mix(c.color, WHITE, 0.5))
    c.detail([("rect", (30, 50, 70, 86), 3)], _mix(c.color, WHITE, 0.2))
    c.detail([("ellipse", (30, 46, 70, 54))], _mix(c.color, WHITE, 0.7))
    c.part([("line", [(50, 49), (50, 41)], 0.8)], (30, 30, 30))
    c.part([("ellipse", (46, 26, 54, 42))], (255, 190, 60), outline=False)
    c.detail([("ellipse", (48, 32, 52, 41))], (255, 240, 180))
    _label(c, (36, 62, 64, 76), "SOJA")


def _cushion(c: _Canvas) -> None:
    c.floor = (50, 84, 38)
    c.part([("poly", [(12, 18), (50, 22), (88, 18), (84, 50), (88, 84), (50, 80), (12, 84), (16, 50)])])
    c.detail(
        [
            (
                "line",
                [(14, 20), (50, 24), (86, 20), (82, 50), (86, 82), (50, 78), (14, 82), (18, 50), (14, 20)],
                0.3,
            )
        ],
        _darker(c.color, 0.3),
    )
    c.detail([("ellipse", (47, 47, 53, 53))], _darker(c.color, 0.35))
    for a, b in (((50, 50), (24, 30)), ((50, 50), (76, 70)), ((50, 50), (76, 30)), ((50, 50), (24, 70))):
        c.detail([("line", [a, b], 0.3)], _darker(c.color, 0.12))


def _frame(c: _Canvas) -> None:
    c.floor = (50, 84, 30)
    c.part([("rect", (20, 16, 80, 84), 1)], _mix(WOOD, c.color, 0.35))
    c.detail([("rect", (27, 23, 73, 77))], (246, 244, 238))
    c.detail([("rect", (31, 27, 69, 73))], (170, 205, 230))
    c.detail([("poly", [(31, 73), (44, 48), (54, 62), (60, 54), (69, 66), (69, 73)])], (90, 140, 90))
    c.detail([("ellipse", (58, 32, 65, 39))], (250, 220, 120))


def _vase(c: _Canvas) -> None:
    c.floor = (50, 88, 22)
    for x, y, col in ((38, 12, (230, 120, 140)), (50, 6, (250, 210, 90)), (62, 14, (200, 120, 220))):
        c.part([("line", [(50, 40), (x, y + 6)], 0.8)], (80, 130, 70))
        c.part([("ellipse", (x - 5, y, x + 5, y + 10))], col)
    pts = []
    for i in range(21):
        t = i / 20
        y = 36 + 52 * t
        w = 7 + 15 * math.sin(math.pi * min(1.0, t * 1.15)) ** 0.9 + 4 * t
        pts.append((50 + w, y))
    left = [(100 - x, y) for x, y in reversed(pts)]
    c.part([("poly", pts + left)])
    c.detail([("line", [(40, 50), (38, 78)], 1)], _lighter(c.color, 0.3))


def _blanket(c: _Canvas) -> None:
    c.floor = (50, 84, 38)
    for i, y in enumerate((62, 46, 30)):
        col = _darker(c.color, 0.08 * (2 - i))
        c.part([("rect", (14, y, 86, y + 20), 6)], col)
        for x in range(22, 86, 10):
            c.detail([("line", [(x, y + 1), (x, y + 19)], 0.5)], _lighter(col, 0.25))
        c.detail([("line", [(15, y + 10), (85, y + 10)], 0.5)], _lighter(col, 0.25))


def _lantern(c: _Canvas) -> None:
    c.floor = (50, 88, 24)
    c.part([("ellipse", (44, 6, 56, 16))], None)
    c.hole([("ellipse", (47, 9, 53, 14))])
    c.part([("poly", [(50, 14), (30, 30), (70, 30)])])
    c.part([("rect", (32, 30, 68, 84), 1)], (255, 236, 190))
    c.detail([("ellipse", (40, 50, 60, 80))], (255, 214, 120))
    c.detail([("rect", (46, 62, 54, 80), 1)], (250, 248, 240))
    c.detail([("ellipse", (48, 55, 52, 62))], (255, 170, 40))
    for x in (32, 44, 56, 66):
        c.part([("rect", (x, 30, x + 2, 84))])
    c.part([("rect", (28, 82, 72, 88), 1), ("rect", (30, 28, 70, 32))])


# --- electronics ------------------------------------------------------------------------------------


def _cable(c: _Canvas) -> None:
    c.floor = (50, 78, 36)
    for i in range(4):
        c.part([("ellipse", (22 + i * 2, 30 + i * 3, 78 - i * 2, 72 - i * 2))], outline=False)
        c.hole([("ellipse", (25 + i * 2, 33 + i * 3, 75 - i * 2, 69 - i * 2))])
    c.part([("line", [(30, 60), (14, 80)], 2.6), ("line", [(70, 40), (88, 26)], 2.6)], outline=False)
    c.part([("rect", (6, 78, 18, 86), 1.5), ("rect", (84, 18, 94, 28), 1.5)], (60, 60, 65))
    c.detail([("rect", (8, 80, 16, 84), 1)], SILVER)


def _charger(c: _Canvas) -> None:
    c.floor = (44, 80, 32)
    c.part([("line", [(50, 66), (60, 84), (82, 82), (90, 64)], 2.2)], outline=False)
    c.part([("rect", (86, 56, 94, 66), 1)], (60, 60, 65))
    c.part([("rect", (30, 24, 70, 72), 6)])
    c.part([("rect", (38, 12, 42, 26), 0.6), ("rect", (58, 12, 62, 26), 0.6)], SILVER)
    c.detail([("rect", (44, 56, 56, 60), 1)], (30, 30, 30))
    c.text((50, 42), "65W", _darker(c.color, 0.3) if _lum(c.color) > 90 else _lighter(c.color, 0.4), 6)


def _phone_case(c: _Canvas) -> None:
    c.floor = (50, 90, 24)
    c.part([("rect", (30, 8, 70, 90), 8)])
    c.detail([("rect", (36, 14, 52, 32), 4)], _darker(c.color, 0.45))
    for x, y in ((40, 18), (47, 18), (40, 26)):
        c.detail([("ellipse", (x - 3, y - 3, x + 3, y + 3))], (30, 30, 35), outline=SILVER, width=0.4)


def _earbuds(c: _Canvas) -> None:
    c.floor = (50, 82, 34)
    c.part([("rect", (22, 40, 78, 82), 18)])
    c.detail([("line", [(23, 54), (77, 54)], 0.4)], _darker(c.color, 0.25))
    c.detail([("ellipse", (48, 64, 52, 68))], (90, 220, 120))
    for x in (34, 66):
        c.part(
            [("ellipse", (x - 7, 14, x + 7, 28)), ("rect", (x - 2.5, 24, x + 2.5, 40), 2)],
            _lighter(c.color, 0.1),
        )


def _powerbank(c: _Canvas) -> None:
    c.floor = (50, 84, 32)
    c.part([("rect", (24, 16, 76, 84), 7)])
    for i in range(4):
        c.detail([("ellipse", (41 + i * 5, 70, 44 + i * 5, 73))], (90, 220, 120) if i < 3 else (80, 80, 80))
    c.detail([("rect", (44, 17, 56, 20), 1)], (30, 30, 30))
    c.text((50, 44), "10000", _ink(c.color), 7)
    c.text((50, 54), "mAh", _ink(c.color), 5)


def _holder(c: _Canvas) -> None:
    c.floor = (50, 86, 20)
    c.part([("rect", (44, 50, 56, 86), 2)], (50, 50, 55))
    c.part([("ellipse", (28, 16, 72, 60))])
    c.detail(
        [("ellipse", (36, 24, 64, 52))], _lighter(c.color, 0.15), outline=_darker(c.color, 0.3), width=0.5
    )


def _speaker(c: _Canvas) -> None:
    c.floor = (50, 86, 26)
    c.part([("rect", (30, 14, 70, 86), 10)])
    c.part([("ellipse", (30, 10, 70, 20))], _darker(c.color, 0.25))
    dot = _darker(c.color, 0.35) if _lum(c.color) > 60 else _lighter(c.color, 0.2)
    for row in range(10):
        for col in range(6):
            x, y = 36 + col * 5.6 + (row % 2) * 2.8, 28 + row * 5.4
            if x < 66:
                c.detail([("ellipse", (x - 0.8, y - 0.8, x + 0.8, y + 0.8))], dot)


def _mouse(c: _Canvas) -> None:
    c.floor = (50, 88, 20)
    c.part([("ellipse", (30, 10, 70, 88))])
    c.detail(
        [("line", [(50, 12), (50, 38)], 0.4), ("line", [(32, 38), (68, 38)], 0.4)], _darker(c.color, 0.3)
    )
    c.detail([("rect", (48.5, 18, 51.5, 28), 1.5)], (60, 60, 65))


def _box(c: _Canvas, word: str) -> None:
    c.floor = (50, 84, 36)
    c.part([("poly", [(20, 34), (64, 34), (80, 24), (80, 72), (64, 84), (20, 84)])])
    c.part([("poly", [(20, 34), (64, 34), (80, 24), (36, 24)])], _lighter(c.color, 0.2))
    c.part([("poly", [(64, 34), (80, 24), (80, 72), (64, 84)])], _darker(c.color, 0.25))
    _label(c, (24, 48, 60, 66), word)


def _set(c: _Canvas) -> None:
    c.floor = (52, 88, 42)
    _pouch(c, "KAWA", x0=8, scale=0.9)
    _mug(c, x0=52, scale=0.62, color=(240, 238, 232))
    _mug(c, x0=64, scale=0.5, color=_lighter(c.color, 0.4))


# --- choosing a picture -----------------------------------------------------------------------------

Drawer = Callable[[_Canvas], None]


def _quoted(name: str) -> str:
    if "„" in name:
        return name.split("„", 1)[1].split("”", 1)[0]
    return name


# First matching prefix of the lower-cased name wins.
_BY_NAME: list[tuple[str, Callable[[_Canvas, str], None]]] = [
    ("koszula", lambda c, n: _top(c, long_sleeves=True, collar="shirt", hem="cuff", check="krat" in n)),
    ("bluzka", lambda c, n: _top(c, long_sleeves=False, collar="round")),
    (
        "sweter",
        lambda c, n: _top(c, long_sleeves=True, collar="turtle" if "golf" in n else "round", hem="rib"),
    ),
    (
        "kurtka",
        lambda c, n: _top(
            c, long_sleeves=True, collar="jacket", zip_=True, hem="quilt" if "pikowan" in n else ""
        ),
    ),
    ("sukienka", lambda c, n: _dress(c, pattern="kwiat" in n)),
    ("trzewiki", lambda c, n: _shoe(c, high=True, laces=True, toe_cap=False, sole=(45, 35, 30))),
    ("kozaki", lambda c, n: _shoe(c, high=True, laces=False, toe_cap=False, sole=(45, 35, 30))),
    ("sneakersy", lambda c, n: _shoe(c, high=False, laces=True, toe_cap=False, sole=(245, 245, 242))),
    ("trampki", lambda c, n: _shoe(c, high=False, laces=True, toe_cap=True, sole=(245, 245, 242))),
    ("mokasyny", lambda c, n: _shoe(c, high=False, laces=False, toe_cap=False, sole=(60, 45, 35))),
    ("e-book", lambda c, n: _tablet(c, title=_quoted(n))),
    (
        "karta podarunkowa",
        lambda c, n: _gift_card(c, store_name=n.split("podarunkowa", 1)[1].strip() or "Koszyk"),
    ),
    ("zestaw do kawy", lambda c, n: _set(c)),
    ("zestaw noży", lambda c, n: _knives(c)),
    ("krem", lambda c, n: _jar(c, "KREM")),
    ("maseczka", lambda c, n: _jar(c, "MASKA")),
    ("serum", lambda c, n: _dropper(c, "SERUM")),
    ("olejek", lambda c, n: _dropper(c, "OLEJEK")),
    ("balsam", lambda c, n: _bottle(c, "BALSAM")),
    ("szampon", lambda c, n: _bottle(c, "SZAMPON")),
    ("odżywka", lambda c, n: _bottle(c, "ODŻYWKA")),
    ("mydło", lambda c, n: _soap(c, "MYDŁO")),
    ("talerz", lambda c, n: _plate(c, dotted="bolesławca" in n)),
    ("miska", lambda c, n: _bowl(c)),
    ("kubek", lambda c, n: _mug(c)),
    ("czajnik", lambda c, n: _kettle(c, tall=False)),
    ("dzbanek", lambda c, n: _kettle(c, tall=True)),
    ("garnek", lambda c, n: _pot(c)),
    ("patelnia", lambda c, n: _pan(c)),
    ("deska", lambda c, n: _board(c)),
    ("młynek", lambda c, n: _grinder(c)),
    ("kawa", lambda c, n: _pouch(c, "KAWA")),
    ("herbata", lambda c, n: _tea(c)),
    ("świeca", lambda c, n: _candle(c)),
    ("poduszka", lambda c, n: _cushion(c)),
    ("ramka", lambda c, n: _frame(c)),
    ("wazon", lambda c, n: _vase(c)),
    ("koc", lambda c, n: _blanket(c)),
    ("lampion", lambda c, n: _lantern(c)),
    ("ładowarka", lambda c, n: _charger(c)),
    ("kabel", lambda c, n: _cable(c)),
    ("etui", lambda c, n: _phone_case(c)),
    ("słuchawki", lambda c, n: _earbuds(c)),
    ("powerbank", lambda c, n: _powerbank(c)),
    ("uchwyt", lambda c, n: _holder(c)),
    ("głośnik", lambda c, n: _speaker(c)),
    ("mysz", lambda c, n: _mouse(c)),
]

_BOOKISH = ("książki", "e-booki")


def picture_kind(name: str, category: str = "") -> str:
    """The drawing used for a product: the matched name prefix, ``"book"`` or ``"box"``."""
    lower = name.lower()
    for prefix, _draw in _BY_NAME:
        if lower.startswith(prefix):
            return prefix
    if category.lower() in _BOOKISH:
        return "book"
    return "box"


def product_picture(name: str, color: str, *, category: str = "", size: int = 600) -> bytes:
    """A JPEG picture (``size`` × ``size``) of the demo product ``name`` in ``color`` (``#rrggbb``)."""
    canvas = _Canvas(size, _rgb(color))
    kind = picture_kind(name, category)
    if kind == "book":
        title = _quoted(name)
        genre = name.split("„", 1)[0].strip(" :") if "„" in name else ""
        extra = name.rsplit("”", 1)[1].strip(" ,") if "”" in name else ""
        if genre.lower().startswith("premiera"):
            genre = extra or "Premiera"
        _book(canvas, title=title, subtitle=genre)
    elif kind == "box":
        _box(canvas, name.split()[0].upper()[:10])
    else:
        dict(_BY_NAME)[kind](canvas, name)
    return canvas.render()

"""Feed writers: Google RSS 2.0 (``g:`` namespace), Google TSV and Ceneo XML.

Each writer streams: XML goes through lxml's incremental ``etree.xmlfile`` (one item at a time,
flushed by lxml's own buffer), TSV row by row. ``problems(offer)`` says why a partner would
refuse an item; the generator skips such items and counts them instead of writing them.
"""

from __future__ import annotations

from contextlib import ExitStack
from decimal import Decimal
from typing import IO

from django.utils.translation import gettext as _
from lxml import etree

from .offers import (
    DESCRIPTION_LIMIT,
    ID_LIMIT,
    P_ID_EMPTY,
    P_ID_TOO_LONG,
    P_PRICE,
    P_TITLE_EMPTY,
    TITLE_LIMIT,
    W_IMAGE_MISSING,
    Offer,
    ceneo_avail,
    google_date,
)
from .text import one_line, strip_invalid, tsv_cell

G_NS = "http://base.google.com/ns/1.0"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
CENEO_CATEGORY_SEPARATOR = "/"
GOOGLE_CATEGORY_SEPARATOR = " > "


def google_price(value: Decimal, currency: str) -> str:
    return f"{value:.2f} {currency}"


def _weight_kg(grams: int) -> str:
    kg = (Decimal(grams) / Decimal(1000)).normalize()
    return f"{kg:f}"


class Writer:
    """Base: ``start()``, ``write(offer)`` per item, ``finish()``."""

    def __init__(self, stream: IO[bytes], *, title: str, link: str, description: str):
        self.stream = stream
        self.title = title
        self.link = link
        self.description = description

    def problems(self, offer: Offer) -> list[tuple[str, str]]:
        found = []
        if not offer.id:
            found.append((P_ID_EMPTY, _("The id (SKU) is empty.")))
        if not offer.title:
            found.append((P_TITLE_EMPTY, _("The title is empty.")))
        if offer.selling_price <= 0:
            found.append((P_PRICE, _("The price is not above zero.")))
        return found

    def start(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def write(self, offer: Offer) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def finish(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class GoogleMixin:
    def problems(self, offer: Offer) -> list[tuple[str, str]]:
        found = super().problems(offer)
        if len(offer.id) > ID_LIMIT:
            found.append(
                (P_ID_TOO_LONG, _("The id (SKU) is longer than %(n)s characters.") % {"n": ID_LIMIT})
            )
        if not offer.image_link:
            found.append((W_IMAGE_MISSING, _("Google needs an image.")))
        return found

    @staticmethod
    def fields(offer: Offer) -> list[tuple[str, str]]:
        """(attribute, value) pairs in Google's names, empty values left out."""
        rows = [
            ("id", offer.id),
            ("title", offer.title[:TITLE_LIMIT]),
            ("description", offer.description[:DESCRIPTION_LIMIT]),
            ("link", offer.link),
            ("image_link", offer.image_link),
        ]
        rows += [("additional_image_link", url) for url in offer.additional_image_links]
        rows.append(("availability", offer.availability))
        if offer.availability_date is not None:
            rows.append(("availability_date", google_date(offer.availability_date)))
        rows.append(("price", google_price(offer.price, offer.currency)))
        if offer.sale_price is not None:
            rows.append(("sale_price", google_price(offer.sale_price, offer.currency)))
        rows += [
            ("brand", offer.brand),
            ("gtin", offer.gtin),
            ("mpn", offer.mpn),
            ("condition", offer.condition),
        ]
        if not offer.gtin and not offer.brand:
            rows.append(("identifier_exists", "no"))
        rows += [
            ("item_group_id", offer.item_group_id),
            ("color", offer.color),
            ("size", offer.size),
            ("material", offer.material),
            ("pattern", offer.pattern),
            ("product_type", GOOGLE_CATEGORY_SEPARATOR.join(offer.category_path)[:750]),
            ("google_product_category", offer.google_product_category),
            ("custom_label_0", offer.custom_label),
        ]
        if offer.unit_pricing_measure:
            rows += [
                ("unit_pricing_measure", offer.unit_pricing_measure),
                ("unit_pricing_base_measure", offer.unit_pricing_base_measure),
            ]
        if offer.is_bundle:
            rows.append(("is_bundle", "yes"))
        if offer.weight_grams:
            rows.append(("shipping_weight", f"{_weight_kg(offer.weight_grams)} kg"))
        # Every value was cleaned when the offer was built; this is the last guard, because one
        # character XML cannot carry would end the file in the middle of an item.
        return [(k, strip_invalid(v)) for k, v in rows if v]


class GoogleRSSWriter(GoogleMixin, Writer):
    """RSS 2.0 with every product attribute in the ``g:`` namespace."""

    def start(self) -> None:
        self._stack = ExitStack()
        self._xf = self._stack.enter_context(etree.xmlfile(self.stream, encoding="utf-8"))
        self._xf.write_declaration()
        self._stack.enter_context(self._xf.element("rss", {"version": "2.0"}, nsmap={"g": G_NS}))
        self._stack.enter_context(self._xf.element("channel"))
        for tag, text in (("title", self.title), ("link", self.link), ("description", self.description)):
            with self._xf.element(tag):
                self._xf.write(text)

    def write(self, offer: Offer) -> None:
        xf = self._xf
        with xf.element("item"):
            for name, value in self.fields(offer):
                with xf.element(f"{{{G_NS}}}{name}"):
                    xf.write(value)
            if offer.shipping is not None:
                country, service, price = offer.shipping
                with xf.element(f"{{{G_NS}}}shipping"):
                    with xf.element(f"{{{G_NS}}}country"):
                        xf.write(country)
                    if service:
                        with xf.element(f"{{{G_NS}}}service"):
                            xf.write(service)
                    with xf.element(f"{{{G_NS}}}price"):
                        xf.write(google_price(price, offer.currency))

    def finish(self) -> None:
        self._stack.close()


TSV_COLUMNS = [
    "id",
    "title",
    "description",
    "link",
    "image_link",
    "additional_image_link",
    "availability",
    "availability_date",
    "price",
    "sale_price",
    "brand",
    "gtin",
    "mpn",
    "identifier_exists",
    "condition",
    "item_group_id",
    "color",
    "size",
    "material",
    "pattern",
    "product_type",
    "google_product_category",
    "custom_label_0",
    "unit_pricing_measure",
    "unit_pricing_base_measure",
    "is_bundle",
    "shipping_weight",
    "shipping",
]


class GoogleTSVWriter(GoogleMixin, Writer):
    """Tab-separated text: a header row of attribute names, one row per item, no quoting (tabs and
    line breaks inside values become spaces); repeated attributes are comma-separated."""

    def start(self) -> None:
        self._row(TSV_COLUMNS)

    def _row(self, values: list[str]) -> None:
        self.stream.write(("\t".join(values) + "\n").encode("utf-8"))

    def write(self, offer: Offer) -> None:
        values: dict[str, str] = {}
        for name, value in self.fields(offer):
            value = tsv_cell(value)
            if name == "additional_image_link":
                # A comma inside a URL would split it: percent-encode it.
                value = value.replace(",", "%2C")
                values[name] = f"{values[name]},{value}" if name in values else value
            else:
                values[name] = value
        if offer.shipping is not None:
            country, service, price = offer.shipping
            values["shipping"] = tsv_cell(
                f"{country}::{service.replace(':', ' ')}:{google_price(price, offer.currency)}"
            )
        self._row([values.get(c, "") for c in TSV_COLUMNS])

    def finish(self) -> None:
        pass


class CeneoWriter(Writer):
    """``<offers>`` with one ``<o>`` per offer; texts in CDATA (or escaped, when the text itself
    holds ``]]>``, which no CDATA section can carry)."""

    def problems(self, offer: Offer) -> list[tuple[str, str]]:
        return super().problems(offer)

    def start(self) -> None:
        self._stack = ExitStack()
        self._xf = self._stack.enter_context(etree.xmlfile(self.stream, encoding="utf-8"))
        self._xf.write_declaration()
        self._stack.enter_context(self._xf.element("offers", {"version": "1"}, nsmap={"xsi": XSI_NS}))
        self._stack.enter_context(self._xf.element("group", {"name": "other"}))

    @staticmethod
    def _text(element, value: str) -> None:
        element.text = etree.CDATA(value) if "]]>" not in value else value

    def write(self, offer: Offer) -> None:
        attrs = {
            "id": offer.id,
            "url": offer.link,
            "price": f"{offer.selling_price:.2f}",
            "avail": str(ceneo_avail(offer.days_to_ship)),
        }
        if offer.stock is not None:
            attrs["stock"] = str(max(0, offer.stock))
        if offer.weight_grams:
            attrs["weight"] = _weight_kg(offer.weight_grams)
        attrs["set"] = "1" if offer.is_bundle else "0"
        o = etree.Element("o", attrs)
        if offer.category_path:
            self._text(etree.SubElement(o, "cat"), CENEO_CATEGORY_SEPARATOR.join(offer.category_path))
        self._text(etree.SubElement(o, "name"), offer.title)
        if offer.image_link:
            imgs = etree.SubElement(o, "imgs")
            etree.SubElement(imgs, "main", {"url": offer.image_link})
            for url in offer.additional_image_links:
                etree.SubElement(imgs, "i", {"url": url})
        self._text(etree.SubElement(o, "desc"), offer.description)
        pairs = [
            ("Producent", offer.brand or offer.manufacturer),
            ("EAN", offer.gtin),
            ("Kod_producenta", offer.mpn),
            # GPSR (Ceneo has no elements of its own for them: named attributes, as Ceneo shows them)
            ("Producent_nazwa", offer.manufacturer),
            ("Producent_adres", offer.manufacturer_address),
            ("Producent_kontakt", offer.manufacturer_contact),
            ("Osoba_odpowiedzialna_UE", offer.responsible_person),
            ("Ostrzezenia_bezpieczenstwo", offer.safety_information),
        ]
        taken = {name.lower() for name, _v in pairs}
        pairs += [(name, value) for name, value in offer.attributes if name.lower() not in taken]
        pairs = [(name, value) for name, value in pairs if value]
        if pairs:
            attrs_el = etree.SubElement(o, "attrs")
            for name, value in pairs:
                self._text(etree.SubElement(attrs_el, "a", {"name": one_line(name, limit=80)}), value)
        self._xf.write(o)

    def finish(self) -> None:
        self._stack.close()


WRITERS = {
    "google_rss": GoogleRSSWriter,
    "google_tsv": GoogleTSVWriter,
    "ceneo_xml": CeneoWriter,
}


def writer_for(fmt: str, stream: IO[bytes], **kwargs) -> Writer:
    return WRITERS[fmt](stream, **kwargs)

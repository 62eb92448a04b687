"""Product safety (GPSR) on Allegro offers.

Allegro refers to a product's manufacturer and EU responsible person by ids of records the
seller keeps on Allegro (``/sale/responsible-producers``, ``/sale/responsible-persons``); an
offer names them in ``productSet[].responsibleProducer`` / ``responsiblePerson`` and carries the
warnings in ``productSet[].safetyInformation``. This module keeps one Allegro record per shop
``catalog.Manufacturer`` / ``ResponsiblePerson`` and connector: created on first use, updated
(``PUT``) when the shop's record changed, its id and a fingerprint of what was sent kept in
``ConnectorConfig.state["allegro"]["gpsr"]``.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from django.utils.translation import gettext as _

from catalog.models import Manufacturer, Product, ResponsiblePerson
from integrations.feeds.text import plain_text

from . import oauth
from .client import AllegroClient, AllegroMalformedResponse

NAME_MAX = 50  # Allegro's limit for the record's own (internal) name
SAFETY_TEXT_MAX = 5000

_POSTAL = re.compile(r"^\s*(\d{2}-\d{3}|\d{4,6}|[A-Z0-9]{2,4}\s?[A-Z0-9]{3})\s+(.+?)\s*$")


def split_address(text: str, country: str) -> dict[str, str]:
    """A free-text address as Allegro's structured one: the line with a postal code gives the
    postal code and the city, the lines before it the street (``ul. Długa 1\\n00-001 Warszawa``)."""
    lines = [" ".join(line.split()) for line in (text or "").replace(",", "\n").splitlines()]
    lines = [line for line in lines if line]
    street, postal, city = [], "", ""
    for i, line in enumerate(lines):
        m = _POSTAL.match(line)
        if m and i > 0:
            postal, city = m.group(1), m.group(2)
            street = lines[:i]
            break
    else:
        street = lines[:-1] or lines
        city = lines[-1] if len(lines) > 1 else ""
    return {
        "countryCode": (country or "PL").upper()[:2],
        "street": ", ".join(street)[:200],
        "postalCode": postal[:20],
        "city": city[:100],
    }


def producer_body(manufacturer: Manufacturer) -> dict[str, Any]:
    contact = {k: v for k, v in (("email", manufacturer.email), ("formUrl", manufacturer.url)) if v}
    if manufacturer.phone:
        contact["phoneNumber"] = manufacturer.phone
    return {
        "name": f"{manufacturer.name[: NAME_MAX - 8]} #{manufacturer.pk}"[:NAME_MAX],
        "producerData": {
            "tradeName": manufacturer.name,
            "address": split_address(manufacturer.address, manufacturer.country),
            "contact": contact,
        },
    }


def person_body(person: ResponsiblePerson) -> dict[str, Any]:
    contact = {"email": person.email}
    if person.phone:
        contact["phoneNumber"] = person.phone
    return {
        "name": f"{person.name[: NAME_MAX - 8]} #{person.pk}"[:NAME_MAX],
        "personalData": {
            "name": person.name,
            "address": split_address(person.address, person.country),
            "contact": contact,
        },
    }


def _fingerprint(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]


def _ensure(client: AllegroClient, kind: str, pk: int, body: dict) -> str:
    """The Allegro id of a record (``kind``: producers | persons), created or updated as needed."""
    known = (oauth.allegro_state(client.config).get("gpsr") or {}).get(kind, {}).get(str(pk)) or {}
    fingerprint = _fingerprint(body)
    if known.get("id") and known.get("fingerprint") == fingerprint:
        return known["id"]
    if known.get("id"):
        answer = client.put(f"/sale/responsible-{kind}/{known['id']}", body, ok=(200,))
        record_id = known["id"]
    else:
        answer = client.post(f"/sale/responsible-{kind}", body, ok=(200, 201))
        record_id = str((answer.data or {}).get("id") or "")
    if not record_id:
        raise AllegroMalformedResponse(
            _("Allegro created a responsible %(kind)s record without an id.") % {"kind": kind}
        )

    def change(state, _secrets):
        gpsr = dict(state.get("gpsr") or {})
        records = dict(gpsr.get(kind) or {})
        records[str(pk)] = {"id": record_id, "fingerprint": fingerprint}
        gpsr[kind] = records
        state["gpsr"] = gpsr

    oauth.update_state(client.config, change)
    return record_id


def product_set_entries(client: AllegroClient, product: Product) -> dict[str, Any]:
    """``productSet[0]`` keys for the product's manufacturer, responsible person and warnings
    (only those the product has; the records are created on Allegro when first needed)."""
    entries: dict[str, Any] = {}
    if product.manufacturer_id:
        entries["responsibleProducer"] = {
            "type": "ID",
            "id": _ensure(client, "producers", product.manufacturer_id, producer_body(product.manufacturer)),
        }
    if product.responsible_person_id:
        entries["responsiblePerson"] = {
            "id": _ensure(
                client, "persons", product.responsible_person_id, person_body(product.responsible_person)
            ),
        }
    text = plain_text(product.safety_information, limit=SAFETY_TEXT_MAX)
    if text:
        entries["safetyInformation"] = {"type": "TEXT", "description": text}
    return entries

"""Product safety data (GPSR, Regulation (EU) 2023/988, in force since 13 December 2024).

Art. 19 asks every distance offer to show the manufacturer's name, postal and electronic address;
where the manufacturer is outside the EU, the EU responsible person's; what identifies the product
(type, batch or serial number, here the EAN and ``Product.model_number``); and the warnings and
safety information in the language of the consumer. This module is the one rule of "complete":
the admin's filter and warning, the storefront section and the connectors use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q
from django.utils.translation import gettext as _

from .models import EU_COUNTRIES, Manufacturer, Product, ResponsiblePerson


def missing_q() -> Q:
    """Products whose GPSR data is incomplete: no manufacturer, or a manufacturer outside the EU
    and no EU responsible person."""
    return Q(manufacturer__isnull=True) | (
        ~Q(manufacturer__country__in=sorted(EU_COUNTRIES)) & Q(responsible_person__isnull=True)
    )


def problems(product: Product) -> list[str]:
    """What a merchant must still fill in for ``product`` (empty: complete)."""
    found = []
    manufacturer = product.manufacturer
    if manufacturer is None:
        found.append(_("No manufacturer (name, postal address, e-mail or website)."))
    elif not manufacturer.in_eu and product.responsible_person_id is None:
        found.append(_("The manufacturer is outside the EU: choose the EU responsible person."))
    return found


@dataclass
class SafetyInfo:
    """What the storefront, feeds and marketplaces show of one product."""

    manufacturer: Manufacturer | None
    responsible_person: ResponsiblePerson | None
    model_number: str = ""
    eans: list[str] = field(default_factory=list)
    safety_information: str = ""
    document_url: str = ""

    @property
    def is_empty(self) -> bool:
        return not (
            self.manufacturer
            or self.responsible_person
            or self.model_number
            or self.safety_information
            or self.document_url
        )


def safety_info(product: Product, *, eans=(), absolute_url=None) -> SafetyInfo:
    """Shaped from a product loaded with ``select_related("manufacturer", "responsible_person")``."""
    document_url = ""
    if product.safety_document:
        document_url = product.safety_document.url
        if absolute_url is not None and not document_url.startswith(("http://", "https://")):
            document_url = absolute_url(document_url)
    return SafetyInfo(
        manufacturer=product.manufacturer,
        responsible_person=product.responsible_person,
        model_number=product.model_number,
        eans=[e for e in dict.fromkeys(eans) if e],
        safety_information=product.safety_information,
        document_url=document_url,
    )

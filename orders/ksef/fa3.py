"""The FA(3) structured invoice (KSeF): a plain description of the document, its XML, and the check
against the official XSD.

:func:`document_for_invoice` turns an issued :class:`~orders.models.Invoice` into an
:class:`Fa3Document` (seller and buyer as frozen on the invoice, the positions and the per-rate
table the PDF prints); :func:`to_xml` writes it in the schema's element order; :func:`validate`
checks it against ``schemas/schemat_FA(3)_v1-0E.xsd``. The document is a plain dataclass so that a
correcting invoice (``RodzajFaktury`` ``KOR``) is the same document with :class:`CorrectionRef`
filled in and lines marked ``before`` (``StanPrzed``).

Prices in the shop are gross, so positions carry the gross unit price and value (``P_9B``,
``P_11A``: art. 106e ust. 7 and 8 of the VAT act) and the totals carry net and VAT per rate
(``P_13_x``/``P_14_x``) exactly as the printed table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from lxml import etree

from shop.money import round_money, round_to

NS = "http://crd.gov.pl/wzor/2025/06/25/13775/"
ETD_NS = "http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2022/01/05/eD/DefinicjeTypy/"
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SCHEMA_FILE = SCHEMA_DIR / "schemat_FA(3)_v1-0E.xsd"
FORM_CODE = {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"}
SYSTEM_INFO = "Koszyk"
DEFAULT_EXEMPTION_BASIS = "art. 43 ust. 1 ustawy o VAT"

EU_CODES = {
    "AT", "BE", "BG", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "EL", "HR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PT", "RO", "SK", "SI", "ES", "SE", "XI",
}  # fmt: skip

# The shop's VAT rate -> (P_12 on a position, the total fields (net, VAT) it is summed into).
RATES: dict[str, tuple[str, str, str | None]] = {
    "23": ("23", "P_13_1", "P_14_1"),
    "8": ("8", "P_13_2", "P_14_2"),
    "5": ("5", "P_13_3", "P_14_3"),
    "0": ("0 KR", "P_13_6_1", None),
    "zw": ("zw", "P_13_7", None),
    # A gift card (multi-purpose voucher, art. 8a ust. 4): outside VAT, the schema's "np" class.
    "np": ("np I", "P_13_8", None),
}
# Schema order of the per-rate totals.
TOTAL_FIELDS = ["P_13_1", "P_14_1", "P_13_2", "P_14_2", "P_13_3", "P_14_3", "P_13_6_1", "P_13_7", "P_13_8"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NIP = re.compile(r"^[1-9]((\d[1-9])|([1-9]\d))\d{7}$")


class Fa3Error(ValueError):
    """The invoice cannot be expressed as a valid FA(3) document (missing or unsupported data)."""


# --- The document -----------------------------------------------------------------------------------


@dataclass
class Party:
    name: str
    address_lines: list[str]
    country: str = "PL"
    nip: str = ""  # Polish NIP (10 digits)
    vat_ue: str = ""  # EU VAT number without its country prefix (KodUE = country)
    foreign_id: str = ""  # another tax id (KodKraju + NrID)
    email: str = ""
    phone: str = ""


@dataclass
class Position:
    name: str
    quantity: Decimal
    unit_gross: Decimal
    gross: Decimal
    vat_rate: str
    sku: str = ""
    unit: str = "szt."
    before: bool = False  # StanPrzed: the line as it was, on a correction


@dataclass
class RateTotal:
    vat_rate: str
    net: Decimal
    vat: Decimal


@dataclass
class CorrectionRef:
    """What a correcting invoice (KOR) corrects."""

    reason: str
    invoice_number: str
    issue_date: date
    ksef_number: str = ""  # empty: the corrected invoice was issued outside KSeF
    kind: int = 1  # TypKorekty: 1 in the original's period, 2 in the correction's, 3 other


@dataclass
class Fa3Document:
    number: str
    issue_date: date
    created_at: datetime
    currency: str
    seller: Party
    buyer: Party
    positions: list[Position]
    totals: list[RateTotal]
    total_gross: Decimal
    sale_date: date | None = None
    place_of_issue: str = ""
    exemption_basis: str = DEFAULT_EXEMPTION_BASIS
    paid_on: date | None = None
    payment_form: int | None = None  # TFormaPlatnosci 1..7
    payment_description: str = ""
    bank_account: str = ""
    notes: list[tuple[str, str]] = field(default_factory=list)  # DodatkowyOpis (key, value)
    correction: CorrectionRef | None = None

    @property
    def kind(self) -> str:
        return "KOR" if self.correction else "VAT"


# --- From an invoice ----------------------------------------------------------------------------------


def clean_text(value, limit: int = 256) -> str:
    """One line of text the schema accepts: no control characters (XML 1.0 forbids most of them),
    whitespace collapsed, at most ``limit`` characters."""
    text = _CONTROL.sub(" ", str(value or ""))
    text = " ".join(text.split())
    return text[:limit].strip()


def normalise_nip(value: str) -> str:
    digits = re.sub(r"[\s\-.]", "", (value or "").upper())
    if digits.startswith("PL"):
        digits = digits[2:]
    return digits


def valid_nip(value: str) -> bool:
    nip = normalise_nip(value)
    if not _NIP.match(nip):
        return False
    weights = (6, 5, 7, 2, 3, 4, 5, 6, 7)
    return sum(int(d) * w for d, w in zip(nip, weights, strict=False)) % 11 == int(nip[9])


def buyer_party(buyer: dict) -> Party:
    country = clean_text(buyer.get("country") or "PL", 2).upper() or "PL"
    eu_code = "EL" if country == "GR" else country  # Greece's VAT prefix is EL
    name = clean_text(buyer.get("company_name") or buyer.get("name"), 512)
    party = Party(
        name=name,
        address_lines=[
            clean_text(line, 512) for line in buyer.get("address_lines") or [] if clean_text(line)
        ],
        country=country,
        email=clean_text(buyer.get("email"), 255),
    )
    tax_id = re.sub(r"[\s\-.]", "", (buyer.get("tax_id") or "").upper())
    if not tax_id:
        return party
    if country == "PL" or (tax_id.startswith("PL") and valid_nip(tax_id)):
        nip = normalise_nip(tax_id)
        if not valid_nip(nip):
            raise Fa3Error(f"The buyer's NIP {tax_id!r} is not a valid Polish NIP.")
        party.nip = nip
    elif eu_code in EU_CODES:
        number = tax_id[2:] if tax_id.startswith(eu_code) else tax_id
        if not re.fullmatch(r"[0-9A-Z+*]{1,12}", number):
            raise Fa3Error(f"The buyer's EU VAT number {tax_id!r} is not valid.")
        party.vat_ue = number
    else:
        party.foreign_id = clean_text(buyer.get("tax_id"), 50)  # as the buyer wrote it
    return party


def seller_party(seller: dict) -> Party:
    nip = normalise_nip(seller.get("tax_id") or "")
    if not valid_nip(nip):
        raise Fa3Error("The store's company NIP is missing or invalid: set it in the store's company data.")
    lines = [clean_text(line, 512) for line in (seller.get("address") or "").splitlines() if clean_text(line)]
    if not lines:
        raise Fa3Error("The store's company address is missing: set it in the store's company data.")
    name = clean_text(seller.get("name"), 512)
    if not name:
        raise Fa3Error("The store's company name is missing.")
    phone = clean_text(seller.get("phone"), 16)
    return Party(
        name=name,
        address_lines=[lines[0], " ".join(lines[1:])] if len(lines) > 1 else lines,
        nip=nip,
        email=clean_text(seller.get("email"), 255),
        phone=phone if len(clean_text(seller.get("phone"))) <= 16 else "",
    )


PAYMENT_FORMS = {"cod": 1, "bank_transfer": 6}


def document_for_invoice(invoice, *, place_of_issue: str = "", exemption_basis: str = "") -> Fa3Document:
    """The FA(3) document of an issued invoice, from the data frozen on the invoice row and the
    positions the PDF prints (``orders.invoices.invoice_lines``/``vat_summary``)."""
    from django.utils import timezone

    from orders import invoices as invoicing

    order = invoice.order
    store = invoice.store
    lines = invoicing.invoice_lines(order, list(order.lines.all()))
    if not lines:
        raise Fa3Error("The invoice has no positions.")
    if (invoice.currency or "PLN").upper() != "PLN":
        raise Fa3Error(
            "FA(3) in a foreign currency needs the VAT in PLN at the NBP rate (P_14_xW): not supported yet."
        )
    positions = []
    for line in lines:
        if line.tax_code not in RATES:
            raise Fa3Error(f"VAT rate {line.tax_code!r} has no FA(3) mapping.")
        quantity = Decimal(line.quantity)
        positions.append(
            Position(
                name=clean_text(line.name, 512) or "—",
                sku=clean_text(line.sku, 50),
                quantity=quantity,
                unit_gross=round_money(line.gross / quantity),
                gross=line.gross,
                vat_rate=line.tax_code,
            )
        )
    totals = [RateTotal(s.vat_rate, s.net, s.vat) for s in invoicing.vat_summary(lines)]
    issue_date = timezone.localtime(invoice.issued_at, store.zone).date()
    paid_on = timezone.localtime(order.paid_at, store.zone).date() if order.paid_at else None
    provider = (order.payment_provider or "").lower()
    return Fa3Document(
        number=invoice.number,
        issue_date=issue_date,
        created_at=invoice.issued_at,
        currency="PLN",
        seller=seller_party(invoice.seller or {}),
        buyer=buyer_party(invoice.buyer or {}),
        positions=positions,
        totals=totals,
        total_gross=invoice.total_gross,
        sale_date=invoice.sale_date if invoice.sale_date and invoice.sale_date != issue_date else None,
        place_of_issue=clean_text(place_of_issue),
        exemption_basis=clean_text(exemption_basis) or DEFAULT_EXEMPTION_BASIS,
        paid_on=paid_on,
        payment_form=PAYMENT_FORMS.get(provider),
        payment_description=clean_text(order.payment_method_name) or "Płatność online",
        bank_account=re.sub(r"[^0-9A-Z]", "", (invoice.seller or {}).get("bank_account", "").upper()),
        notes=[("Zamówienie", clean_text(order.number))],
    )


# --- XML -------------------------------------------------------------------------------------------------


def _amount(value: Decimal) -> str:
    return f"{round_money(value):f}"


def _quantity(value: Decimal) -> str:
    text = f"{round_to(value, '0.000001'):f}".rstrip("0").rstrip(".")
    return text or "0"


def _sub(parent, tag: str, text=None, **attrs):
    el = etree.SubElement(parent, f"{{{NS}}}{tag}", **attrs)
    if text is not None:
        el.text = str(text)
    return el


def _address(parent, tag: str, party: Party) -> None:
    adres = _sub(parent, tag)
    _sub(adres, "KodKraju", party.country)
    _sub(adres, "AdresL1", party.address_lines[0])
    if len(party.address_lines) > 1 and party.address_lines[1]:
        _sub(adres, "AdresL2", clean_text(" ".join(party.address_lines[1:]), 512))


def _buyer_identity(parent, party: Party) -> None:
    ids = _sub(parent, "DaneIdentyfikacyjne")
    if party.nip:
        _sub(ids, "NIP", party.nip)
    elif party.vat_ue:
        _sub(ids, "KodUE", "EL" if party.country == "GR" else party.country)
        _sub(ids, "NrVatUE", party.vat_ue)
    elif party.foreign_id:
        _sub(ids, "KodKraju", party.country)
        _sub(ids, "NrID", party.foreign_id)
    else:
        _sub(ids, "BrakID", "1")
    if party.name:
        _sub(ids, "Nazwa", party.name)


def to_xml(doc: Fa3Document) -> bytes:
    """The document as UTF-8 FA(3) XML (elements in schema order)."""
    root = etree.Element(f"{{{NS}}}Faktura", nsmap={None: NS, "etd": ETD_NS})
    header = _sub(root, "Naglowek")
    _sub(
        header,
        "KodFormularza",
        "FA",
        kodSystemowy=FORM_CODE["systemCode"],
        wersjaSchemy=FORM_CODE["schemaVersion"],
    )
    _sub(header, "WariantFormularza", "3")
    _sub(header, "DataWytworzeniaFa", doc.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    _sub(header, "SystemInfo", SYSTEM_INFO)

    seller = _sub(root, "Podmiot1")
    ids = _sub(seller, "DaneIdentyfikacyjne")
    _sub(ids, "NIP", doc.seller.nip)
    _sub(ids, "Nazwa", doc.seller.name)
    _address(seller, "Adres", doc.seller)
    if doc.seller.email or doc.seller.phone:
        contact = _sub(seller, "DaneKontaktowe")
        if doc.seller.email and "@" in doc.seller.email:
            _sub(contact, "Email", doc.seller.email)
        if doc.seller.phone:
            _sub(contact, "Telefon", doc.seller.phone)

    buyer = _sub(root, "Podmiot2")
    _buyer_identity(buyer, doc.buyer)
    if doc.buyer.address_lines:
        _address(buyer, "Adres", doc.buyer)
    if doc.buyer.email and "@" in doc.buyer.email and len(doc.buyer.email) >= 3:
        _sub(_sub(buyer, "DaneKontaktowe"), "Email", doc.buyer.email)
    _sub(buyer, "JST", "2")  # not a local-government unit
    _sub(buyer, "GV", "2")  # not a VAT group member

    fa = _sub(root, "Fa")
    _sub(fa, "KodWaluty", doc.currency)
    _sub(fa, "P_1", doc.issue_date.isoformat())
    if doc.place_of_issue:
        _sub(fa, "P_1M", doc.place_of_issue)
    _sub(fa, "P_2", clean_text(doc.number))
    if doc.sale_date:
        _sub(fa, "P_6", doc.sale_date.isoformat())
    sums: dict[str, Decimal] = {}
    for total in doc.totals:
        _, net_field, vat_field = RATES[total.vat_rate]
        sums[net_field] = sums.get(net_field, Decimal("0")) + total.net
        if vat_field:
            sums[vat_field] = sums.get(vat_field, Decimal("0")) + total.vat
    for name in TOTAL_FIELDS:
        if name in sums:
            _sub(fa, name, _amount(sums[name]))
    _sub(fa, "P_15", _amount(doc.total_gross))

    notes = _sub(fa, "Adnotacje")
    for name in ("P_16", "P_17", "P_18", "P_18A"):
        _sub(notes, name, "2")
    exemption = _sub(notes, "Zwolnienie")
    if any(p.vat_rate == "zw" for p in doc.positions):
        _sub(exemption, "P_19", "1")
        _sub(exemption, "P_19A", doc.exemption_basis)
    else:
        _sub(exemption, "P_19N", "1")
    _sub(_sub(notes, "NoweSrodkiTransportu"), "P_22N", "1")
    _sub(notes, "P_23", "2")
    _sub(_sub(notes, "PMarzy"), "P_PMarzyN", "1")

    _sub(fa, "RodzajFaktury", doc.kind)
    if doc.correction is not None:
        ref = doc.correction
        if ref.reason:
            _sub(fa, "PrzyczynaKorekty", clean_text(ref.reason))
        _sub(fa, "TypKorekty", str(ref.kind))
        corrected = _sub(fa, "DaneFaKorygowanej")
        _sub(corrected, "DataWystFaKorygowanej", ref.issue_date.isoformat())
        _sub(corrected, "NrFaKorygowanej", clean_text(ref.invoice_number))
        if ref.ksef_number:
            _sub(corrected, "NrKSeF", "1")
            _sub(corrected, "NrKSeFFaKorygowanej", ref.ksef_number)
        else:
            _sub(corrected, "NrKSeFN", "1")
    for key, value in doc.notes:
        if key and value:
            note = _sub(fa, "DodatkowyOpis")
            _sub(note, "Klucz", clean_text(key))
            _sub(note, "Wartosc", clean_text(value))

    for number, position in enumerate(doc.positions, start=1):
        row = _sub(fa, "FaWiersz")
        _sub(row, "NrWierszaFa", str(number))
        _sub(row, "P_7", position.name)
        if position.sku:
            _sub(row, "Indeks", position.sku)
        _sub(row, "P_8A", position.unit)
        _sub(row, "P_8B", _quantity(position.quantity))
        _sub(row, "P_9B", _amount(position.unit_gross))
        _sub(row, "P_11A", _amount(position.gross))
        _sub(row, "P_12", RATES[position.vat_rate][0])
        if position.before:
            _sub(row, "StanPrzed", "1")

    if doc.paid_on or doc.bank_account:
        payment = _sub(fa, "Platnosc")
        if doc.paid_on:
            _sub(payment, "Zaplacono", "1")
            _sub(payment, "DataZaplaty", doc.paid_on.isoformat())
        if doc.payment_form:
            _sub(payment, "FormaPlatnosci", str(doc.payment_form))
        else:
            _sub(payment, "PlatnoscInna", "1")
            _sub(payment, "OpisPlatnosci", doc.payment_description or "Płatność online")
        if doc.bank_account and 10 <= len(doc.bank_account) <= 34:
            _sub(_sub(payment, "RachunekBankowy"), "NrRB", doc.bank_account)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# --- The XSD ---------------------------------------------------------------------------------------------


class _LocalSchemas(etree.Resolver):
    """Resolve the crd.gov.pl addresses the schema imports to the vendored copies."""

    def resolve(self, url, pubid, context):
        name = url.rsplit("/", 1)[-1]
        for candidate in (SCHEMA_DIR / name, SCHEMA_DIR / "bazowe" / name):
            if candidate.is_file():
                return self.resolve_filename(str(candidate), context)
        return None


@lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_LocalSchemas())
    return etree.XMLSchema(etree.parse(str(SCHEMA_FILE), parser))


def validation_errors(xml: bytes) -> list[str]:
    """Schema errors of an FA(3) document (empty when valid)."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    try:
        tree = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    checker = schema()
    if checker.validate(tree):
        return []
    return [f"line {e.line}: {e.message}" for e in checker.error_log]


def validate(xml: bytes) -> None:
    errors = validation_errors(xml)
    if errors:
        raise Fa3Error("FA(3) XML does not match the schema: " + "; ".join(errors[:5]))


def _correction_totals(correction) -> list[RateTotal]:
    """The correction's differences per rate, VAT per rate from the gross totals (the same
    table its PDF prints, :func:`orders.corrections.rate_differences`)."""
    from orders.corrections import rate_differences

    return [RateTotal(d.vat_rate, d.net, d.vat) for d in rate_differences(correction)]


def document_for_correction(
    correction, *, place_of_issue: str = "", exemption_basis: str = ""
) -> Fa3Document:
    """The FA(3) ``KOR`` document of a correcting invoice (``orders.corrections``): per corrected
    position the line as it was (``StanPrzed``) and as it is now, the per-rate totals and ``P_15``
    as the differences, and the corrected invoice's number, date and KSeF number."""
    from django.utils import timezone

    corrected = correction.corrects
    if corrected is None:
        raise Fa3Error("A correction names no corrected invoice.")
    if (correction.currency or "PLN").upper() != "PLN":
        raise Fa3Error("FA(3) in a foreign currency is not supported yet.")
    store = correction.store
    positions = []
    for row in correction.lines or []:
        rate = row["vat_rate"]
        if rate not in RATES:
            raise Fa3Error(f"VAT rate {rate!r} has no FA(3) mapping.")
        for state, before in ((row["before"], True), (row["after"], False)):
            quantity = Decimal(state["quantity"])
            gross = Decimal(state["gross"])
            positions.append(
                Position(
                    name=clean_text(row["name"], 512) or "—",
                    sku=clean_text(row["sku"], 50),
                    quantity=quantity,
                    unit_gross=round_money(gross / quantity) if quantity else Decimal("0.00"),
                    gross=gross,
                    vat_rate=rate,
                    before=before,
                )
            )
    submission = getattr(corrected, "ksef_submission", None)
    issue_date = timezone.localtime(correction.issued_at, store.zone).date()
    return Fa3Document(
        number=correction.number,
        issue_date=issue_date,
        created_at=correction.issued_at,
        currency="PLN",
        seller=seller_party(correction.seller or {}),
        buyer=buyer_party(correction.buyer or {}),
        positions=positions,
        totals=_correction_totals(correction),
        total_gross=correction.total_gross,
        place_of_issue=clean_text(place_of_issue),
        exemption_basis=clean_text(exemption_basis) or DEFAULT_EXEMPTION_BASIS,
        notes=[("Zamówienie", clean_text(correction.order.number))],
        correction=CorrectionRef(
            reason=correction.reason,
            invoice_number=corrected.number,
            issue_date=timezone.localtime(corrected.issued_at, store.zone).date(),
            ksef_number=(getattr(submission, "ksef_number", "") or "") if submission else "",
            kind=2,  # the correction is recorded in its own period (a decrease, art. 29a ust. 13)
        ),
    )


def build_invoice_xml(invoice, **options) -> bytes:
    """The invoice's (or correction's) FA(3) XML, checked against the XSD (raises :class:`Fa3Error`)."""
    if getattr(invoice, "kind", "invoice") == "correction":
        xml = to_xml(document_for_correction(invoice, **options))
    else:
        xml = to_xml(document_for_invoice(invoice, **options))
    validate(xml)
    return xml

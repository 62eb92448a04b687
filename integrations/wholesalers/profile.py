"""Mapping profiles: where a wholesaler's feed keeps each field. Data, not code.

A profile is JSON (built-in ones live in ``profiles/*.json``; a connector may carry its own)::

    {
      "name": "Ptak (CSV, Windows-1250)",
      "sources": {
        "products": {"format": "csv", "encoding": "windows-1250", "delimiter": ";",
                     "fields": {"sku": "Indeks", "name": "Nazwa", "cost_net": "Cena netto", ...}}
      },
      "directions": {"full": ["products"], "stock": ["products"]}
    }

Each direction lists its sources: the first is the primary (one row per variant), the others are
joined to it by ``key`` (their fields fill in or override the primary's). XML sources name the
``record`` element (streamed with iterparse) and optionally ``variants`` (a path below the record:
one row per variant, with the record's fields inherited); field expressions are XPath relative to
the record or variant element. CSV fields name a column. See docs/integrations.md for every key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from . import encoding as encodings

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"

# Target fields a profile may map. ``images`` and ``attributes`` are lists/maps; the rest scalars.
SCALAR_FIELDS = {
    "key",
    "sku",
    "group",
    "name",
    "description",
    "brand",
    "ean",
    "category",
    "vat",
    "cost_net",
    "cost_gross",
    "price_gross",
    "compare_at_gross",
    "stock",
    "weight",
    "supplier_code",
    "active",
    # Product safety (GPSR): the manufacturer's name, postal address and e-mail, the warnings.
    "manufacturer_name",
    "manufacturer_address",
    "manufacturer_email",
    "safety_information",
}
LIST_FIELDS = {"images"}
FORMATS = {"xml", "csv"}
DIRECTIONS = {"full", "stock"}


@dataclass(frozen=True)
class FieldSpec:
    """How to get one target field: an XPath/column, a constant, a split, a value map."""

    path: str = ""
    value: Any = None
    split: str = ""
    map: dict[str, str] = field(default_factory=dict)
    default: Any = None
    multiply: str = ""

    @classmethod
    def parse(cls, raw: Any, *, where: str) -> FieldSpec:
        if isinstance(raw, str):
            return cls(path=raw)
        if isinstance(raw, dict):
            unknown = set(raw) - {"path", "column", "value", "split", "map", "default", "multiply"}
            if unknown:
                raise ValidationError(
                    _("%(where)s: unknown keys %(keys)s.")
                    % {"where": where, "keys": ", ".join(sorted(unknown))}
                )
            path = raw.get("path") or raw.get("column") or ""
            if not path and "value" not in raw:
                raise ValidationError(_("%(where)s: give a path, a column or a value.") % {"where": where})
            return cls(
                path=path,
                value=raw.get("value"),
                split=raw.get("split", ""),
                map={str(k): str(v) for k, v in (raw.get("map") or {}).items()},
                default=raw.get("default"),
                multiply=str(raw.get("multiply", "")),
            )
        raise ValidationError(_("%(where)s: a field is a string or an object.") % {"where": where})


@dataclass(frozen=True)
class SourceProfile:
    name: str
    format: str
    encoding: str = "auto"
    record: str = ""
    variants: str = ""
    namespaces: dict[str, str] = field(default_factory=dict)
    delimiter: str = ","
    quotechar: str = '"'
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    variant_fields: dict[str, FieldSpec] = field(default_factory=dict)
    attributes: dict[str, FieldSpec] = field(default_factory=dict)
    attribute_pairs: dict[str, str] = field(default_factory=dict)

    @property
    def all_fields(self) -> set[str]:
        return set(self.fields) | set(self.variant_fields)


@dataclass(frozen=True)
class Profile:
    name: str
    sources: dict[str, SourceProfile]
    directions: dict[str, list[str]]
    category_separator: str = "/"
    weight_unit: str = "g"
    stock_minus_one: int = 0
    description: str = ""

    def sources_for(self, direction: str) -> list[SourceProfile]:
        return [self.sources[name] for name in self.directions.get(direction, [])]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        """Validate a profile; raises ValidationError with every problem found."""
        if not isinstance(data, dict):
            raise ValidationError(_("A profile is a JSON object."))
        errors: list[str] = []
        name = str(data.get("name") or "").strip() or _("custom profile")
        sources: dict[str, SourceProfile] = {}
        raw_sources = data.get("sources")
        if not isinstance(raw_sources, dict) or not raw_sources:
            raise ValidationError(_("The profile needs at least one source under 'sources'."))
        for source_name, raw in raw_sources.items():
            try:
                sources[source_name] = _parse_source(source_name, raw)
            except ValidationError as exc:
                errors.extend(exc.messages)
        directions = data.get("directions") or {"full": list(raw_sources), "stock": list(raw_sources)}
        if not isinstance(directions, dict):
            errors.append(_("'directions' maps a direction to a list of sources."))
            directions = {}
        for direction, names in directions.items():
            if direction not in DIRECTIONS:
                errors.append(_("Unknown direction %(d)s (use full or stock).") % {"d": direction})
                continue
            if not isinstance(names, list) or not names:
                errors.append(_("Direction %(d)s needs a list of sources.") % {"d": direction})
                continue
            for n in names:
                if n not in raw_sources:
                    errors.append(
                        _("Direction %(d)s names an unknown source %(s)s.") % {"d": direction, "s": n}
                    )
            primary = sources.get(names[0])
            if primary is not None and direction == "full":
                missing = {"sku", "name"} - primary.all_fields
                if missing:
                    errors.append(
                        _("The primary source of the full import must map %(f)s.")
                        % {"f": ", ".join(sorted(missing))}
                    )
            if primary is not None and direction == "stock" and "sku" not in primary.all_fields:
                errors.append(_("The primary source of the stock import must map sku."))
            for n in names[1:]:
                secondary = sources.get(n)
                if secondary is not None and "key" not in secondary.all_fields:
                    errors.append(_("Source %(s)s is joined by key, so it must map key.") % {"s": n})
        weight_unit = data.get("weight_unit", "g")
        if weight_unit not in ("g", "kg"):
            errors.append(_("weight_unit is g or kg."))
        try:
            stock_minus_one = int(data.get("stock_minus_one", 0))
        except (TypeError, ValueError):
            errors.append(_("stock_minus_one is a whole number."))
            stock_minus_one = 0
        if errors:
            raise ValidationError(errors)
        return cls(
            name=name,
            sources=sources,
            directions={k: list(v) for k, v in directions.items()},
            category_separator=str(data.get("category_separator", "/")) or "/",
            weight_unit=weight_unit,
            stock_minus_one=stock_minus_one,
            description=str(data.get("description", "")),
        )


def _parse_fields(raw: Any, *, where: str, allowed: set[str]) -> dict[str, FieldSpec]:
    if raw in (None, {}):
        return {}
    if not isinstance(raw, dict):
        raise ValidationError(_("%(where)s: fields are an object.") % {"where": where})
    out = {}
    for target, spec in raw.items():
        if target not in allowed:
            raise ValidationError(_("%(where)s: unknown field %(f)s.") % {"where": where, "f": target})
        out[target] = FieldSpec.parse(spec, where=f"{where}.{target}")
    return out


def _parse_source(name: str, raw: Any) -> SourceProfile:
    where = f"sources.{name}"
    if not isinstance(raw, dict):
        raise ValidationError(_("%(where)s is an object.") % {"where": where})
    fmt = raw.get("format")
    if fmt not in FORMATS:
        raise ValidationError(_("%(where)s: format is xml or csv.") % {"where": where})
    enc = str(raw.get("encoding", "auto"))
    if enc != "auto":
        try:
            encodings.canonical(enc)
        except LookupError as exc:
            raise ValidationError(
                _("%(where)s: unknown encoding %(e)s.") % {"where": where, "e": enc}
            ) from exc
    allowed = SCALAR_FIELDS | LIST_FIELDS
    fields = _parse_fields(raw.get("fields"), where=f"{where}.fields", allowed=allowed)
    variant_fields = _parse_fields(
        raw.get("variant_fields"), where=f"{where}.variant_fields", allowed=allowed
    )
    attributes = {}
    for attr_name, spec in (raw.get("attributes") or {}).items():
        attributes[str(attr_name)] = FieldSpec.parse(spec, where=f"{where}.attributes.{attr_name}")
    pairs = raw.get("attribute_pairs") or {}
    if pairs and not {"path", "name", "value"} <= set(pairs):
        raise ValidationError(_("%(where)s: attribute_pairs needs path, name and value.") % {"where": where})
    if fmt == "xml" and not raw.get("record"):
        raise ValidationError(_("%(where)s: an XML source names its record element.") % {"where": where})
    if raw.get("variants") and fmt != "xml":
        raise ValidationError(_("%(where)s: nested variants exist only in XML.") % {"where": where})
    delimiter = str(raw.get("delimiter", ","))
    if fmt == "csv" and len(delimiter.replace("\\t", "\t")) != 1:
        raise ValidationError(_("%(where)s: the delimiter is one character.") % {"where": where})
    if fmt == "xml":
        _check_xpaths(where, fields, variant_fields, attributes, pairs, raw.get("namespaces") or {})
    return SourceProfile(
        name=name,
        format=fmt,
        encoding=enc,
        record=str(raw.get("record", "")),
        variants=str(raw.get("variants", "")),
        namespaces=dict(raw.get("namespaces") or {}),
        delimiter=delimiter.replace("\\t", "\t"),
        quotechar=str(raw.get("quotechar", '"')) or '"',
        fields=fields,
        variant_fields=variant_fields,
        attributes=attributes,
        attribute_pairs={k: str(v) for k, v in pairs.items()},
    )


def _check_xpaths(where, fields, variant_fields, attributes, pairs, namespaces) -> None:
    from lxml import etree

    exprs = [s.path for s in (*fields.values(), *variant_fields.values(), *attributes.values()) if s.path]
    exprs += [v for k, v in pairs.items() if k in ("path", "name", "value")]
    for expr in exprs:
        try:
            etree.XPath(expr, namespaces=namespaces or None)
        except etree.XPathSyntaxError as exc:
            raise ValidationError(
                _("%(where)s: %(expr)s is not a valid XPath (%(error)s).")
                % {"where": where, "expr": expr, "error": exc}
            ) from exc


def builtin_profiles() -> dict[str, dict[str, Any]]:
    """Built-in profiles by slug (file name without .json)."""
    return {slug: _load_builtin(slug) for slug in sorted(p.stem for p in PROFILES_DIR.glob("*.json"))}


@lru_cache(maxsize=32)
def _load_builtin(slug: str) -> dict[str, Any]:
    return json.loads((PROFILES_DIR / f"{slug}.json").read_text(encoding="utf-8"))


def builtin_choices() -> tuple[tuple[str, str], ...]:
    return tuple((slug, data.get("name", slug)) for slug, data in builtin_profiles().items())


def load_profile(*, slug: str = "", custom: dict[str, Any] | None = None) -> Profile:
    """The custom profile when given (non-empty), else the built-in one named ``slug``."""
    if custom:
        return Profile.from_dict(custom)
    if not slug or not (PROFILES_DIR / f"{slug}.json").is_file():
        raise ValidationError(_("Unknown built-in profile %(slug)s.") % {"slug": slug or "-"})
    return Profile.from_dict(_load_builtin(slug))

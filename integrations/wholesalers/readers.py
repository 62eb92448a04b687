"""Streaming readers: a feed file (plain or gzip) -> raw rows (dicts of strings), never the whole
file in memory.

XML is parsed with ``lxml.etree.iterparse`` with entity resolution, DTD loading and network access
off and ``huge_tree`` off (libxml2's limits on depth, text size and entity amplification stay on);
a document that declares a DTD is refused outright: feeds never need one, attacks always do. Every
finished element outside a record (and every finished record) is cleared and unlinked, and a record
may hold at most :data:`MAX_RECORD_ELEMENTS` elements, so memory stays flat for any feed size and
shape. CSV goes through :mod:`csv` over an incremental decoder, one physical line of at most
:data:`MAX_LINE_CHARS` characters at a time (a gzip of one endless line never builds it in memory).
A size limit is enforced on the *decompressed* bytes, so a gzip bomb is cut off like a 2 GB file
(downloads are capped on the compressed bytes by the same setting).

Stretches that yield no row (blank CSV lines, XML elements that are not records) yield
``(None, None)`` every :data:`KEEPALIVE_EVERY` items, so the importer can beat the run's heartbeat
and report progress while it reads them; more than :data:`MAX_BLANK_LINES` blank lines in a row
end the run (no feed has them; a small gzip of newlines would otherwise burn minutes of CPU).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from lxml import etree

from . import encoding as encodings
from .profile import FieldSpec, SourceProfile

MAX_LINE_CHARS = 1024 * 1024
MAX_RECORD_ELEMENTS = 100_000
MAX_BLANK_LINES = 100_000
KEEPALIVE_EVERY = 10_000


class FeedError(Exception):
    """The feed as a whole cannot be read: the run fails with this message."""


class LimitedReader(io.RawIOBase):
    """Counts the bytes read through it and refuses to read past ``limit``."""

    def __init__(self, raw, limit: int):
        self.raw = raw
        self.limit = limit
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        if not data:
            return 0
        self.count += len(data)
        if self.count > self.limit:
            raise FeedError(
                _(
                    "The feed is larger than the limit of %(limit)s bytes (INTEGRATIONS_MAX_FEED_BYTES); stopped."
                )
                % {"limit": f"{self.limit:,}".replace(",", " ")}
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.raw.close()
        super().close()


def open_feed(path: str | Path, *, max_bytes: int) -> LimitedReader:
    """Open a feed file for binary reading, gunzipping it when it is gzip, size-limited."""
    fh = open(path, "rb")  # noqa: SIM115 - closed by the LimitedReader
    magic = fh.read(2)
    fh.seek(0)
    raw = gzip.GzipFile(fileobj=fh, mode="rb") if magic == b"\x1f\x8b" else fh
    return LimitedReader(raw, max_bytes)


def read_sample(path: str | Path, *, max_bytes: int, size: int) -> bytes:
    with open_feed(path, max_bytes=max_bytes) as fh:
        try:
            return fh.read(size)
        except (OSError, EOFError) as exc:
            raise FeedError(_("The compressed feed is damaged: %(error)s") % {"error": exc}) from exc


def iter_rows(
    source: SourceProfile, path: str | Path, *, max_bytes: int, sample_size: int, info: dict[str, Any]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(row_number, raw_row)`` for every row of one source file.

    ``info`` receives ``encoding``/``encoding_how`` and a live ``reader`` (for progress in bytes).
    Raises :class:`FeedError` for anything that makes the whole file unreadable.
    """
    sample = read_sample(path, max_bytes=max_bytes, size=sample_size)
    if not sample.strip():
        raise FeedError(_("The file %(source)s is empty.") % {"source": source.name})
    try:
        enc, how = encodings.detect(sample, configured=source.encoding, xml=source.format == "xml")
    except LookupError as exc:
        raise FeedError(str(exc)) from exc
    info.update(encoding=enc, encoding_how=how)
    reader = open_feed(path, max_bytes=max_bytes)
    info["reader"] = reader
    try:
        if source.format == "xml":
            override = enc if how != "declaration" else None
            yield from _xml_rows(source, reader, override)
        else:
            yield from _csv_rows(source, reader, enc, info)
    except (OSError, EOFError) as exc:
        raise FeedError(_("The compressed feed is damaged or cut off: %(error)s") % {"error": exc}) from exc
    finally:
        reader.close()


# --- XML -----------------------------------------------------------------------------------------


class _Compiled:
    def __init__(self, source: SourceProfile):
        ns = source.namespaces or None
        self.fields = {
            k: (s, etree.XPath(s.path, namespaces=ns) if s.path else None) for k, s in source.fields.items()
        }
        self.variant_fields = {
            k: (s, etree.XPath(s.path, namespaces=ns) if s.path else None)
            for k, s in source.variant_fields.items()
        }
        self.attributes = {
            k: (s, etree.XPath(s.path, namespaces=ns) if s.path else None)
            for k, s in source.attributes.items()
        }
        self.variants = etree.XPath(source.variants, namespaces=ns) if source.variants else None
        pairs = source.attribute_pairs
        self.pairs = (
            (
                etree.XPath(pairs["path"], namespaces=ns),
                etree.XPath(pairs["name"], namespaces=ns),
                etree.XPath(pairs["value"], namespaces=ns),
            )
            if pairs
            else None
        )


def _texts(result) -> list[str]:
    if isinstance(result, list):
        out = []
        for item in result:
            if isinstance(item, etree._Element):
                out.append("".join(t for t in item.itertext() if isinstance(t, str)))
            else:
                out.append(str(item))
        return out
    if isinstance(result, bool):
        return ["1" if result else "0"]
    if isinstance(result, float):
        return [] if result != result else [str(result)]
    return [str(result)]


def apply_spec(spec: FieldSpec, values: list[str], *, many: bool):
    if spec.split:
        values = [part for v in values for part in v.split(spec.split)]
    values = [v.strip() for v in values if v is not None and v.strip()]
    if spec.map:
        values = [spec.map.get(v, v) for v in values]
    if many:
        return values or (list(spec.default) if isinstance(spec.default, list) else [])
    if values:
        return values[0]
    if spec.value is not None:
        return str(spec.value)
    return None if spec.default is None else str(spec.default)


def _eval(compiled_fields, element, out: dict[str, Any]) -> None:
    for target, (spec, xpath) in compiled_fields.items():
        many = target == "images"
        values = _texts(xpath(element)) if xpath is not None else []
        value = apply_spec(spec, values, many=many)
        if value is None or value == []:
            out.setdefault(target, value)
        else:
            out[target] = value


def _local(tag) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _drop(element) -> None:
    """Free a finished element and everything before it under the same parent."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _xml_rows(source: SourceProfile, reader: LimitedReader, encoding_override: str | None):
    compiled = _Compiled(source)
    kwargs = {
        # Every element, not only records: what is not a record is freed as soon as it ends.
        "events": ("start", "end"),
        "resolve_entities": False,
        "no_network": True,
        "huge_tree": False,
        "load_dtd": False,
        "dtd_validation": False,
        "remove_comments": True,
        "remove_pis": True,
    }
    if encoding_override and encoding_override not in ("utf-8-sig", "utf-16"):
        kwargs["encoding"] = encoding_override  # BOMs are read by libxml2 itself
    parser = etree.iterparse(io.BufferedReader(reader, buffer_size=65536), **kwargs)
    record = source.record
    row_number = 0
    checked_dtd = False
    depth = 0  # > 0 inside a record: its elements are kept until the record ends
    inside = 0  # elements in the current record
    skipped = 0
    try:
        for event, element in parser:
            if event == "start":
                if not checked_dtd:
                    checked_dtd = True
                    docinfo = element.getroottree().docinfo
                    if (
                        docinfo.internalDTD is not None
                        or docinfo.externalDTD is not None
                        or docinfo.system_url
                    ):
                        raise FeedError(
                            _(
                                "The XML declares a DTD (entities); feeds never need one, so it was refused for safety."
                            )
                        )
                if depth:
                    depth += 1
                    inside += 1
                    if inside > MAX_RECORD_ELEMENTS:
                        raise FeedError(
                            _(
                                "The <%(record)s> element at line %(line)s holds more than %(n)s elements; no product needs that many, so the feed was refused."
                            )
                            % {
                                "record": record,
                                "line": element.sourceline or "?",
                                "n": f"{MAX_RECORD_ELEMENTS:,}".replace(",", " "),
                            }
                        )
                elif _local(element.tag) == record:
                    depth, inside = 1, 0
                continue
            if depth > 1:
                depth -= 1
                continue
            if depth == 0:
                # Not a record and not inside one: nothing reads it, free it now.
                _drop(element)
                skipped += 1
                if skipped % KEEPALIVE_EVERY == 0:
                    yield None, None
                continue
            depth = 0
            base: dict[str, Any] = {}
            _eval(compiled.fields, element, base)
            if compiled.pairs is not None:
                path, name_x, value_x = compiled.pairs
                params = {}
                for node in path(element):
                    names, vals = _texts(name_x(node)), _texts(value_x(node))
                    if names and vals and names[0].strip() and vals[0].strip():
                        params[names[0].strip()[:80]] = vals[0].strip()[:80]
                base["parameters"] = params
            variant_elements = compiled.variants(element) if compiled.variants is not None else []
            if variant_elements:
                for v in variant_elements:
                    row = dict(base)
                    _eval(compiled.variant_fields, v, row)
                    attrs: dict[str, Any] = {}
                    _eval(compiled.attributes, v, attrs)
                    row["attributes"] = {k: val for k, val in attrs.items() if val}
                    row_number += 1
                    yield (v.sourceline or row_number), row
            else:
                row = dict(base)
                _eval(compiled.variant_fields, element, row)
                attrs = {}
                _eval(compiled.attributes, element, attrs)
                row["attributes"] = {k: val for k, val in attrs.items() if val}
                row_number += 1
                yield (element.sourceline or row_number), row
            # Free what was parsed so far: memory stays flat for any feed size.
            _drop(element)
    except etree.XMLSyntaxError as exc:
        raise FeedError(_("The XML is malformed or cut off: %(error)s") % {"error": _xml_error(exc)}) from exc
    if row_number == 0:
        raise FeedError(
            _("No <%(record)s> elements were found in %(source)s: is this the right file and profile?")
            % {"record": source.record, "source": source.name}
        )


def _xml_error(exc: etree.XMLSyntaxError) -> str:
    msg = str(exc.msg if getattr(exc, "msg", None) else exc)
    line = getattr(exc, "lineno", None)
    return f"{msg} (line {line})" if line else msg


# --- CSV -----------------------------------------------------------------------------------------


def _lines(text: io.TextIOBase, name: str) -> Iterator[str]:
    """The physical lines of ``text``, each read with a bounded ``readline``: a line longer than
    :data:`MAX_LINE_CHARS` ends the run instead of being built in memory."""
    number = 0
    while True:
        line = text.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise FeedError(
                _("Line %(line)d of %(source)s is longer than %(n)s characters; it is not a feed row.")
                % {"line": number, "source": name, "n": f"{MAX_LINE_CHARS:,}".replace(",", " ")}
            )
        yield line


def _csv_rows(source: SourceProfile, reader: LimitedReader, enc: str, info: dict[str, Any]):
    text = io.TextIOWrapper(
        io.BufferedReader(reader, buffer_size=65536), encoding=enc, errors="strict", newline=""
    )
    rows = csv.reader(_lines(text, source.name), delimiter=source.delimiter, quotechar=source.quotechar)
    try:
        try:
            header = next(rows)
        except StopIteration:
            raise FeedError(
                _("The CSV file %(source)s has no header row.") % {"source": source.name}
            ) from None
        index = {h.strip().lower(): i for i, h in enumerate(header)}

        def column(spec: FieldSpec, where: str) -> int | None:
            if not spec.path:
                return None
            i = index.get(spec.path.strip().lower())
            if i is None and where not in ("sku", "key"):
                info.setdefault("missing_columns", []).append(spec.path)
                return None
            if i is None:
                raise FeedError(
                    _(
                        "The CSV file %(source)s has no column %(column)s (mapped to %(field)s). Columns: %(cols)s"
                    )
                    % {
                        "source": source.name,
                        "column": spec.path,
                        "field": where,
                        "cols": ", ".join(header)[:500],
                    }
                )
            return i

        plan = [(t, s, column(s, t)) for t, s in {**source.fields, **source.variant_fields}.items()]
        attr_plan = [(t, s, column(s, t)) for t, s in source.attributes.items()]
        blank = 0
        for cells in rows:
            if not any(c.strip() for c in cells):
                blank += 1
                if blank > MAX_BLANK_LINES:
                    raise FeedError(
                        _(
                            "The file %(source)s has more than %(n)s blank lines in a row near line %(line)d; it is not a feed."
                        )
                        % {
                            "source": source.name,
                            "n": f"{MAX_BLANK_LINES:,}".replace(",", " "),
                            "line": rows.line_num,
                        }
                    )
                if blank % KEEPALIVE_EVERY == 0:
                    yield None, None
                continue
            blank = 0
            row: dict[str, Any] = {}
            for target, spec, i in plan:
                values = [cells[i]] if i is not None and i < len(cells) else []
                row[target] = apply_spec(spec, values, many=target == "images")
            attrs = {}
            for target, spec, i in attr_plan:
                values = [cells[i]] if i is not None and i < len(cells) else []
                value = apply_spec(spec, values, many=False)
                if value:
                    attrs[target] = value
            row["attributes"] = attrs
            yield rows.line_num, row
    except UnicodeDecodeError as exc:
        raise FeedError(
            _(
                "The file %(source)s is not valid %(enc)s text near line %(line)d; set the encoding in the profile."
            )
            % {"source": source.name, "enc": enc, "line": rows.line_num + 1}
        ) from exc
    except csv.Error as exc:
        raise FeedError(
            _("The CSV file %(source)s is malformed near line %(line)d: %(error)s")
            % {"source": source.name, "line": rows.line_num, "error": exc}
        ) from exc

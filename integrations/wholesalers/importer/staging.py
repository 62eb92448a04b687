"""Step 1 of a feed run: stage the whole feed before the catalog is touched.

Secondary files (prices, stock) are streamed into ``StagedPart`` rows; the primary file is
streamed, each batch joined to its parts by key, normalised and checked (:mod:`..normalise`) into
``StagedRow`` rows. Row problems go to the run's error log and the row is skipped; a file problem
(malformed or truncated XML, wrong encoding, too large, a DTD) fails the run here. Staging is
committed batch by batch with a cursor, so a worker that dies while reading a big feed is resumed
where it stopped (``integrations.services.run_connector``). Memory does not grow with the feed:
rows are read one at a time and written a batch at a time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Min
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ...models import StagedPart, StagedRow
from ..normalise import RowError, digest, normalise, stock_digest
from ..readers import iter_rows
from .run import ROW_WARNINGS_IN_SUMMARY, RunAborted


def _bulk_stage(model, objects: list, columns: list[str]) -> None:
    """Insert staging rows: ``COPY`` on PostgreSQL (client-side parameter binding of thousands
    of JSON values per ``INSERT`` costs more than the database does), ``bulk_create`` elsewhere."""
    if not objects:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects)
        return
    table = model._meta.db_table
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for obj in objects:
            copy.write_row(
                [
                    json.dumps(getattr(obj, c), ensure_ascii=False) if c == "data" else getattr(obj, c)
                    for c in columns
                ]
            )


class Staging:
    """Reading the feed's files into staging rows (a step of :class:`FeedImporter`)."""

    def stage(self) -> None:
        sources = self.profile.sources_for(self.direction)
        if not sources:
            raise RunAborted(_("The profile has no sources for the %(d)s import.") % {"d": self.direction})
        primary, secondaries = sources[0], sources[1:]
        if primary.name not in self.files:
            raise RunAborted(_("No file or URL for the source %(s)s.") % {"s": primary.name})
        cursor = self.run.cursor if self.run.cursor.get("phase") == "staging" else {}
        done_sources = set(cursor.get("done_sources", []))
        self.save_cursor(phase="staging", done_sources=sorted(done_sources))
        for source in secondaries:
            if source.name in done_sources:
                continue
            if source.name not in self.files:
                self.warnings.append(_("No file for %(s)s: its fields are not joined.") % {"s": source.name})
                continue
            resume_at = cursor.get("rows_done", 0) if cursor.get("source") == source.name else 0
            self._stage_parts(source, resume_at)
            done_sources.add(source.name)
            self.save_cursor(done_sources=sorted(done_sources), source="", rows_done=0)
        resume_at = cursor.get("rows_done", 0) if cursor.get("source") == primary.name else 0
        self._stage_primary(primary, [s.name for s in secondaries if s.name in self.files], resume_at)
        self.flush_errors()
        self._drop_duplicates()
        more = self.counts["row_warnings"] - ROW_WARNINGS_IN_SUMMARY
        if more > 0:
            self.warnings.append(
                ngettext(
                    "%(n)d more row warning is in the run's error log.",
                    "%(n)d more row warnings are in the run's error log.",
                    more,
                )
                % {"n": more}
            )
        self.run.rows_total = StagedRow.objects.filter(run=self.run).count() + self.counts["failed"]
        if self.mode == "full" and not StagedRow.objects.filter(run=self.run).exists():
            raise RunAborted(_("The feed has no valid rows; nothing was changed."))
        self.save_cursor(phase="staged", source="", rows_done=0, rows_total=self.run.rows_total)

    def _file_size(self, name: str) -> int | None:
        try:
            return Path(self.files[name]).stat().st_size
        except OSError:
            return None

    def _rows(self, source, resume_at: int):
        info: dict[str, Any] = {}
        total = self._file_size(source.name)
        ordinal = 0
        for row_number, raw in iter_rows(
            source,
            self.files[source.name],
            max_bytes=settings.INTEGRATIONS_MAX_FEED_BYTES,
            sample_size=settings.INTEGRATIONS_ENCODING_SAMPLE_BYTES,
            info=info,
        ):
            if raw is None:
                # A long stretch without rows (blank lines, elements that are not records): the
                # run is alive and reading, so say so (heartbeat and progress), then read on.
                self.heartbeat()
                self.progress(self._position(info) or ordinal, total, _("reading %(s)s") % {"s": source.name})
                continue
            if ordinal == 0 and info.get("encoding_how", "").startswith("content (declared"):
                self.warnings.append(
                    _("%(s)s: the file says %(how)s, but its content is %(enc)s; read as %(enc)s.")
                    % {"s": source.name, "how": info["encoding_how"], "enc": info["encoding"]}
                )
            if ordinal == 0 and info.get("missing_columns"):
                self.warnings.append(
                    _("%(s)s: columns not in the file, left empty: %(cols)s")
                    % {"s": source.name, "cols": ", ".join(info["missing_columns"])}
                )
            ordinal += 1
            if ordinal <= resume_at:
                continue
            yield ordinal, row_number, raw, self._position(info), total

    @staticmethod
    def _position(info: dict[str, Any]) -> int | None:
        raw_position = getattr(getattr(info.get("reader"), "raw", None), "tell", None)
        try:
            return raw_position() if raw_position else None
        except (OSError, ValueError):
            return None

    def _stage_parts(self, source, resume_at: int) -> None:
        buffer: list[StagedPart] = []
        ordinal = resume_at
        for ordinal, row_number, raw, position, total in self._rows(source, resume_at):
            key = (raw.get("key") or raw.get("sku") or "").strip()
            if not key:
                self.error(
                    row=row_number,
                    key="",
                    message=_("%(s)s: a row without a key was ignored.") % {"s": source.name},
                    count=False,
                )
                continue
            data = {k: v for k, v in raw.items() if v not in (None, "", [], {})}
            buffer.append(StagedPart(run=self.run, source=source.name, key=key[:128], data=data))
            if len(buffer) >= self.batch:
                with transaction.atomic():  # rows and cursor together: a resume never doubles rows
                    _bulk_stage(StagedPart, buffer, ["run_id", "source", "key", "data"])
                    self.save_cursor(source=source.name, rows_done=ordinal)
                buffer = []
                self.progress(position or ordinal, total, _("reading %(s)s") % {"s": source.name})
        with transaction.atomic():
            _bulk_stage(StagedPart, buffer, ["run_id", "source", "key", "data"])
            self.save_cursor(source=source.name, rows_done=ordinal)

    def _stage_primary(self, source, joined: list[str], resume_at: int) -> None:
        pending: list[tuple[int, dict[str, Any]]] = []
        ordinal = resume_at
        position, total = None, self._file_size(source.name)
        for ordinal, row_number, raw, position, total in self._rows(source, resume_at):
            pending.append((row_number, raw))
            if len(pending) >= self.batch:
                with transaction.atomic():  # rows, errors and cursor together
                    self._stage_batch(pending, joined)
                    self.flush_errors()
                    self.save_cursor(source=source.name, rows_done=ordinal)
                pending = []
                self.progress(position or ordinal, total, _("reading %(s)s") % {"s": source.name})
        with transaction.atomic():
            if pending:
                self._stage_batch(pending, joined)
            self.flush_errors()
            self.save_cursor(source=source.name, rows_done=ordinal)
        self.progress(total or ordinal, total, _("reading %(s)s") % {"s": source.name})

    def _stage_batch(self, pending: list[tuple[int, dict[str, Any]]], joined: list[str]) -> None:
        if joined:
            keys = {(raw.get("key") or raw.get("sku") or "").strip()[:128] for _n, raw in pending}
            parts: dict[tuple[str, str], dict] = {}
            for part in StagedPart.objects.filter(run=self.run, key__in=keys - {""}).order_by("pk"):
                parts[(part.source, part.key)] = part.data
            for _n, raw in pending:
                key = (raw.get("key") or raw.get("sku") or "").strip()[:128]
                for name in joined:
                    extra = parts.get((name, key))
                    if extra:
                        for k, v in extra.items():
                            if k == "attributes":
                                raw["attributes"] = {**(raw.get("attributes") or {}), **v}
                            elif k != "key":
                                raw[k] = v
        rows: list[StagedRow] = []
        items: list[tuple[int, dict[str, Any]]] = []
        for row_number, raw in pending:
            notes: list[str] = []
            try:
                item = normalise(
                    raw, mode=self.mode, profile=self.profile, rules=self.options.rules, warnings=notes
                )
            except RowError as exc:
                self.error(
                    row=row_number, key=str(raw.get("sku") or raw.get("key") or "")[:128], message=str(exc)
                )
                continue
            for note in notes:  # imported, but the merchant should look at it
                self.row_warning(row=row_number, key=item["sku"], message=note)
            items.append((row_number, item))
        # A SKU twice in one feed: the first row wins, later ones are refused here, while
        # streaming (one indexed query per batch), so a feed of one row repeated a million times
        # never stages more than one copy.
        first_at = dict(
            StagedRow.objects.filter(run=self.run, sku__in={item["sku"] for _n, item in items})
            .order_by("-row_number")
            .values_list("sku", "row_number")
        )
        for row_number, item in items:
            first = first_at.get(item["sku"])
            if first is not None:
                self.error(
                    row=row_number,
                    key=item["sku"],
                    message=_("Duplicate SKU %(sku)s (first at row %(first)d); this row was skipped.")
                    % {"sku": item["sku"], "first": first},
                )
                continue
            first_at[item["sku"]] = row_number
            rows.append(
                StagedRow(
                    run=self.run,
                    row_number=row_number,
                    sku=item["sku"],
                    group_key=item.get("group") or item["sku"],
                    data=item,
                    content_hash=digest(item),
                    stock_hash=stock_digest(item),
                )
            )
        _bulk_stage(
            StagedRow,
            rows,
            ["run_id", "row_number", "sku", "group_key", "data", "content_hash", "stock_hash"],
        )

    def _drop_duplicates(self) -> None:
        """A SKU twice in one feed: the first row wins, the others are logged and dropped."""
        dupes = (
            StagedRow.objects.filter(run=self.run)
            .values("sku")
            .annotate(n=Count("id"), first=Min("row_number"))
            .filter(n__gt=1)
        )
        for d in dupes.iterator():
            extra = list(
                StagedRow.objects.filter(run=self.run, sku=d["sku"])
                .order_by("row_number", "pk")
                .values_list("pk", "row_number")
            )[1:]
            for _pk, row_number in extra:
                self.error(
                    row=row_number,
                    key=d["sku"],
                    message=_("Duplicate SKU %(sku)s (first at row %(first)d); this row was skipped.")
                    % {"sku": d["sku"], "first": d["first"]},
                )
            StagedRow.objects.filter(pk__in=[pk for pk, _n in extra]).delete()
        self.flush_errors()

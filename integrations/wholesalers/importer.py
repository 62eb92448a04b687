"""The feed importer: stage a whole feed, then apply it to the catalog in one transaction.

1. **Stage** (:meth:`FeedImporter.stage`). Secondary files (prices, stock) are streamed into
   ``StagedPart`` rows; the primary file is streamed, each batch joined to its parts by key,
   normalised and checked (:mod:`.normalise`) into ``StagedRow`` rows. Row problems go to the
   run's error log and the row is skipped; a file problem (malformed or truncated XML, wrong
   encoding, too large, a DTD) fails the run here, before the catalog was touched. Staging is
   committed batch by batch with a cursor, so a worker that dies while reading a big feed is
   resumed where it stopped (``integrations.services.run_connector``).
2. **Apply** (:meth:`FeedImporter.apply`). One ``transaction.atomic`` around everything that
   changes the catalog: a failure anywhere rolls it all back, so the shop never shows half a
   feed. Rows are read back in batches ordered by product group (keyset pagination: memory does
   not grow with the feed); a row whose content hash equals the one stored on its
   ``SourceRecord`` is not written. New and changed rows are written with ``bulk_create`` /
   ``bulk_update``; because that bypasses ``catalog.services.save_variant``, this module writes
   the ``PriceHistory`` rows itself with the same rule (a row whenever price or compare-at price
   changes, ``valid_from`` = now), records every stock change as a ``StockMovement`` with reason
   ``import`` and the run as reference, never goes below units reserved for paying shoppers (as
   ``catalog.stock.adjust_stock``), publishes ``stock.changed`` per batch, and finishes each
   batch with ``catalog.services.refresh_products``. Products that vanished from a full feed are
   then hidden, zeroed or kept. A dry run does all of this and rolls it back.
3. **Images** (:meth:`FeedImporter.fetch_images`), after commit: each image URL is downloaded
   once per product, validated and re-encoded by ``catalog.services.add_product_image`` (which
   also deduplicates by checksum); a URL that is not an image is logged, never retried forever.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import socket
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import connection, transaction
from django.db.models import Count, Min, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog import services as catalog_services
from catalog.models import (
    Attribute,
    AttributeValue,
    Category,
    PriceHistory,
    Product,
    StockItem,
    StockMovement,
    StockReservation,
    Variant,
    Warehouse,
)
from catalog.text import normalise_search, slugify_pl
from shop import events

from ..models import ConnectorConfig, ImageRecord, SourceRecord, StagedPart, StagedRow, SyncRun, SyncRunError
from .normalise import RowError, digest, normalise, stock_digest
from .pricing import PriceRules
from .profile import Profile
from .readers import iter_rows

log = logging.getLogger(__name__)

VANISHED_POLICIES = ("hide", "zero", "keep")
PREVIEW_LIMIT = 100
ROW_WARNINGS_IN_SUMMARY = 20  # the rest are in the run's error log


def pairs(data: dict[str, Any], key: str) -> list[tuple[str, str]]:
    """Attribute (name, value) pairs of a staged item, in feed order."""
    value = data.get(key) or []
    return [tuple(p) for p in value] if isinstance(value, list) else list(value.items())


def check_public_url(url: str) -> None:
    """Refuse an image URL whose host resolves into a private, loopback, link-local or reserved
    network: image URLs come from a third party's feed and must not reach the shop's own
    infrastructure (SSRF). ``INTEGRATIONS_IMAGE_ALLOW_PRIVATE_HOSTS`` turns this off (tests)."""
    from ..http import IntegrationHTTPError

    if settings.INTEGRATIONS_IMAGE_ALLOW_PRIVATE_HOSTS:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IntegrationHTTPError(_("Not an http(s) URL."))
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise IntegrationHTTPError(
            _("The host %(host)s cannot be resolved.") % {"host": parts.hostname}
        ) from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise IntegrationHTTPError(
                _("The host %(host)s is in a private network; refused.") % {"host": parts.hostname}
            )


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


def refresh_products_bulk(*, product_ids) -> None:
    """``catalog.services.refresh_products`` for a batch, in one ``UPDATE`` instead of one per
    product: the same rules (``min_price`` = cheapest active variant; ``search_text`` = name,
    brand, category name, every variant's SKU, EAN and name, through
    ``catalog.text.normalise_search``). A test runs the catalog's own function afterwards and
    checks that it changes nothing, so the two cannot drift apart silently."""
    ids = sorted(set(product_ids))
    if not ids:
        return
    min_prices = dict(
        Variant.objects.filter(product_id__in=ids, is_active=True)
        .values("product_id")
        .annotate(m=Min("price"))
        .values_list("product_id", "m")
    )
    codes: dict[int, list[str]] = defaultdict(list)
    for product_id, sku, ean, name in Variant.objects.filter(product_id__in=ids).values_list(
        "product_id", "sku", "ean", "name"
    ):
        codes[product_id] += [sku, ean, name]
    changed = []
    for product in (
        Product.objects.filter(pk__in=ids)
        .select_related("category")
        .only("pk", "name", "brand", "category__name", "search_text", "min_price")
    ):
        text = normalise_search(
            " ".join(
                [
                    product.name,
                    product.brand,
                    product.category.name if product.category else "",
                    *codes[product.pk],
                ]
            )
        )
        price = min_prices.get(product.pk)
        if product.search_text != text or product.min_price != price:
            product.search_text, product.min_price = text, price
            changed.append(product)
    if changed:
        Product.objects.bulk_update(changed, ["search_text", "min_price"])


class RunAborted(Exception):
    """The run cannot complete; the message is for the merchant. Nothing was applied."""


class _DryRunRollback(Exception):
    pass


@dataclass
class ImportOptions:
    warehouse_code: str
    rules: PriceRules
    category_root: str = ""
    category_map: dict[str, str] = field(default_factory=dict)
    vanished_policy: str = "hide"
    max_vanish_percent: Decimal = Decimal(50)
    publish_new: bool = False
    adopt_existing: bool = True
    download_images: bool = True
    batch_size: int = 1000

    @classmethod
    def from_options(cls, options: dict[str, Any], *, config: ConnectorConfig) -> ImportOptions:
        return cls(
            warehouse_code=options.get("warehouse_code") or f"hurtownia-{config.pk}",
            rules=PriceRules.from_options(options),
            category_root=options.get("category_root") or "",
            category_map=dict(options.get("category_map") or {}),
            vanished_policy=options.get("vanished_policy") or "hide",
            max_vanish_percent=Decimal(str(options.get("max_vanish_percent") or 50)),
            publish_new=bool(options.get("publish_new")),
            adopt_existing=options.get("adopt_existing", True) is not False,
            download_images=options.get("download_images", True) is not False,
            batch_size=int(options.get("batch_size") or settings.INTEGRATIONS_BATCH_SIZE),
        )


class FeedImporter:
    def __init__(
        self,
        *,
        config: ConnectorConfig,
        run: SyncRun,
        profile: Profile,
        options: ImportOptions,
        direction: str,
        files: dict[str, str],
        progress: Callable[[int, int | None, str], None] | None = None,
        client=None,
    ):
        self.config = config
        self.store = config.store
        self.run = run
        self.profile = profile
        self.options = options
        self.direction = direction
        self.mode = "stock" if direction == "stock" else "full"
        self.files = files
        self.progress = progress or (lambda done, total, label: None)
        self.client = client
        self.batch = max(1, options.batch_size)
        self.counts: dict[str, int] = defaultdict(int)
        self.preview: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self._errors: list[SyncRunError] = []
        self._error_total = 0
        self._categories: dict[tuple[str, ...], Category | None] = {}
        self._attributes: dict[str, Attribute] = {}
        self._values: dict[tuple[int, str], AttributeValue] = {}
        self._warehouse: Warehouse | None = None
        if run.cursor.get("failed"):  # resumed: rows already logged as failed still count
            self.counts["failed"] = int(run.cursor["failed"])

    # --- errors and bookkeeping --------------------------------------------------------------

    def error(self, *, row: int | None, key: str, message: str, count: bool = True) -> None:
        if count:
            self.counts["failed"] += 1
        self._error_total += 1
        if self._error_total <= settings.INTEGRATIONS_MAX_ERRORS_PER_RUN:
            self._errors.append(SyncRunError(run=self.run, row_number=row, key=key[:128], message=message))
        if len(self._errors) >= 500:
            self.flush_errors()

    def row_warning(self, *, row: int | None, key: str, message: str) -> None:
        """A row that was imported with a change the merchant should know about: logged with its
        row in the run's error log (not counted as failed) and counted in ``summary.warnings``."""
        self.counts["row_warnings"] += 1
        self.error(row=row, key=key, message=_("Warning: %(message)s") % {"message": message}, count=False)
        if self.counts["row_warnings"] <= ROW_WARNINGS_IN_SUMMARY:
            self.warnings.append(
                _("Row %(row)s (%(sku)s): %(message)s") % {"row": row, "sku": key, "message": message}
            )

    def flush_errors(self) -> None:
        if self._errors:
            SyncRunError.objects.bulk_create(self._errors)
            self._errors = []

    def save_cursor(self, **cursor) -> None:
        """Remember where the run is (committed at once, outside the apply transaction), so a run
        whose worker died resumes there; doubles as the lock's heartbeat."""
        self.run.cursor = {**self.run.cursor, **cursor, "failed": self.counts["failed"]}
        self.run.heartbeat_at = timezone.now()
        phase = {"staging": SyncRun.Phase.STAGING, "staged": SyncRun.Phase.STAGING}.get(
            self.run.cursor.get("phase"), self.run.cursor.get("phase")
        )
        if phase in SyncRun.Phase.values:
            self.run.phase = phase
        SyncRun.objects.filter(pk=self.run.pk).update(
            cursor=self.run.cursor, heartbeat_at=self.run.heartbeat_at, phase=self.run.phase
        )

    # --- 1. staging --------------------------------------------------------------------------

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

    def heartbeat(self) -> None:
        """Move the run's heartbeat (the lock stays ours) without touching the cursor."""
        self.run.heartbeat_at = timezone.now()
        SyncRun.objects.filter(pk=self.run.pk).update(heartbeat_at=self.run.heartbeat_at)

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

    # --- 2. applying -------------------------------------------------------------------------

    def apply(self, *, dry_run: bool = False) -> None:
        self.save_cursor(phase="applying")
        self.flush_errors()
        apply_errors_start = 0
        try:
            with transaction.atomic():
                if self.mode == "full":
                    self._apply_full()
                    self._apply_vanished()
                else:
                    self._apply_stock()
                if dry_run:
                    raise _DryRunRollback
        except _DryRunRollback:
            pass
        except Exception:
            del self._errors[apply_errors_start:]
            raise
        self.flush_errors()

    def _batches(self, order: tuple[str, str]):
        """Staged rows in (group_key, sku) or (sku, sku) order, batch by batch, never splitting
        a product group across batches (keyset pagination: constant memory)."""
        first, second = order
        base = StagedRow.objects.filter(run=self.run).order_by(first, second, "pk")
        last: tuple[str, str] | None = None
        while True:
            qs = base
            if last is not None:
                qs = qs.filter(
                    Q(**{f"{first}__gt": last[0]}) | Q(**{first: last[0], f"{second}__gt": last[1]})
                )
            rows = list(qs[: self.batch])
            if not rows:
                return
            if first == "group_key" and len(rows) == self.batch:
                tail = rows[-1]
                rows += list(base.filter(group_key=tail.group_key, sku__gt=tail.sku))
            last = (getattr(rows[-1], first), getattr(rows[-1], second))
            yield rows

    def _apply_full(self) -> None:
        done = 0
        total = StagedRow.objects.filter(run=self.run).count()
        for rows in self._batches(("group_key", "sku")):
            self._apply_full_batch(rows)
            done += len(rows)
            self.progress(done, total, _("applying"))

    def _preview(self, sku: str, action: str, changes: dict[str, Any] | None = None) -> None:
        if len(self.preview) < PREVIEW_LIMIT:
            self.preview.append({"sku": sku, "action": action, "changes": changes or {}})

    def warehouse(self) -> Warehouse:
        if self._warehouse is None:
            self._warehouse, _created = Warehouse.objects.get_or_create(
                store=self.store,
                code=self.options.warehouse_code[:40],
                defaults={"name": self.config.name[:120], "priority": 100},
            )
        return self._warehouse

    def category(self, parts: list[str]) -> Category | None:
        key = tuple(parts)
        if key in self._categories:
            return self._categories[key]
        mapped = self.options.category_map.get(" / ".join(parts)) or self.options.category_map.get(
            self.profile.category_separator.join(parts)
        )
        result: Category | None = None
        if mapped:
            result = Category.objects.filter(store=self.store, slug=mapped).first()
            if result is None:
                self.warnings.append(
                    _("Category mapping points at a missing category %(s)s.") % {"s": mapped}
                )
        if result is None and parts:
            parent = self._root_category()
            for i, name in enumerate(parts):
                sub_key = ("\x00path", *tuple(parts[: i + 1]))
                node = self._categories.get(sub_key)
                if node is None:
                    node = Category.objects.filter(store=self.store, parent=parent, name=name).first()
                    if node is None:
                        node = catalog_services.save_category(
                            category=Category(store=self.store, parent=parent, name=name, is_published=True)
                        )
                        self.counts["categories_created"] += 1
                    self._categories[sub_key] = node
                parent = node
            result = parent
        self._categories[key] = result
        return result

    def _root_category(self) -> Category | None:
        if not self.options.category_root:
            return None
        key = ("\x00root",)
        if key not in self._categories:
            root = Category.objects.filter(
                Q(slug=self.options.category_root) | Q(name=self.options.category_root, parent__isnull=True),
                store=self.store,
            ).first()
            if root is None:
                root = catalog_services.save_category(
                    category=Category(store=self.store, name=self.options.category_root, is_published=True)
                )
            self._categories[key] = root
        return self._categories[key]

    def attribute_value(self, name: str, value: str) -> AttributeValue:
        attribute = self._attributes.get(name)
        if attribute is None:
            slug = slugify_pl(name, max_length=80) or "cecha"
            attribute, _c = Attribute.objects.get_or_create(
                store=self.store, slug=slug, defaults={"name": name[:80]}
            )
            self._attributes[name] = attribute
        vkey = (attribute.pk, value)
        found = self._values.get(vkey)
        if found is None:
            vslug = slugify_pl(value, max_length=80) or hashlib.sha1(value.encode()).hexdigest()[:12]  # noqa: S324
            found, _c = AttributeValue.objects.get_or_create(
                attribute=attribute, slug=vslug, defaults={"value": value[:80]}
            )
            self._values[vkey] = found
        return found

    def _slugs(self, products: list[tuple[Product, str]]) -> None:
        """Give new products unique slugs with two queries per batch (not one per product)."""
        wanted = {}
        for product, group in products:
            base = slugify_pl(product.name, max_length=200) or "produkt"
            wanted[id(product)] = [base, f"{base}-{slugify_pl(group, max_length=18)}".strip("-")]
        candidates = {c for opts in wanted.values() for c in opts}
        taken = set(
            Product.objects.filter(store=self.store, slug__in=candidates).values_list("slug", flat=True)
        )
        for product, _group in products:
            for candidate in wanted[id(product)]:
                if candidate and candidate not in taken:
                    product.slug = candidate
                    break
            else:
                base = wanted[id(product)][0]
                product.slug = catalog_services.unique_slug(model=Product, store=self.store, text=base)
                n = 2
                while product.slug in taken:
                    product.slug = f"{base[:200]}-x{n}"
                    n += 1
            taken.add(product.slug)

    def _apply_full_batch(self, rows: list[StagedRow]) -> None:
        now = timezone.now()
        skus = [r.sku for r in rows]
        records = {r.sku: r for r in SourceRecord.objects.filter(config=self.config, sku__in=skus)}
        # Unchanged rows are decided from the records alone: the common case costs two queries
        # per batch (this one and the update of last_seen_run), whatever the batch size.
        same = {
            r.sku
            for r in rows
            if r.sku in records
            and records[r.sku].content_hash == r.content_hash
            and records[r.sku].vanished_at is None
        }
        rest = [sku for sku in skus if sku not in same]
        variants = (
            {
                v.sku: v
                for v in Variant.objects.filter(store=self.store, sku__in=rest).select_related("product")
            }
            if rest
            else {}
        )
        foreign = (
            set(
                SourceRecord.objects.filter(variant__store=self.store, sku__in=rest)
                .exclude(config=self.config)
                .values_list("sku", flat=True)
            )
            if rest
            else set()
        )
        groups: dict[str, list[StagedRow]] = defaultdict(list)
        for r in rows:
            groups[r.group_key].append(r)

        unchanged_ids: list[int] = []
        new_products: list[tuple[Product, str]] = []
        changed_products: dict[int, Product] = {}
        plans: list[tuple[StagedRow, Product, Variant | None, SourceRecord | None]] = []
        for group_key, group_rows in groups.items():
            todo = []
            for r in group_rows:
                rec = records.get(r.sku)
                if r.sku in same:
                    unchanged_ids.append(rec.pk)
                    self.counts["unchanged"] += 1
                    continue
                variant = variants.get(r.sku)
                if r.sku in foreign:
                    self.error(
                        row=r.row_number,
                        key=r.sku,
                        message=_("SKU %(sku)s is imported by another connector.") % {"sku": r.sku},
                    )
                    continue
                if rec is not None and variant is not None and rec.variant_id == variant.pk:
                    if rec.content_hash == r.content_hash and rec.vanished_at is None:
                        unchanged_ids.append(rec.pk)
                        self.counts["unchanged"] += 1
                        continue
                elif variant is not None and not self.options.adopt_existing:
                    self.error(
                        row=r.row_number,
                        key=r.sku,
                        message=_(
                            "SKU %(sku)s already exists in the shop and adopting existing products is off."
                        )
                        % {"sku": r.sku},
                    )
                    continue
                todo.append((r, rec, variant))
            if not todo:
                continue
            # Attribute sets must agree within a product: every variant one value of each.
            names = set().union(*({k for k, _v in pairs(r.data, "attributes")} for r, _rec, _v in todo))
            valid = []
            for r, rec, variant in todo:
                missing = names - {k for k, _v in pairs(r.data, "attributes")}
                if missing:
                    self.error(
                        row=r.row_number,
                        key=r.sku,
                        message=_(
                            "The variant has no value for %(names)s, which other variants of its product have."
                        )
                        % {"names": ", ".join(sorted(missing))},
                    )
                else:
                    valid.append((r, rec, variant))
            todo = valid
            if not todo:
                continue
            product = next((v.product for _r, _rec, v in todo if v is not None), None)
            if product is None:
                for r in group_rows:
                    existing = variants.get(r.sku)
                    if existing is not None:
                        product = existing.product
                        break
                    if r.sku in same:  # a sibling variant that did not change
                        product = Product.objects.get(pk=records[r.sku].product_id)
                        break
            first = todo[0][0].data
            category = self.category(first.get("category") or [])
            if product is None:
                product = Product(
                    store=self.store,
                    name=first["name"],
                    description=first.get("description", ""),
                    brand=first.get("brand", ""),
                    category=category,
                    vat_rate=first["vat"],
                    is_published=self.options.publish_new,
                    published_at=now if self.options.publish_new else None,
                )
                new_products.append((product, group_key))
            else:
                changes = {}
                for attr, value in (
                    ("name", first["name"]),
                    ("description", first.get("description", "")),
                    ("brand", first.get("brand", "")),
                    ("vat_rate", first["vat"]),
                ):
                    if getattr(product, attr) != value:
                        changes[attr] = [getattr(product, attr), value]
                        setattr(product, attr, value)
                if category is not None and product.category_id != category.pk:
                    changes["category"] = [product.category_id, category.pk]
                    product.category = category
                if (
                    any(rec is not None and rec.vanished_at for _r, rec, _v in todo)
                    and not product.is_published
                ) and self.options.publish_new:
                    product.is_published = True
                    changes["is_published"] = [False, True]
                if changes:
                    changed_products[product.pk] = product
            plans += [(r, product, variant, rec) for r, rec, variant in todo]

        fresh: set[int] = set()
        if new_products:
            self._slugs(new_products)
            self._denormalise_new(new_products, plans)
            Product.objects.bulk_create([p for p, _g in new_products])
            fresh = {p.pk for p, _g in new_products}
        if changed_products:
            Product.objects.bulk_update(
                list(changed_products.values()),
                ["name", "description", "brand", "vat_rate", "category", "is_published", "updated_at"],
            )
        if unchanged_ids:
            SourceRecord.objects.filter(pk__in=unchanged_ids).update(last_seen_run=self.run)
        if not plans:
            return
        self._write_variants(plans, now, fresh)

    def _denormalise_new(self, new_products, plans) -> None:
        """``min_price`` and ``search_text`` of brand-new products, computed from their rows before
        they are inserted (exactly what ``refresh_products`` would store afterwards: variants in
        creation order, cheapest active price), so a first import never updates them again."""
        rows_of: dict[int, list[StagedRow]] = defaultdict(list)
        for r, product, _variant, _rec in plans:
            rows_of[id(product)].append(r)
        for product, _group in new_products:
            codes: list[str] = []
            prices = []
            for r in rows_of[id(product)]:
                d = r.data
                codes += [r.sku, d.get("ean", ""), " / ".join(v for _k, v in pairs(d, "attributes"))[:200]]
                if d.get("active", True):
                    prices.append(Decimal(d["price"]))
            product.search_text = normalise_search(
                " ".join(
                    [product.name, product.brand, product.category.name if product.category else "", *codes]
                )
            )
            product.min_price = min(prices) if prices else None

    def _write_variants(self, plans, now, fresh: set[int] = frozenset()) -> None:
        new_variants: list[Variant] = []
        changed_variants: list[Variant] = []
        history: list[PriceHistory] = []
        attr_links: dict[int, list[AttributeValue]] = {}
        relink: list[Variant] = []
        product_attrs: dict[int, set[int]] = defaultdict(set)
        stock_targets: list[tuple[StagedRow, Variant]] = []
        record_rows: list[tuple[StagedRow, Variant, SourceRecord | None]] = []
        for r, product, variant, rec in plans:
            d = r.data
            attributes = pairs(d, "attributes")
            values = [self.attribute_value(k, v) for k, v in attributes]
            values += [
                self.attribute_value(k, v)
                for k, v in pairs(d, "parameters")
                if k not in {name for name, _v in attributes}
            ]
            for v in values:
                product_attrs[product.pk].add(v.attribute_id)
            name = " / ".join(v for _k, v in attributes)[:200]
            price = Decimal(d["price"])
            compare_at = Decimal(d["compare_at"]) if d.get("compare_at") else None
            cost = Decimal(d["cost_net"]) if d.get("cost_net") else None
            if variant is None:
                variant = Variant(
                    store=self.store,
                    product=product,
                    sku=r.sku,
                    ean=d.get("ean", ""),
                    name=name,
                    price=price,
                    compare_at_price=compare_at,
                    cost_price=cost,
                    weight_grams=d.get("weight", 0),
                    is_active=d.get("active", True),
                )
                new_variants.append(variant)
                self.counts["created"] += 1
                self._preview(r.sku, "create", {"price": str(price), "stock": d.get("stock")})
            else:
                changes = {}
                if variant.product_id != product.pk:
                    variant.product = product
                    changes["product"] = [None, product.pk]
                for attr, value in (
                    ("ean", d.get("ean", "")),
                    ("name", name),
                    ("price", price),
                    ("compare_at_price", compare_at),
                    ("cost_price", cost),
                    ("weight_grams", d.get("weight", 0)),
                    ("is_active", d.get("active", True)),
                ):
                    if getattr(variant, attr) != value:
                        changes[attr] = [str(getattr(variant, attr)), str(value)]
                        setattr(variant, attr, value)
                if "price" in changes or "compare_at_price" in changes:
                    history.append(
                        PriceHistory(
                            variant=variant, price=price, compare_at_price=compare_at, valid_from=now
                        )
                    )
                changed_variants.append(variant)
                relink.append(variant)
                self.counts["updated"] += 1
                self._preview(r.sku, "update", changes)
            attr_links[id(variant)] = values
            stock_targets.append((r, variant))
            record_rows.append((r, variant, rec))
        if new_variants:
            Variant.objects.bulk_create(new_variants)
            history += [
                PriceHistory(variant=v, price=v.price, compare_at_price=v.compare_at_price, valid_from=now)
                for v in new_variants
            ]
        if changed_variants:
            Variant.objects.bulk_update(
                changed_variants,
                [
                    "product",
                    "ean",
                    "name",
                    "price",
                    "compare_at_price",
                    "cost_price",
                    "weight_grams",
                    "is_active",
                    "updated_at",
                ],
            )
        if history:
            PriceHistory.objects.bulk_create(history)
        # Attribute links: product's variant attributes and each variant's values.
        through_pa = Product.variant_attributes.through
        through_pa.objects.bulk_create(
            [through_pa(product_id=p, attribute_id=a) for p, attrs in product_attrs.items() for a in attrs],
            ignore_conflicts=True,
        )
        through_va = Variant.attribute_values.through
        if relink:
            through_va.objects.filter(variant_id__in=[v.pk for v in relink]).delete()
        through_va.objects.bulk_create(
            [
                through_va(variant_id=v.pk, attributevalue_id=val.pk)
                for v in new_variants + changed_variants
                for val in {x.pk: x for x in attr_links[id(v)]}.values()
            ],
            ignore_conflicts=True,
        )
        self._set_stock([(r.data.get("stock"), r, v) for r, v in stock_targets])
        self._save_records(record_rows)
        refresh_products_bulk(product_ids={v.product_id for _r, v, _rec in record_rows} - fresh)

    def _set_stock(self, targets: list[tuple[int | None, StagedRow, Variant]]) -> None:
        """Set on-hand numbers in the connector's warehouse, as ``adjust_stock(set_to=...)`` would:
        one movement per change, never below units reserved for shoppers who are paying."""
        targets = [(q, r, v) for q, r, v in targets if q is not None and v.track_stock]
        if not targets:
            return
        warehouse = self.warehouse()
        variant_ids = [v.pk for _q, _r, v in targets]
        items = {
            i.variant_id: i
            for i in StockItem.objects.select_for_update()
            .filter(warehouse=warehouse, variant_id__in=variant_ids)
            .order_by("pk")
        }
        held = (
            {
                row["stock_item_id"]: row["n"]
                for row in StockReservation.objects.filter(
                    stock_item__in=list(items.values()), expires_at__gt=timezone.now()
                )
                .values("stock_item_id")
                .annotate(n=Sum("quantity"))
            }
            if items
            else {}
        )
        new_items: list[StockItem] = []
        changed: list[StockItem] = []
        moves: list[tuple[StockItem, int]] = []
        reference = f"sync:{self.run.pk}"
        for quantity, r, variant in targets:
            item = items.get(variant.pk)
            if item is None:
                item = StockItem(variant=variant, warehouse=warehouse, quantity=quantity)
                new_items.append(item)
                items[variant.pk] = item
                if quantity:
                    moves.append((item, quantity))
                continue
            target = quantity
            reserved = held.get(item.pk, 0)
            if target < reserved:
                self.error(
                    row=r.row_number,
                    key=r.sku,
                    message=_("Stock kept at %(held)d (units reserved for paying shoppers), not %(n)d.")
                    % {"held": reserved, "n": quantity},
                    count=False,
                )
                target = reserved
            if target != item.quantity:
                moves.append((item, target - item.quantity))
                item.quantity = target
                changed.append(item)
        if new_items:
            StockItem.objects.bulk_create(new_items)
        if changed:
            StockItem.objects.bulk_update(changed, ["quantity"])
        if moves:
            StockMovement.objects.bulk_create(
                [
                    StockMovement(
                        stock_item=item,
                        delta=delta,
                        quantity_after=item.quantity,
                        reason=StockMovement.Reason.IMPORT,
                        reference=reference,
                        note=self.config.name[:255],
                    )
                    for item, delta in moves
                ]
            )
            events.publish(
                type="stock.changed",
                payload={"variant_ids": sorted({item.variant_id for item, _d in moves})},
                store=self.store,
            )

    def _save_records(self, record_rows) -> None:
        new, changed = [], []
        for r, variant, rec in record_rows:
            d = r.data
            cost = Decimal(d["cost_net"]) if d.get("cost_net") else None
            if rec is None:
                new.append(
                    SourceRecord(
                        config=self.config,
                        sku=r.sku,
                        group_key=r.group_key,
                        supplier_code=d.get("supplier_code", r.sku),
                        variant=variant,
                        product_id=variant.product_id,
                        content_hash=r.content_hash,
                        stock_hash=r.stock_hash,
                        cost_price=cost,
                        last_seen_run=self.run,
                    )
                )
            else:
                rec.group_key = r.group_key
                rec.supplier_code = d.get("supplier_code", r.sku)
                rec.variant = variant
                rec.product_id = variant.product_id
                rec.content_hash = r.content_hash
                rec.stock_hash = r.stock_hash
                rec.cost_price = cost
                rec.last_seen_run = self.run
                rec.vanished_at = None
                changed.append(rec)
        if new:
            SourceRecord.objects.bulk_create(new)
        if changed:
            SourceRecord.objects.bulk_update(
                changed,
                [
                    "group_key",
                    "supplier_code",
                    "variant",
                    "product",
                    "content_hash",
                    "stock_hash",
                    "cost_price",
                    "last_seen_run",
                    "vanished_at",
                    "updated_at",
                ],
            )

    def _apply_vanished(self) -> None:
        live = SourceRecord.objects.filter(config=self.config, vanished_at__isnull=True)
        gone = live.exclude(last_seen_run=self.run)
        total, n = live.count(), gone.count()
        if not n:
            return
        policy = self.options.vanished_policy
        if policy != "keep" and total and Decimal(n * 100) / total > self.options.max_vanish_percent:
            raise RunAborted(
                _(
                    "%(n)d of %(total)d imported variants are missing from the feed (more than %(max)s%%): "
                    "the feed looks incomplete, so nothing was changed. Raise the limit if this is intended."
                )
                % {"n": n, "total": total, "max": self.options.max_vanish_percent}
            )
        now = timezone.now()
        while True:
            batch = list(gone.select_related("variant")[: self.batch])
            if not batch:
                break
            variants = [rec.variant for rec in batch]
            for rec in batch[: PREVIEW_LIMIT - len(self.preview)]:
                self._preview(rec.sku, "vanish", {"policy": policy})
            if policy == "hide":
                Variant.objects.filter(pk__in=[v.pk for v in variants]).update(
                    is_active=False, updated_at=now
                )
                product_ids = {v.product_id for v in variants}
                still_active = set(
                    Variant.objects.filter(product_id__in=product_ids, is_active=True).values_list(
                        "product_id", flat=True
                    )
                )
                Product.objects.filter(pk__in=product_ids - still_active).update(is_published=False)
                refresh_products_bulk(product_ids=product_ids)
            elif policy == "zero":
                self._set_stock([(0, StagedRow(row_number=0, sku=v.sku), v) for v in variants])
            SourceRecord.objects.filter(pk__in=[rec.pk for rec in batch]).update(vanished_at=now)
            self.counts["vanished"] += len(batch)

    def _apply_stock(self) -> None:
        done = 0
        total = StagedRow.objects.filter(run=self.run).count()
        now = timezone.now()
        for rows in self._batches(("sku", "sku")):
            records = {
                r.sku: r
                for r in SourceRecord.objects.filter(
                    config=self.config, sku__in=[x.sku for x in rows]
                ).select_related("variant")
            }
            changed_variants, history, stock, touched, recs, unchanged = [], [], [], [], [], []
            for r in rows:
                rec = records.get(r.sku)
                if rec is None:
                    self.counts["skipped"] += 1
                    continue
                if rec.stock_hash == r.stock_hash:
                    unchanged.append(rec.pk)
                    self.counts["unchanged"] += 1
                    continue
                d, variant = r.data, rec.variant
                changes = {}
                if d.get("price"):
                    price = Decimal(d["price"])
                    compare_at = Decimal(d["compare_at"]) if d.get("compare_at") else None
                    if (
                        compare_at is None
                        and variant.compare_at_price is not None
                        and variant.compare_at_price > price
                    ):
                        compare_at = (
                            variant.compare_at_price
                        )  # a stock file without "before" prices keeps them
                    if (variant.price, variant.compare_at_price) != (price, compare_at):
                        changes["price"] = [str(variant.price), str(price)]
                        variant.price, variant.compare_at_price = price, compare_at
                        history.append(
                            PriceHistory(
                                variant=variant, price=price, compare_at_price=compare_at, valid_from=now
                            )
                        )
                if d.get("cost_net"):
                    variant.cost_price = Decimal(d["cost_net"])
                    rec.cost_price = variant.cost_price
                if changes or d.get("cost_net"):
                    changed_variants.append(variant)
                if d.get("stock") is not None:
                    stock.append((d["stock"], r, variant))
                    changes["stock"] = d["stock"]
                rec.stock_hash = r.stock_hash
                rec.last_seen_run = self.run
                recs.append(rec)
                touched.append(variant.product_id)
                self.counts["updated"] += 1
                self._preview(r.sku, "update", changes)
            if changed_variants:
                Variant.objects.bulk_update(
                    changed_variants, ["price", "compare_at_price", "cost_price", "updated_at"]
                )
            if history:
                PriceHistory.objects.bulk_create(history)
            self._set_stock(stock)
            if recs:
                SourceRecord.objects.bulk_update(
                    recs, ["stock_hash", "cost_price", "last_seen_run", "updated_at"]
                )
            if unchanged:
                SourceRecord.objects.filter(pk__in=unchanged).update(last_seen_run=self.run)
            if touched:
                refresh_products_bulk(product_ids=touched)
            done += len(rows)
            self.progress(done, total, _("applying"))

    # --- 3. images ---------------------------------------------------------------------------

    def fetch_images(self) -> None:
        if self.mode != "full" or not self.options.download_images or self.client is None:
            return
        self.save_cursor(phase="images")
        after = self.run.cursor.get("images_after", "")
        limit = settings.MAX_IMAGE_UPLOAD_BYTES
        seen_groups: set[str] = set()
        qs = StagedRow.objects.filter(run=self.run, group_key__gt=after).order_by("group_key", "sku")
        last_group = after
        with tempfile.TemporaryDirectory(prefix="koszyk-img-") as tmp:
            for r in qs.iterator(chunk_size=self.batch):
                if r.group_key in seen_groups or not r.data.get("images"):
                    continue
                seen_groups.add(r.group_key)
                rec = (
                    SourceRecord.objects.filter(config=self.config, sku=r.sku)
                    .select_related("product")
                    .first()
                )
                if rec is None:
                    continue
                for position, url in enumerate(r.data["images"], start=1):
                    self._fetch_image(rec.product, url, position, r, Path(tmp), limit)
                if r.group_key != last_group:
                    last_group = r.group_key
                    if len(seen_groups) % 50 == 0:
                        self.flush_errors()
                        self.save_cursor(images_after=last_group)
        self.flush_errors()

    def _fetch_image(
        self, product: Product, url: str, position: int, row: StagedRow, tmp: Path, limit: int
    ) -> None:
        from ..http import IntegrationHTTPError

        url_hash = hashlib.sha256(url.encode()).hexdigest()
        record = ImageRecord.objects.filter(config=self.config, product=product, url_hash=url_hash).first()
        if record is not None and (record.status == ImageRecord.Status.DONE or record.attempts >= 3):
            return
        dest = tmp / f"{url_hash}.img"
        try:
            check_public_url(url)
            self.client.download(url, dest, max_bytes=limit)
            with open(dest, "rb") as fh:
                image = catalog_services.add_product_image(
                    product=product,
                    upload=File(fh, name=url.rsplit("/", 1)[-1][:100] or "image"),
                    alt=product.name,
                    position=position,
                )
        except (IntegrationHTTPError, ValidationError, OSError) as exc:
            message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            self.error(
                row=row.row_number,
                key=row.sku,
                message=_("Image %(url)s: %(error)s") % {"url": url[:200], "error": message},
                count=False,
            )
            self.counts["images_failed"] += 1
            if record is None:
                ImageRecord.objects.create(
                    config=self.config,
                    product=product,
                    url=url,
                    url_hash=url_hash,
                    status=ImageRecord.Status.FAILED,
                    error=message[:255],
                )
            else:
                ImageRecord.objects.filter(pk=record.pk).update(
                    attempts=record.attempts + 1, error=message[:255]
                )
            return
        finally:
            dest.unlink(missing_ok=True)
        self.counts["images"] += 1
        ImageRecord.objects.update_or_create(
            config=self.config,
            product=product,
            url_hash=url_hash,
            defaults={
                "url": url,
                "image": image,
                "checksum": image.checksum,
                "status": ImageRecord.Status.DONE,
                "error": "",
            },
        )

    def cleanup(self) -> None:
        StagedRow.objects.filter(run=self.run).delete()
        StagedPart.objects.filter(run=self.run).delete()

"""Step 2 of a feed run: apply the staged feed to the catalog in one transaction.

A failure anywhere rolls it all back, so the shop never shows half a feed; a dry run does all of
it and rolls it back. Staged rows are read back in batches ordered by product group (keyset
pagination: memory does not grow with the feed); a row whose content hash equals the one stored
on its ``SourceRecord`` is not written. This module decides what changes (which products and
variants are new, changed or unchanged; which SKUs another connector owns; which products
vanished from a full feed and are then hidden, zeroed or kept); the writes go through
``catalog.bulk`` (one statement per batch, with the catalog's rules: price history, stock never
below what paying shoppers hold, ``min_price``/``search_text``), and the ``SourceRecord`` rows that
remember each SKU's source are written here."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import bulk as catalog_bulk
from catalog import pagecache
from catalog.models import AttributeValue, Product, StockMovement, Variant

from ...models import SourceRecord, StagedRow
from .run import PREVIEW_LIMIT, RunAborted


def pairs(data: dict[str, Any], key: str) -> list[tuple[str, str]]:
    """Attribute (name, value) pairs of a staged item, in feed order."""
    value = data.get(key) or []
    return [tuple(p) for p in value] if isinstance(value, list) else list(value.items())


class _DryRunRollback(Exception):
    pass


class Applying:
    """Writing the staged rows to the catalog (a step of :class:`FeedImporter`)."""

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
        if not dry_run:
            # Bulk writes fire no model signals: the shop's cached pages go stale unless told.
            pagecache.bump(self.store.pk)
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
            manufacturer = self.manufacturer(first.get("manufacturer"))
            if product is None:
                product = Product(
                    store=self.store,
                    name=first["name"],
                    description=first.get("description", ""),
                    brand=first.get("brand", ""),
                    manufacturer=manufacturer,
                    safety_information=first.get("safety_information", ""),
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
                # GPSR data fills what the product lacks; the merchant's own choice stays.
                if manufacturer is not None and product.manufacturer_id is None:
                    changes["manufacturer"] = [None, manufacturer.pk]
                    product.manufacturer = manufacturer
                if first.get("safety_information") and not product.safety_information:
                    changes["safety_information"] = ["", "…"]
                    product.safety_information = first["safety_information"]
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
            catalog_bulk.assign_slugs(store=self.store, products=new_products)
            self._denormalise_new(new_products, plans)
            Product.objects.bulk_create([p for p, _g in new_products])
            fresh = {p.pk for p, _g in new_products}
        if changed_products:
            Product.objects.bulk_update(
                list(changed_products.values()),
                [
                    "name",
                    "description",
                    "brand",
                    "vat_rate",
                    "category",
                    "is_published",
                    "manufacturer",
                    "safety_information",
                    "updated_at",
                ],
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
            product.search_text = catalog_bulk.search_text(
                name=product.name,
                brand=product.brand,
                category_name=product.category.name if product.category else "",
                codes=codes,
            )
            product.min_price = min(prices) if prices else None

    def _write_variants(self, plans, now, fresh: set[int] = frozenset()) -> None:
        new_variants: list[Variant] = []
        changed_variants: list[Variant] = []
        old_prices: dict[int, tuple[Decimal, Decimal | None]] = {}
        attr_links: dict[int, list[AttributeValue]] = {}
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
                old_prices[variant.pk] = (variant.price, variant.compare_at_price)
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
                changed_variants.append(variant)
                self.counts["updated"] += 1
                self._preview(r.sku, "update", changes)
            attr_links[id(variant)] = values
            stock_targets.append((r, variant))
            record_rows.append((r, variant, rec))
        catalog_bulk.save_variants(
            created=new_variants,
            updated=changed_variants,
            fields=[
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
            old_prices=old_prices,
            at=now,
        )
        # An updated variant's values replace the ones it had.
        catalog_bulk.link_attributes(
            product_attributes=product_attrs,
            variant_values=[(v, attr_links[id(v)]) for v in new_variants + changed_variants],
            replace=changed_variants,
        )
        self._set_stock([(r.data.get("stock"), r, v) for r, v in stock_targets])
        self._save_records(record_rows)
        catalog_bulk.refresh_products_bulk(product_ids={v.product_id for _r, v, _rec in record_rows} - fresh)

    def _set_stock(self, targets: list[tuple[int | None, StagedRow, Variant]]) -> None:
        """Set on-hand numbers in the connector's warehouse (``catalog.bulk.set_stock``: one
        movement per change, never below units reserved for shoppers who are paying); a row whose
        number was raised to what is reserved is noted in the run's error log."""
        targets = [(q, r, v) for q, r, v in targets if q is not None and v.track_stock]
        if not targets:
            return
        kept = catalog_bulk.set_stock(
            warehouse=self.warehouse(),
            targets=[(v, q) for q, _r, v in targets],
            reason=StockMovement.Reason.IMPORT,
            reference=f"sync:{self.run.pk}",
            note=self.config.name[:255],
            store=self.store,
        )
        for index, reserved in kept:
            quantity, r, _v = targets[index]
            self.error(
                row=r.row_number,
                key=r.sku,
                message=_("Stock kept at %(held)d (units reserved for paying shoppers), not %(n)d.")
                % {"held": reserved, "n": quantity},
                count=False,
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
                catalog_bulk.hide_variants(variants=variants, at=now)
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
            changed_variants, stock, touched, recs, unchanged = [], [], [], [], []
            old_prices: dict[int, tuple[Decimal, Decimal | None]] = {}
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
                old_prices[variant.pk] = (variant.price, variant.compare_at_price)
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
            catalog_bulk.save_variants(
                created=[],
                updated=changed_variants,
                fields=["price", "compare_at_price", "cost_price", "updated_at"],
                old_prices=old_prices,
                at=now,
            )
            self._set_stock(stock)
            if recs:
                SourceRecord.objects.bulk_update(
                    recs, ["stock_hash", "cost_price", "last_seen_run", "updated_at"]
                )
            if unchanged:
                SourceRecord.objects.filter(pk__in=unchanged).update(last_seen_run=self.run)
            if touched:
                catalog_bulk.refresh_products_bulk(product_ids=touched)
            done += len(rows)
            self.progress(done, total, _("applying"))

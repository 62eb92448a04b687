"""Stock: availability, reservations and every change of an on-hand number.

All stock allocation lives here, as plain functions over rows locked with ``select_for_update``
taken in primary-key order (variants first, then stock items), so concurrent checkouts cannot
deadlock and can never oversell: availability is re-checked *under the lock* before anything is
reserved or sold.

Lock order (part of the shop's one global order, written down in ``orders/locking.py``):
**Variant → StockItem → StockReservation**, each in primary-key order. Every function here keeps
it -- selling a pre-order locks its variant before any shelf, putting a pre-order back too -- and
callers take their own rows (cart, order, payments, voucher, gift cards) before calling in.

Availability anywhere = on hand - active (unexpired) reservations. Expired reservations are
ignored at once, before the periodic sweep deletes them. Sets are available as many times as
their scarcest component allows (an inactive component: none) and reserve their components;
pre-orders count against their pre-order limit instead of a warehouse; untracked variants are
always available; backorders may be sold beyond the shelf and are held without a warehouse.
The same rule as SQL, for listings of many products, is :mod:`catalog.availability`.

Units sold before they are on a shelf -- a backorder beyond the shelf, a pre-order -- are *owed*
to their order: they stay as that order's holds (its reference) that never expire, ``OWED_UNTIL``
for a backorder and ``PREORDER_OWED`` (a date in the past that only the sweep knows, so the
pre-order counter is not counted twice) for a pre-order until it is released. Owed units count
as reserved, so shoppers are never offered them again. When stock arrives (:func:`adjust_stock`,
``catalog.bulk.set_stock`` for importers, :func:`restock`) or a pre-order is released,
:func:`allocate_owed` gives the units on the shelves to the orders owed them, oldest order first;
shipping the order takes them off the shelf once (:func:`take_owed`).

Callers: ``orders`` reserves at checkout (``reserve_stock``), keeps the hold alive while a
payment is pending (``extend_reservation``), turns it into a sale when paid (``commit_sale``),
lets it go on failure (``release_reservation``), and puts units back on cancellation or return
(``restock``). ``commit_sale`` is not idempotent by itself: callers serialise on their own row
(the order) and call it once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from shop import events

from . import pagecache
from .models import (
    Product,
    SetComponent,
    StockItem,
    StockMovement,
    StockReservation,
    Variant,
    Warehouse,
)
from .services import RowsRefused, row_key, variants_for_rows

UNLIMITED = 10**9
#: ``expires_at`` of units a backorder owes its order (counted as reserved until shipped).
OWED_UNTIL = datetime(9999, 1, 1, tzinfo=UTC)
#: ``expires_at`` of units a pre-order owes its order before release: never counted as reserved
#: (``Variant.preorder_sold`` counts them), never swept, owed like a backorder once released.
PREORDER_OWED = datetime(1970, 1, 1, tzinfo=UTC)
OWED = (OWED_UNTIL, PREORDER_OWED)


class InsufficientStock(Exception):
    """Raised when a request wants more units than are available. ``shortages`` maps variant ->
    units still available, so callers can say "someone just bought the last one"."""

    def __init__(self, shortages: dict[Variant, int]):
        self.shortages = shortages
        names = ", ".join(f"{v} ({n})" for v, n in shortages.items())
        super().__init__(_("Not enough stock: %(items)s") % {"items": names})


@dataclass(frozen=True)
class Availability:
    on_hand: int
    reserved: int
    available: int
    status: str  # in_stock | low_stock | out_of_stock | preorder | backorder
    sellable: bool


# --- Reading ------------------------------------------------------------------------------------


def _active_reserved(variant_ids: Iterable[int], now: datetime) -> dict[int, int]:
    ids = list(variant_ids)
    if not ids:
        return {}
    rows = (
        StockReservation.objects.filter(variant_id__in=ids, expires_at__gt=now)
        .values("variant_id")
        .annotate(n=Sum("quantity"))
    )
    return {r["variant_id"]: r["n"] or 0 for r in rows}


def _on_hand(variant_ids: Iterable[int]) -> dict[int, int]:
    ids = list(variant_ids)
    if not ids:
        return {}
    rows = (
        StockItem.objects.filter(variant_id__in=ids, warehouse__is_active=True)
        .values("variant_id")
        .annotate(n=Sum("quantity"))
    )
    return {r["variant_id"]: r["n"] or 0 for r in rows}


def _status(variant: Variant, on_hand: int, reserved: int) -> Availability:
    if variant.is_preorder:
        limit = UNLIMITED if variant.preorder_limit is None else variant.preorder_limit
        left = max(0, limit - variant.preorder_sold - reserved)
        return Availability(on_hand, reserved, left, "preorder" if left else "out_of_stock", left > 0)
    if not variant.track_stock:
        return Availability(on_hand, reserved, UNLIMITED, "in_stock", True)
    available = max(0, on_hand - reserved)
    if available <= 0:
        if variant.backorder == Variant.Backorder.ALLOW:
            return Availability(on_hand, reserved, 0, "backorder", True)
        return Availability(on_hand, reserved, 0, "out_of_stock", False)
    status = "low_stock" if available <= variant.low_stock_threshold else "in_stock"
    return Availability(on_hand, reserved, available, status, True)


def _set_variant_ids(variants: Iterable[Variant]) -> set[int]:
    """Ids of the variants that belong to set products: free when ``product`` is loaded
    (select_related), one query for all the others."""
    sets: set[int] = set()
    unknown: dict[int, list[int]] = defaultdict(list)
    for v in variants:
        if "product" in v._state.fields_cache:
            if v.product.kind == Product.Kind.SET:
                sets.add(v.pk)
        else:
            unknown[v.product_id].append(v.pk)
    if unknown:
        for product_id in Product.objects.filter(pk__in=list(unknown), kind=Product.Kind.SET).values_list(
            "pk", flat=True
        ):
            sets.update(unknown[product_id])
    return sets


def availability_map(variants: Iterable[Variant], *, now: datetime | None = None) -> dict[int, Availability]:
    """Availability of many variants in a constant number of queries (2, or 3 with sets; one
    more when the variants come without their product).

    Variants of set products are derived from their components.
    """
    now = now or timezone.now()
    variants = list(variants)
    if not variants:
        return {}
    set_ids = _set_variant_ids(variants)
    set_product_ids = {v.product_id for v in variants if v.pk in set_ids}
    components: dict[int, list[SetComponent]] = defaultdict(list)
    component_variants: dict[int, Variant] = {}
    if set_product_ids:
        for c in SetComponent.objects.filter(set_product_id__in=set_product_ids).select_related("variant"):
            components[c.set_product_id].append(c)
            component_variants[c.variant_id] = c.variant
    ids = {v.pk for v in variants} | set(component_variants)
    on_hand = _on_hand(ids)
    reserved = _active_reserved(ids, now)

    def one(v: Variant) -> Availability:
        return _status(v, on_hand.get(v.pk, 0), reserved.get(v.pk, 0))

    result: dict[int, Availability] = {}
    for v in variants:
        if v.pk in set_ids:
            parts = components.get(v.product_id, [])
            if not parts:
                result[v.pk] = Availability(0, 0, 0, "out_of_stock", False)
                continue
            counts = []
            for c in parts:
                a = one(c.variant)
                # An inactive component is no longer sold, so neither is the set (as in the
                # listings' SQL, catalog.availability); a backorder component counts its shelf.
                usable = c.variant.is_active and a.sellable and a.status != "backorder"
                counts.append(a.available // c.quantity if usable else 0)
            n = min(counts)
            status = "out_of_stock" if n == 0 else ("low_stock" if n <= v.low_stock_threshold else "in_stock")
            result[v.pk] = Availability(n, 0, n, status, n > 0)
        else:
            result[v.pk] = one(v)
    return result


def availability(variant: Variant) -> Availability:
    return availability_map([variant])[variant.pk]


# --- Reserving and selling -----------------------------------------------------------------------


def _expand(lines: list[tuple[Variant, int]]) -> dict[int, int]:
    """Variant id -> units needed, with sets replaced by their components (at most 2 queries)."""
    need: dict[int, int] = defaultdict(int)
    set_ids = _set_variant_ids(v for v, _ in lines)
    comps: dict[int, list[SetComponent]] = defaultdict(list)
    if set_ids:
        set_product_ids = {v.product_id for v, _ in lines if v.pk in set_ids}
        for c in SetComponent.objects.filter(set_product_id__in=set_product_ids):
            comps[c.set_product_id].append(c)
    for variant, quantity in lines:
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        if variant.pk in set_ids:
            if not comps.get(variant.product_id):
                raise InsufficientStock({variant: 0})
            for c in comps[variant.product_id]:
                need[c.variant_id] += c.quantity * quantity
        else:
            need[variant.pk] += quantity
    return dict(need)


def _allocate(
    lines: list[tuple[Variant, int]], *, reference: str, now: datetime, expires: datetime
) -> tuple[list[StockReservation], dict[int, StockItem]]:
    """Decide, under row locks, which shelves ``lines`` come from (unsaved holds), or raise
    :class:`InsufficientStock`. Must run inside a transaction; the locks last until it ends."""
    need = _expand(lines)
    if not need:
        return [], {}
    # Lock variants first (pre-order counters), then stock items, each in primary-key order.
    variants = {v.pk: v for v in Variant.objects.select_for_update().filter(pk__in=need).order_by("pk")}
    tracked = [pk for pk, v in variants.items() if v.track_stock and not v.is_preorder]
    items = (
        list(
            StockItem.objects.select_for_update(of=("self",))
            .filter(variant_id__in=tracked, warehouse__is_active=True)
            .select_related("warehouse")
            .order_by("pk")
        )
        if tracked
        else []
    )
    reserved_per_item: dict[int, int] = (
        {
            r["stock_item_id"]: r["n"]
            for r in StockReservation.objects.filter(stock_item__in=items, expires_at__gt=now)
            .values("stock_item_id")
            .annotate(n=Sum("quantity"))
        }
        if items
        else {}
    )
    preorder_reserved = _active_reserved([pk for pk, v in variants.items() if v.is_preorder], now)
    items_by_variant: dict[int, list[StockItem]] = defaultdict(list)
    for item in sorted(items, key=lambda i: (i.warehouse.priority, i.pk)):
        items_by_variant[item.variant_id].append(item)

    by_id = {v.pk: v for v, _ in lines}
    shortages: dict[Variant, int] = {}
    plan: list[StockReservation] = []

    def hold(variant, quantity, item=None):
        plan.append(
            StockReservation(
                variant=variant, stock_item=item, quantity=quantity, reference=reference, expires_at=expires
            )
        )

    for variant_id, quantity in sorted(need.items()):
        variant = variants.get(variant_id)
        if variant is None:  # deleted meanwhile
            shortages[by_id.get(variant_id) or Variant(pk=variant_id)] = 0
            continue
        if variant.is_preorder:
            limit = UNLIMITED if variant.preorder_limit is None else variant.preorder_limit
            left = limit - variant.preorder_sold - preorder_reserved.get(variant_id, 0)
            if quantity > left:
                shortages[variant] = max(0, left)
            else:
                hold(variant, quantity)
            continue
        if not variant.track_stock:
            hold(variant, quantity)
            continue
        remaining = quantity
        for item in items_by_variant[variant_id]:
            free = item.quantity - reserved_per_item.get(item.pk, 0)
            take = min(free, remaining)
            if take > 0:
                hold(variant, take, item)
                remaining -= take
            if remaining == 0:
                break
        if remaining > 0:
            if variant.backorder == Variant.Backorder.ALLOW:
                # Backorders are held without a warehouse; they ship when stock arrives.
                hold(variant, remaining)
            else:
                shortages[variant] = quantity - remaining
    if shortages:
        raise InsufficientStock(shortages)
    return plan, {i.pk: i for i in items}


@transaction.atomic
def reserve_stock(
    *, lines: Iterable[tuple[Variant, int]], reference: str, minutes: float, replace: bool = True
) -> list[StockReservation]:
    """Hold ``lines`` for ``minutes`` under ``reference``; all or nothing.

    Any earlier reservations of the same reference are replaced (a shopper who goes back and
    changes the cart re-reserves); pass ``replace=False`` for a reference known to be new.
    Raises :class:`InsufficientStock` when any line cannot be held; then nothing changes. Sets
    hold their components; pre-orders hold against their pre-order limit; untracked variants and
    backorders beyond the shelf are held without a warehouse.
    """
    lines = list(lines)
    now = timezone.now()
    if replace:  # units owed to the order (a backorder, a pre-order) are not the cart's hold
        StockReservation.objects.filter(reference=reference).exclude(expires_at__in=OWED).delete()
    plan, _items = _allocate(lines, reference=reference, now=now, expires=now + timedelta(minutes=minutes))
    pagecache.bump_many(v.store_id for v, _quantity in lines)  # held units are shown as taken
    return StockReservation.objects.bulk_create(plan) if plan else []


@transaction.atomic
def sell_now(
    *, lines: Iterable[tuple[Variant, int]], reference: str, user=None, store=None
) -> list[StockMovement]:
    """Take ``lines`` off the shelves at once (cash on delivery, or paid in full at checkout):
    the same checks under the same locks as :func:`reserve_stock`, without a hold in between.
    Raises :class:`InsufficientStock` and changes nothing when a line is not available."""
    now = timezone.now()
    plan, items = _allocate(list(lines), reference=reference, now=now, expires=now)
    return _apply_sale(plan, items, reference=reference, user=user, store=store)


def _apply_sale(holds, items: dict[int, StockItem], *, reference: str, user, store) -> list[StockMovement]:
    """Decrement the shelves of ``holds`` (rows of ``items``, locked by the caller), record the
    movements, count pre-ordered units, and publish ``stock.changed``."""
    movements: list[StockMovement] = []
    preorder_units: dict[int, int] = defaultdict(int)
    for hold in holds:
        if hold.stock_item_id:
            item = items[hold.stock_item_id]
            item.quantity -= hold.quantity
            movements.append(
                StockMovement(
                    stock_item=item,
                    delta=-hold.quantity,
                    quantity_after=item.quantity,
                    reason=StockMovement.Reason.SALE,
                    reference=reference[:100],
                    user=user,
                )
            )
        elif hold.variant.is_preorder:
            preorder_units[hold.variant_id] += hold.quantity
    touched = [items[pk] for pk in {h.stock_item_id for h in holds if h.stock_item_id}]
    if touched:
        StockItem.objects.bulk_update(touched, ["quantity"])
    if movements:
        StockMovement.objects.bulk_create(movements)
    for variant_id, units in preorder_units.items():
        Variant.objects.filter(pk=variant_id).update(preorder_sold=F("preorder_sold") + units)
    _publish_stock_changed({h.variant_id for h in holds}, store=store)
    return movements


def extend_reservation(*, reference: str, minutes: float) -> int:
    """Keep a pending payment's hold alive for ``minutes`` from now (never shortens a longer
    hold); returns how many rows are still held (0 = the hold already expired)."""
    now = timezone.now()
    until = now + timedelta(minutes=minutes)
    active = StockReservation.objects.filter(reference=reference, expires_at__gt=now)
    active.filter(expires_at__lt=until).update(expires_at=until)
    return active.count()


def release_reservation(*, reference: str) -> int:
    holds = StockReservation.objects.filter(reference=reference)
    pagecache.bump_many(holds.values_list("variant__store_id", flat=True).distinct())
    allocated = set(
        holds.filter(expires_at=OWED_UNTIL, stock_item__isnull=False).values_list("variant_id", flat=True)
    )
    with transaction.atomic():
        deleted, _ = holds.delete()
        allocate_owed(allocated)  # shelf units it was owed go to the next order owed some
    return deleted


def sweep_expired_reservations(*, batch: int = 5000) -> int:
    """Delete expired holds (availability already ignores them; this only tidies up)."""
    ids = list(
        StockReservation.objects.filter(expires_at__lte=timezone.now())
        .exclude(expires_at=PREORDER_OWED)
        .values_list("pk", flat=True)[:batch]
    )
    StockReservation.objects.filter(pk__in=ids).delete()
    return len(ids)


@transaction.atomic
def commit_sale(
    *, reference: str, lines: Iterable[tuple[Variant, int]] | None = None, user=None, store=None
) -> list[StockMovement]:
    """Turn the holds of ``reference`` into a sale: take the units off the shelves.

    When the holds are gone or expired (a slow payment completed after the sweep), ``lines`` is
    reserved again under the lock first; if that fails, :class:`InsufficientStock` is raised and
    nothing changes, so the caller can flag the order for the merchant. Without holds and
    without ``lines`` there is nothing to sell from: ``ValueError``.
    """
    now = timezone.now()
    holds = list(
        StockReservation.objects.select_for_update(of=("self",))
        .select_related("variant")
        .filter(reference=reference)
        .exclude(expires_at__in=OWED)
        .order_by("pk")
    )
    if not holds or any(h.expires_at <= now for h in holds):
        if lines is None:
            if not holds:
                raise ValueError(f"No reservation to sell for {reference!r} and no lines given.")
            lines = [(h.variant, h.quantity) for h in holds]
        reserve_stock(lines=lines, reference=reference, minutes=5)
        holds = list(
            StockReservation.objects.select_related("variant")
            .filter(reference=reference)
            .exclude(expires_at__in=OWED)
            .order_by("pk")
        )
    # Variant before StockItem: the pre-order counters _apply_sale updates are locked first.
    _lock_variants({h.variant_id for h in holds if h.stock_item_id is None and h.variant.is_preorder})
    item_ids = sorted({h.stock_item_id for h in holds if h.stock_item_id})
    items = (
        {
            i.pk: i
            for i in StockItem.objects.select_for_update(of=("self",)).filter(pk__in=item_ids).order_by("pk")
        }
        if item_ids
        else {}
    )
    movements = _apply_sale(holds, items, reference=reference, user=user, store=store)
    owed = {OWED_UNTIL: [], PREORDER_OWED: []}
    for h in holds:
        if h.stock_item_id is None and h.variant.is_preorder:
            owed[PREORDER_OWED].append(h.pk)
        elif h.stock_item_id is None and h.variant.track_stock:  # a backorder beyond the shelf
            owed[OWED_UNTIL].append(h.pk)
    for until, pks in owed.items():
        if pks:
            StockReservation.objects.filter(pk__in=pks).update(expires_at=until)
    kept = owed[OWED_UNTIL] + owed[PREORDER_OWED]
    StockReservation.objects.filter(pk__in=[h.pk for h in holds if h.pk not in kept]).delete()
    return movements


def _lock_items_of(variant_ids) -> list[StockItem]:
    """Lock the active shelves of ``variant_ids`` in primary-key order."""
    if not variant_ids:
        return []
    return list(
        StockItem.objects.select_for_update(of=("self",))
        .filter(variant_id__in=sorted(variant_ids), warehouse__is_active=True)
        .select_related("warehouse")
        .order_by("pk")
    )


def allocate_owed(variant_ids: Iterable[int]) -> int:
    """Give the free units on the shelves of ``variant_ids`` to the orders they are owed to
    (backorders, released pre-orders), oldest order first; returns how many units were given.

    An allocated unit stays on the shelf, held for its order (never offered to a shopper), until
    the order ships (:func:`take_owed`). A pre-order whose variant is no longer a pre-order is
    released here: its sold units become owed like a backorder's. Runs inside the caller's
    transaction; locks StockItem → StockReservation (the shop's lock order)."""
    ids = sorted(set(variant_ids))
    if not ids:
        return 0
    released = StockReservation.objects.filter(
        variant_id__in=ids, expires_at=PREORDER_OWED, variant__is_preorder=False
    )
    owed_ids = set(
        StockReservation.objects.filter(variant_id__in=ids, stock_item__isnull=True, expires_at=OWED_UNTIL)
        .values_list("variant_id", flat=True)
        .distinct()
    ) | set(released.values_list("variant_id", flat=True).distinct())
    if not owed_ids:
        return 0
    items = _lock_items_of(owed_ids)  # StockItem before StockReservation
    released.update(expires_at=OWED_UNTIL)
    owed = list(
        StockReservation.objects.select_for_update(of=("self",))
        .filter(variant_id__in=sorted(owed_ids), stock_item__isnull=True, expires_at=OWED_UNTIL)
        .order_by("pk")  # the oldest order first
    )
    if not owed or not items:
        return 0
    held = {
        r["stock_item_id"]: r["n"]
        for r in StockReservation.objects.filter(stock_item__in=items, expires_at__gt=timezone.now())
        .values("stock_item_id")
        .annotate(n=Sum("quantity"))
    }
    shelves: dict[int, list[StockItem]] = defaultdict(list)
    for item in sorted(items, key=lambda i: (i.warehouse.priority, i.pk)):
        shelves[item.variant_id].append(item)
    given = 0
    for row in owed:
        pieces = []
        left = row.quantity
        for item in shelves[row.variant_id]:
            take = min(item.quantity - held.get(item.pk, 0), left)
            if take > 0:
                pieces.append((item, take))
                held[item.pk] = held.get(item.pk, 0) + take
                left -= take
            if left == 0:
                break
        if not pieces:
            continue
        given += row.quantity - left
        first_item = pieces[0][0]
        if left == 0 and len(pieces) == 1:
            StockReservation.objects.filter(pk=row.pk).update(stock_item=first_item)
            continue
        StockReservation.objects.bulk_create(
            [
                StockReservation(
                    variant_id=row.variant_id,
                    stock_item=item,
                    quantity=take,
                    reference=row.reference,
                    expires_at=OWED_UNTIL,
                )
                for item, take in pieces
            ]
        )
        if left:
            StockReservation.objects.filter(pk=row.pk).update(quantity=left)
        else:
            StockReservation.objects.filter(pk=row.pk).delete()
    return given


@transaction.atomic
def take_owed(*, reference: str, user=None, store=None) -> list[StockMovement]:
    """The order ``reference`` ships: take the units owed to it off their shelves, once.

    Units not yet on a shelf are allocated from what is there now; when the shelves cannot
    cover them, :class:`InsufficientStock` is raised and nothing changes (the goods are not
    there to ship). Units of a pre-order not yet released are simply no longer owed (they left
    with the parcel). Without owed units: nothing to do."""
    rows = StockReservation.objects.filter(reference=reference, expires_at__in=OWED)
    variant_ids = set(rows.values_list("variant_id", flat=True))
    if not variant_ids:
        return []
    _lock_items_of(variant_ids)
    allocate_owed(variant_ids)
    holds = list(
        StockReservation.objects.select_for_update(of=("self",))
        .select_related("variant")
        .filter(reference=reference, expires_at__in=OWED)
        .order_by("pk")
    )
    short: dict[Variant, int] = {}
    for h in holds:
        if h.stock_item_id is None and h.expires_at == OWED_UNTIL:
            short[h.variant] = short.get(h.variant, 0) + h.quantity
    if short:
        raise InsufficientStock(dict.fromkeys(short, 0))
    taken = [h for h in holds if h.stock_item_id]
    items = {
        i.pk: i
        for i in StockItem.objects.filter(pk__in=sorted({h.stock_item_id for h in taken})).order_by("pk")
    }
    movements = _apply_sale(taken, items, reference=reference, user=user, store=store) if taken else []
    StockReservation.objects.filter(pk__in=[h.pk for h in holds]).delete()
    return movements


def _release_owed(reference: str, want: dict[int, int]) -> set[int]:
    """Units of ``reference`` that were owed and never taken are not owed any more (a
    cancellation): up to ``want`` per variant. Returns the variants whose shelves got units
    back for others. Lowers ``want`` by the backorder units released (they were never on a shelf)."""
    freed: set[int] = set()
    rows = list(
        StockReservation.objects.select_for_update(of=("self",))
        .filter(reference=reference, expires_at__in=OWED, variant_id__in=list(want))
        .order_by("pk")
    )
    for row in rows:
        left = want.get(row.variant_id, 0)
        if left <= 0:
            continue
        gone = min(left, row.quantity)
        if row.expires_at == OWED_UNTIL:
            want[row.variant_id] = left - gone
        if row.stock_item_id:
            freed.add(row.variant_id)
        if gone == row.quantity:
            StockReservation.objects.filter(pk=row.pk).delete()
        else:
            StockReservation.objects.filter(pk=row.pk).update(quantity=row.quantity - gone)
    return freed


def _lock_variants(variant_ids, *, preorder: bool = False) -> list[Variant]:
    """Lock variant rows in primary-key order (only pre-orders with ``preorder``)."""
    if not variant_ids:
        return []
    rows = Variant.objects.select_for_update(of=("self",)).filter(pk__in=sorted(variant_ids))
    if preorder:
        rows = rows.filter(is_preorder=True)
    return list(rows.order_by("pk"))


@transaction.atomic
def restock(
    *,
    reference: str,
    lines: Iterable[tuple[Variant, int]] | None = None,
    reason: str = StockMovement.Reason.CANCELLATION,
    user=None,
    store=None,
) -> list[StockMovement]:
    """Put sold units back on the shelves they were taken from (cancellation, accepted return).

    ``lines`` (variant, quantity) restocks part of a sale -- sets give back their components --
    and defaults to every unit ``reference`` took off a shelf. Never puts back more than was sold
    under ``reference`` minus what was already put back. Pre-ordered units (which never were on
    a shelf) free their pre-order slot when passed in ``lines``.
    """
    sold = list(
        StockMovement.objects.filter(reference=reference[:100], reason=StockMovement.Reason.SALE)
        .select_related("stock_item")
        .order_by("pk")
    )
    returned = (
        StockMovement.objects.filter(reference=reference[:100], delta__gt=0)
        .values("stock_item__variant_id")
        .annotate(n=Sum("delta"))
    )
    already = {r["stock_item__variant_id"]: r["n"] for r in returned}
    sold_by_variant: dict[int, list[StockMovement]] = defaultdict(list)
    for m in sold:
        sold_by_variant[m.stock_item.variant_id].append(m)
    if lines is None:
        want = {vid: sum(-m.delta for m in ms) - already.get(vid, 0) for vid, ms in sold_by_variant.items()}
    else:
        want = _expand(list(lines))
    # Variant before StockItem: pre-ordered units (never on a shelf) free their counter, whose
    # variant row is locked before any shelf.
    preorder_variants = _lock_variants(
        {vid for vid, quantity in want.items() if quantity > 0 and not sold_by_variant.get(vid)},
        preorder=True,
    )
    item_ids = sorted({m.stock_item_id for m in sold})
    owed_variants = set(
        StockReservation.objects.filter(reference=reference, expires_at__in=OWED).values_list(
            "variant_id", flat=True
        )
    )
    shelves = Q(pk__in=item_ids) | Q(variant_id__in=sorted(owed_variants), warehouse__is_active=True)
    items = (
        {i.pk: i for i in StockItem.objects.select_for_update(of=("self",)).filter(shelves).order_by("pk")}
        if item_ids or owed_variants
        else {}
    )
    # Units owed and never taken (a backorder, a pre-order) are not owed any more: nothing goes
    # back on a shelf for them, and shelf units held for them go to the next order owed some.
    freed = _release_owed(reference, want) if owed_variants else set()
    movements: list[StockMovement] = []
    preorder_back: dict[int, int] = {}
    for variant_id, quantity in sorted(want.items()):
        if quantity <= 0:
            continue
        moves = sold_by_variant.get(variant_id)
        if not moves:
            preorder_back[variant_id] = quantity
            continue
        left = min(quantity, sum(-m.delta for m in moves) - already.get(variant_id, 0))
        for m in moves:
            if left <= 0:
                break
            put = min(left, -m.delta)
            item = items[m.stock_item_id]
            item.quantity += put
            left -= put
            movements.append(
                StockMovement(
                    stock_item=item,
                    delta=put,
                    quantity_after=item.quantity,
                    reason=reason,
                    reference=reference[:100],
                    user=user,
                )
            )
    if movements:
        StockItem.objects.bulk_update(items.values(), ["quantity"])
        StockMovement.objects.bulk_create(movements)
    if preorder_back:
        for v in preorder_variants:
            back = min(v.preorder_sold, preorder_back[v.pk])
            if back:
                Variant.objects.filter(pk=v.pk).update(preorder_sold=F("preorder_sold") - back)
    changed = {m.stock_item.variant_id for m in movements} | set(preorder_back) | freed
    allocate_owed({m.stock_item.variant_id for m in movements} | freed)
    _publish_stock_changed(changed, store=store)
    return movements


@transaction.atomic
def adjust_stock(
    *,
    variant: Variant,
    warehouse: Warehouse,
    delta: int | None = None,
    set_to: int | None = None,
    reason: str = StockMovement.Reason.ADJUSTMENT,
    reference: str = "",
    note: str = "",
    user=None,
) -> StockItem:
    """Change the on-hand number of one variant in one warehouse and record why.

    Pass ``delta`` (+5 delivered, -1 damaged) or ``set_to`` (a stock count). The result can never
    go below zero, nor below the units currently reserved there for paying shoppers
    (``ValueError`` in both cases).
    """
    if (delta is None) == (set_to is None):
        raise ValueError("pass exactly one of delta or set_to")
    if variant.store_id != warehouse.store_id:
        raise ValueError(_("The warehouse belongs to another store."))
    item, _created = StockItem.objects.get_or_create(variant=variant, warehouse=warehouse)
    item = StockItem.objects.select_for_update().get(pk=item.pk)
    new = item.quantity + delta if delta is not None else set_to
    if new < 0:
        raise ValueError(_("Stock cannot go below zero (now %(n)d).") % {"n": item.quantity})
    change = new - item.quantity
    if change == 0:
        return item
    if change < 0:
        held = (
            StockReservation.objects.filter(stock_item=item, expires_at__gt=timezone.now()).aggregate(
                n=Sum("quantity")
            )["n"]
            or 0
        )
        if new < held:
            raise ValueError(
                _("%(held)d units are reserved for shoppers who are paying; stock cannot go below that.")
                % {"held": held}
            )
    item.quantity = new
    item.save(update_fields=["quantity"])
    StockMovement.objects.create(
        stock_item=item,
        delta=change,
        quantity_after=new,
        reason=reason,
        reference=reference[:100],
        note=note[:255],
        user=user,
    )
    if change > 0:
        allocate_owed([variant.pk])  # units owed to orders (backorders) are theirs first
    _publish_stock_changed({variant.pk}, store=variant.store)
    return item


@transaction.atomic
def adjust_stock_by_row(*, store, rows: list[dict], reference: str = "", user=None) -> list[tuple]:
    """Set (``quantity``) or change (``delta``) the on-hand units of the variant each row names
    (by ``sku`` or ``variant_id``) in the row's ``warehouse`` (a code; default: the store's first
    active warehouse by priority), through :func:`adjust_stock` (movements, the reservation
    floor). All or nothing: :class:`catalog.services.RowsRefused` lists every refused row and
    nothing is kept. Returns ``(variant, warehouse, stock item)`` per row, in row order."""
    variants = variants_for_rows(store=store, rows=rows)
    warehouses = {w.code: w for w in Warehouse.objects.filter(store=store, is_active=True)}
    default = min(warehouses.values(), key=lambda w: (w.priority, w.pk), default=None)
    errors: dict[str, list[str]] = {}
    plan = []
    for i, (row, variant) in enumerate(zip(rows, variants, strict=True)):
        if variant is None:
            errors[f"rows.{i}.{row_key(row)}"] = [_("No such variant.")]
            continue
        warehouse = warehouses.get(row["warehouse"]) if row.get("warehouse") else default
        if warehouse is None:
            errors[f"rows.{i}.warehouse"] = [_("No such warehouse.")]
            continue
        plan.append((i, row, variant, warehouse))
    if errors:
        raise RowsRefused(errors)
    done = []
    for i, row, variant, warehouse in plan:
        try:
            item = adjust_stock(
                variant=variant,
                warehouse=warehouse,
                delta=row.get("delta"),
                set_to=row.get("quantity"),
                reference=reference,
                note=row.get("note", ""),
                user=user,
            )
        except ValueError as exc:
            errors[f"rows.{i}.{'delta' if 'delta' in row else 'quantity'}"] = [str(exc)]
            continue
        done.append((variant, warehouse, item))
    if errors:
        raise RowsRefused(errors)  # rolls back the rows that were applied
    return done


def _publish_stock_changed(variant_ids: set[int], store=None) -> None:
    if not variant_ids:
        return
    if store is None:
        store = Variant.objects.filter(pk=min(variant_ids)).select_related("store").first().store
    pagecache.bump(store.pk)
    events.publish(type="stock.changed", payload={"variant_ids": sorted(variant_ids)}, store=store)

"""Permanent redirects of old addresses (301): the one module that writes and applies them.

- :func:`add_redirect` writes one (slug changes, the admin, the CSV import): the old path is
  normalised, the new one must be a path of this store; chains are collapsed (``a → b`` and a
  new ``b → c`` become ``a → c`` and ``b → c``) and loops refused, so a shopper is never sent
  through more than one hop.
- :func:`slug_changed` is called by ``catalog.services`` when a product, category or group gets a
  new slug: its old address leads to the new one, and the new address stops being redirected.
- :func:`import_csv` reads ``old_path,new_path`` rows (a dry run reports what would change).
- :class:`RedirectMiddleware` answers a 404 of a redirected path with a 301. A page that exists
  is never redirected; the look-up costs one indexed query, then one cache read (its result,
  hit or miss, is cached under a per-store generation bumped by every write).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.http import HttpResponsePermanentRedirect
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Redirect

log = logging.getLogger(__name__)

MAX_PATH = 500
CSV_MAX_BYTES = 2 * 1024 * 1024
CSV_MAX_ROWS = 20_000
CACHE_SECONDS = 3600


class RedirectError(ValueError):
    """A redirect that cannot be written; the message is for the merchant."""


# --- Paths ---------------------------------------------------------------------------------------


def _store_hosts(store) -> set[str]:
    hosts = {store.domain.lower(), f"www.{store.domain.lower()}"}
    base = urlsplit(store.absolute_url("/")).hostname
    if base:
        hosts.add(base.lower())
    return hosts


def clean_path(raw: str, *, store) -> str:
    """``raw`` as a path of this store (``/p/sukienka/``, query kept, fragment dropped).

    An absolute URL is accepted only on the store's own host; ``//host`` and other schemes,
    control characters and over-long paths are refused (:class:`RedirectError`)."""
    text = (raw or "").strip()
    if not text:
        raise RedirectError(_("The path is empty."))
    if any(ord(c) < 32 or ord(c) == 127 for c in text) or "\\" in text:
        raise RedirectError(_("The path contains control characters or backslashes."))
    parts = urlsplit(text)
    if parts.scheme or parts.netloc or text.startswith("//"):
        if parts.scheme not in ("", "http", "https") or not parts.hostname:
            raise RedirectError(_("Only addresses starting with / or http(s):// are accepted."))
        if parts.hostname.lower() not in _store_hosts(store):
            raise RedirectError(
                _("%(host)s is another site: redirects lead only to this store's own addresses.")
                % {"host": parts.hostname}
            )
    elif not text.startswith("/"):
        raise RedirectError(_("A path starts with /."))
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//"):
        raise RedirectError(_("A path starts with a single /."))
    result = f"{path}?{parts.query}" if parts.query else path
    if len(result) > MAX_PATH:
        raise RedirectError(_("The path is longer than %(n)d characters.") % {"n": MAX_PATH})
    return result


# --- Writes --------------------------------------------------------------------------------------


def _generation_key(store_id: int) -> str:
    return f"catalog:redirects:generation:{store_id}"


def forget(store_id: int) -> None:
    """Every cached look-up of the store is stale (now and when the transaction commits)."""

    def bump():
        try:
            cache.set(_generation_key(store_id), time.time_ns(), None)
        except Exception:
            log.exception("Could not bump the redirect generation of store %s", store_id)

    bump()
    transaction.on_commit(bump)


@dataclass
class Change:
    old_path: str
    new_path: str
    action: str  # "create" | "update" | "unchanged"
    previous: str = ""
    collapsed: list[str] = field(default_factory=list)  # old paths re-pointed to new_path


def plan(*, store, old_path: str, new_path: str, pending: dict[str, str] | None = None) -> Change:
    """What :func:`add_redirect` would do, without writing. ``pending`` holds redirects planned
    earlier in the same import (old -> new), so a file's own chains and loops count too."""
    old = clean_path(old_path, store=store)
    new = clean_path(new_path, store=store)
    if old == new:
        raise RedirectError(_("The old and the new path are the same."))
    existing = dict(
        Redirect.objects.filter(store=store, old_path__in=[old, new]).values_list("old_path", "new_path")
    )
    if pending:
        existing.update({k: v for k, v in pending.items() if k in (old, new)})
    # The new path is itself redirected: point straight at its end.
    target = existing.get(new, new)
    if target == old:
        raise RedirectError(
            _("%(new)s already leads back to %(old)s: this redirect would make a loop.")
            % {"new": new, "old": old}
        )
    incoming = list(Redirect.objects.filter(store=store, new_path=old).values_list("old_path", flat=True))
    if pending:
        incoming += [k for k, v in pending.items() if v == old and k not in incoming]
    previous = existing.get(old, "")
    action = "unchanged" if previous == target else ("update" if previous else "create")
    return Change(
        old_path=old,
        new_path=target,
        action=action,
        previous=previous,
        collapsed=[p for p in incoming if p != target],
    )


@transaction.atomic
def add_redirect(*, store, old_path: str, new_path: str, source: str = Redirect.Source.MANUAL) -> Redirect:
    """Write ``old_path → new_path`` for ``store`` (see the module docstring for the rules)."""
    change = plan(store=store, old_path=old_path, new_path=new_path)
    # Redirects that led to the old path now lead to the end of the chain; one that would lead
    # to itself is dropped.
    Redirect.objects.filter(store=store, new_path=change.old_path, old_path=change.new_path).delete()
    Redirect.objects.filter(store=store, new_path=change.old_path).update(new_path=change.new_path)
    redirect, _created = Redirect.objects.update_or_create(
        store=store, old_path=change.old_path, defaults={"new_path": change.new_path, "source": source}
    )
    forget(store.pk)
    return redirect


@transaction.atomic
def slug_changed(*, store, old_url: str, new_url: str) -> None:
    """A page moved from ``old_url`` to ``new_url``: the old address leads to the new one, and
    the new address (live again) is no longer redirected anywhere."""
    if not old_url or old_url == new_url:
        return
    Redirect.objects.filter(store=store, old_path=new_url).delete()
    add_redirect(store=store, old_path=old_url, new_path=new_url, source=Redirect.Source.SLUG)


# --- CSV import ----------------------------------------------------------------------------------


@dataclass
class ImportRow:
    line: int
    old_path: str
    new_path: str
    action: str = ""  # create | update | unchanged | error
    error: str = ""


@dataclass
class ImportReport:
    rows: list[ImportRow] = field(default_factory=list)
    error: str = ""  # the whole file was refused
    applied: bool = False

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)


def _read_csv(data: bytes) -> list[list[str]]:
    if len(data) > CSV_MAX_BYTES:
        raise RedirectError(_("The file is larger than %(n)d MB.") % {"n": CSV_MAX_BYTES // (1024 * 1024)})
    if b"\x00" in data:
        raise RedirectError(_("This is not a text file."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RedirectError(
            _("The file is not UTF-8 text (byte %(pos)d); save it as CSV UTF-8.") % {"pos": exc.start + 1}
        ) from None
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise RedirectError(_("The file is not valid CSV: %(error)s") % {"error": exc}) from None
    if len(rows) > CSV_MAX_ROWS + 1:
        raise RedirectError(_("The file has more than %(n)d rows.") % {"n": CSV_MAX_ROWS})
    return rows


def import_csv(*, store, data: bytes, dry_run: bool = True) -> ImportReport:
    """Read ``old_path,new_path`` rows (a header row is skipped); with ``dry_run`` nothing is
    written. Without it, every valid row is written in one transaction."""
    report = ImportReport()
    try:
        rows = _read_csv(data)
    except RedirectError as exc:
        report.error = str(exc)
        return report
    pending: dict[str, str] = {}
    planned: list[tuple[ImportRow, Change]] = []
    for number, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if number == 1 and cells and cells[0].lower() in ("old_path", "old", "stary adres", "from"):
            continue
        item = ImportRow(
            line=number,
            old_path=cells[0][: MAX_PATH + 1] if cells else "",
            new_path=cells[1][: MAX_PATH + 1] if len(cells) > 1 else "",
        )
        report.rows.append(item)
        if len(cells) != 2:
            item.action, item.error = "error", _("A row has two columns: old path, new path.")
            continue
        try:
            change = plan(store=store, old_path=cells[0], new_path=cells[1], pending=pending)
        except RedirectError as exc:
            item.action, item.error = "error", str(exc)
            continue
        if change.old_path in pending:
            item.action, item.error = "error", _("This old path is already in the file (line above).")
            continue
        item.old_path, item.new_path, item.action = change.old_path, change.new_path, change.action
        for old in change.collapsed:
            if old in pending:
                pending[old] = change.new_path
        pending[change.old_path] = change.new_path
        planned.append((item, change))
    if dry_run:
        return report
    with transaction.atomic():
        for item, _change in planned:
            if item.action == "unchanged":
                continue
            try:
                with transaction.atomic():
                    add_redirect(
                        store=store,
                        old_path=item.old_path,
                        new_path=item.new_path,
                        source=Redirect.Source.IMPORT,
                    )
            except RedirectError as exc:
                item.action, item.error = "error", str(exc)
    report.applied = True
    return report


# --- Look-up -------------------------------------------------------------------------------------


def _lookup_key(store_id: int, path: str) -> str:
    digest = hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return f"catalog:redirect:{store_id}:{digest}"


def target_for(store, full_path: str, path: str) -> tuple[int, str] | None:
    """(redirect id, new path) for a request path, or None; cached per store generation."""
    key = _lookup_key(store.pk, full_path)
    generation_key = _generation_key(store.pk)
    try:
        values = cache.get_many([generation_key, key])
    except Exception:
        log.exception("Redirect cache unavailable")
        values = {}
    generation = values.get(generation_key)
    cached = values.get(key)
    if generation is not None and isinstance(cached, tuple) and len(cached) == 2 and cached[0] == generation:
        return cached[1]
    candidates = [full_path] if full_path == path else [full_path, path]
    rows = {
        old: (pk, new)
        for pk, old, new in Redirect.objects.filter(store=store, old_path__in=candidates).values_list(
            "pk", "old_path", "new_path"
        )
    }
    found = rows.get(full_path) or rows.get(path)
    try:
        if generation is None:
            generation = time.time_ns()
            cache.add(generation_key, generation, None)
            generation = cache.get(generation_key, generation)
        cache.set(key, (generation, found), CACHE_SECONDS)
    except Exception:
        log.exception("Redirect cache unavailable")
    return found


def count_hit(redirect_id: int) -> None:
    Redirect.objects.filter(pk=redirect_id).update(hits=F("hits") + 1, last_hit_at=timezone.now())


class RedirectMiddleware:
    """A 404 of a GET or HEAD whose path has a redirect becomes a 301 to its new path."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 404 or request.method not in ("GET", "HEAD"):
            return response
        store = getattr(request, "store", None)
        if store is None or request.path.startswith(("/admin/", "/api/", "/static/", "/media/")):
            return response
        full_path = request.get_full_path()
        if len(full_path) > MAX_PATH or any(ord(c) < 32 or ord(c) == 127 for c in request.path):
            return response  # no redirect can have such a path (clean_path refuses them)
        found = target_for(store, full_path, request.path)
        if found is None:
            return response
        redirect_id, new_path = found
        try:
            count_hit(redirect_id)
        except Exception:
            log.exception("Could not count a redirect hit")
        return HttpResponsePermanentRedirect(new_path)

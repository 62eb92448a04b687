"""The feed importer: stage a whole feed, then apply it to the catalog in one transaction.

A :class:`FeedImporter` runs one ``SyncRun`` of a wholesaler connector in three steps, each in its
own module (the connector, ``integrations.wholesalers.connector``, calls them in this order):

1. **Stage** (:mod:`.staging`, :meth:`FeedImporter.stage`): stream every file of the feed into
   staging rows, normalised and checked; nothing in the catalog changes, and a file problem
   fails the run here.
2. **Apply** (:mod:`.apply`, :meth:`FeedImporter.apply`): one ``transaction.atomic`` around
   everything that changes the catalog, batch by batch, through ``catalog.bulk`` (the catalog's
   rules, one statement per batch); unchanged rows are not written; a dry run rolls back.
3. **Images** (:mod:`.images`, :meth:`FeedImporter.fetch_images`), after commit.

Around them: :mod:`.run` (counts, error log, cursor and heartbeat, so a run whose worker died
resumes where it stopped), :mod:`.lookups` (categories, attributes and the warehouse, found or
created once per run) and :mod:`.options` (what the connector's options say).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from catalog.models import Attribute, AttributeValue, Category, Warehouse

from ...models import ConnectorConfig, StagedPart, StagedRow, SyncRun, SyncRunError
from ..profile import Profile
from .apply import Applying
from .images import Images, check_public_url
from .lookups import CatalogLookups
from .options import VANISHED_POLICIES, ImportOptions
from .run import RunAborted, RunLog
from .staging import Staging

__all__ = ["VANISHED_POLICIES", "FeedImporter", "ImportOptions", "RunAborted", "check_public_url"]


class FeedImporter(RunLog, Staging, CatalogLookups, Applying, Images):
    """One run of a wholesaler feed: :meth:`stage`, :meth:`apply`, :meth:`fetch_images`, then
    :meth:`cleanup`. The steps share the run's bookkeeping (:class:`.run.RunLog`) and the
    catalog lookups (:class:`.lookups.CatalogLookups`), whose state is set up here."""

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
        self._manufacturers: dict = {}  # name -> catalog.Manufacturer (or None), CatalogLookups
        if run.cursor.get("failed"):  # resumed: rows already logged as failed still count
            self.counts["failed"] = int(run.cursor["failed"])

    def cleanup(self) -> None:
        """Drop the run's staging rows (the run is over)."""
        StagedRow.objects.filter(run=self.run).delete()
        StagedPart.objects.filter(run=self.run).delete()

"""A feed run's bookkeeping: counts, error log, warnings, preview, cursor and heartbeat."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from ...models import SyncRun, SyncRunError

PREVIEW_LIMIT = 100
ROW_WARNINGS_IN_SUMMARY = 20  # the rest are in the run's error log


class RunAborted(Exception):
    """The run cannot complete; the message is for the merchant. Nothing was applied."""


class RunLog:
    """The run's bookkeeping, shared by every step of a :class:`FeedImporter`: ``counts``, the
    error log (buffered, at most ``INTEGRATIONS_MAX_ERRORS_PER_RUN`` rows), the merchant's
    warnings, the preview of a dry run, and the cursor and heartbeat that let a run whose worker
    died resume where it stopped (and keep its lock meanwhile)."""

    run: SyncRun
    counts: dict[str, int]
    preview: list[dict[str, Any]]
    warnings: list[str]
    _errors: list[SyncRunError]
    _error_total: int

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

    def heartbeat(self) -> None:
        """Move the run's heartbeat (the lock stays ours) without touching the cursor."""
        self.run.heartbeat_at = timezone.now()
        SyncRun.objects.filter(pk=self.run.pk).update(heartbeat_at=self.run.heartbeat_at)

    def _preview(self, sku: str, action: str, changes: dict[str, Any] | None = None) -> None:
        if len(self.preview) < PREVIEW_LIMIT:
            self.preview.append({"sku": sku, "action": action, "changes": changes or {}})

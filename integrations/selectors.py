"""Reusable reads for the admin, the command line and reports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from django.db.models import OuterRef, QuerySet, Subquery

from shop.spreadsheets import spreadsheet_text

from .models import ConnectorConfig, SyncRun, SyncRunError


def configs_with_last_run() -> QuerySet[ConnectorConfig]:
    """Connectors annotated with their newest run's status and start (one query for the list)."""
    newest = SyncRun.objects.filter(config=OuterRef("pk")).order_by("-started_at", "-pk")
    return ConnectorConfig.objects.select_related("store").annotate(
        last_run_status=Subquery(newest.values("status")[:1]),
        last_run_started=Subquery(newest.values("started_at")[:1]),
    )


def run_errors(run: SyncRun) -> QuerySet[SyncRunError]:
    return SyncRunError.objects.filter(run=run).order_by("row_number", "pk")


ERROR_CSV_HEADER = ("row", "key", "message")


def run_errors_csv(run: SyncRun) -> Iterator[str]:
    """The run's error log as CSV text, line by line (streamed: a big log never sits in memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Iterable) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield "\ufeff" + line(ERROR_CSV_HEADER)  # BOM: spreadsheets open Polish letters right
    for row_number, key, message in (
        run_errors(run).values_list("row_number", "key", "message").iterator(chunk_size=2000)
    ):
        # Keys and messages quote feed text: inert in a spreadsheet (CSV injection).
        yield line(
            ["" if row_number is None else row_number, spreadsheet_text(key), spreadsheet_text(message)]
        )

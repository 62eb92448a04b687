"""``python manage.py sync <connector-id> [--direction full|stock] [--file PATH] [--dry-run]``

Runs one connector by hand in the foreground: a progress bar on stderr, the run's summary on
stdout; with ``--dry-run`` it shows what would change and writes nothing to the catalog.
"""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from integrations import selectors, services
from integrations.models import ConnectorConfig, SyncRun


class ProgressBar:
    """``[##########----------]  50%  applying  5,000/10,000`` redrawn in place on stderr."""

    def __init__(self, stream, width: int = 30, min_interval: float = 0.2):
        self.stream, self.width, self.min_interval = stream, width, min_interval
        self._last = 0.0
        self._drawn = False

    def __call__(self, done: int, total: int | None, label: str) -> None:
        now = time.monotonic()
        final = total is not None and done >= total
        if not final and now - self._last < self.min_interval:
            return
        self._last = now
        if total:
            share = min(1.0, done / total)
            filled = int(self.width * share)
            bar = "#" * filled + "-" * (self.width - filled)
            text = f"\r[{bar}] {share:4.0%}  {label}  {done:,}/{total:,}"
        else:
            text = f"\r{label}  {done:,}"
        self.stream.write(text.ljust(80))
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()


class Command(BaseCommand):
    help = "Run a connector now: import a wholesaler feed (full or stock/prices), optionally as a dry run."

    def add_arguments(self, parser):
        parser.add_argument("config_id", type=int, help="ConnectorConfig id (see the admin)")
        parser.add_argument("--direction", default="full", help="full (default) or stock")
        parser.add_argument(
            "--file",
            action="append",
            default=[],
            metavar="[SOURCE=]PATH",
            help="Read a local file instead of downloading; SOURCE=PATH for a named source (repeatable).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Show what would change; write nothing.")

    def handle(self, *args, config_id: int, direction: str, file: list[str], dry_run: bool, **options):
        config = ConnectorConfig.objects.filter(pk=config_id).first()
        if config is None:
            raise CommandError(f"No connector with id {config_id}.")
        file_path, files = None, {}
        for spec in file:
            name, sep, path = spec.partition("=")
            if sep:
                files[name] = path
            else:
                file_path = spec
        bar = ProgressBar(self.stderr._out if hasattr(self.stderr, "_out") else sys.stderr)
        try:
            run = services.run_connector(
                config_id=config.pk,
                direction=direction,
                trigger=SyncRun.Trigger.COMMAND,
                dry_run=dry_run,
                file_path=file_path,
                files=files,
                progress=bar,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        self.print_summary(run)
        if run.status == SyncRun.Status.FAILED:
            raise CommandError(f"Run {run.pk} failed: {run.error}")
        if run.status == SyncRun.Status.SKIPPED:
            raise CommandError(run.error)

    def print_summary(self, run: SyncRun) -> None:
        out = self.stdout
        duration = run.duration.total_seconds() if run.duration else 0
        title = "DRY RUN (nothing was written)" if run.dry_run else "Run"
        out.write(f"{title} {run.pk}: {run.config} / {run.direction}: {run.status} in {duration:.1f} s")
        counts = run.counts()
        out.write("  " + "  ".join(f"{k}={v}" for k, v in counts.items()))
        if run.summary.get("not_modified"):
            out.write("  The feed has not changed since the last run (HTTP 304).")
        for warning in run.summary.get("warnings", []):
            out.write(f"  warning: {warning}")
        changes = run.summary.get("changes", [])
        if changes:
            out.write("  Changes" + (" that would be made:" if run.dry_run else ":"))
            for change in changes[:50]:
                detail = ", ".join(f"{k}: {v}" for k, v in change.get("changes", {}).items())
                out.write(f"    {change['action']:7} {change['sku']}  {detail}")
            if len(changes) > 50:
                out.write(f"    … and more (first {len(changes)} kept in the run's summary)")
        errors = list(selectors.run_errors(run)[:10])
        if errors:
            out.write(f"  First errors ({run.failed} rows failed; full log: admin > Sync runs > CSV):")
            for e in errors:
                out.write(f"    row {e.row_number or '-'} {e.key}: {e.message}")
        if run.error:
            out.write(f"  error: {run.error}")

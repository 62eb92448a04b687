"""Generate product feeds now: ``manage.py generate_feeds [--feed ID ...] [--store DOMAIN]``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from integrations.feeds import services
from integrations.feeds.models import Feed, FeedRun


class Command(BaseCommand):
    help = "Generate product feeds (all active ones, or those named) and print what each run wrote."

    def add_arguments(self, parser):
        parser.add_argument("--feed", type=int, action="append", default=[], help="feed id (repeatable)")
        parser.add_argument("--store", help="only the feeds of the store with this domain")

    def handle(self, *args, feed: list[int], store: str | None, **options):
        feeds = Feed.objects.select_related("store").order_by("pk")
        if feed:
            feeds = feeds.filter(pk__in=feed)
            missing = set(feed) - set(feeds.values_list("pk", flat=True))
            if missing:
                raise CommandError(f"No feed with id {', '.join(map(str, sorted(missing)))}.")
        else:
            feeds = feeds.filter(is_active=True)
        if store:
            feeds = feeds.filter(store__domain=store.strip().lower())
        failed = 0
        for f in feeds:
            run = services.generate_feed(feed_id=f.pk, trigger=FeedRun.Trigger.COMMAND)
            line = (
                f"{f.pk} {f.name}: {run.get_status_display()}, {run.items} items, {run.skipped} skipped, "
                f"{run.warning_count} warnings, {run.size} bytes"
            )
            if run.status == FeedRun.Status.SUCCEEDED:
                self.stdout.write(line)
            else:
                failed += 1
                self.stderr.write(f"{line}: {run.error}")
        if failed:
            raise CommandError(f"{failed} feed(s) did not generate.")

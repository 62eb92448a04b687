from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from shop.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = "Restore a backup made by `backup` into an empty database (and its media files)."

    def add_arguments(self, parser):
        parser.add_argument("archive", help="Path to koszyk-*.tar.gz")
        parser.add_argument("--database-url", help="Restore into this database instead of DATABASE_URL")
        parser.add_argument("--media-root", help="Restore media files here instead of MEDIA_ROOT")
        parser.add_argument("--private-root", help="Restore private files here instead of PRIVATE_ROOT")

    def handle(self, *args, **options):
        try:
            manifest = restore_backup(
                Path(options["archive"]),
                database_url=options["database_url"],
                media_root=Path(options["media_root"]) if options["media_root"] else None,
                private_root=Path(options["private_root"]) if options["private_root"] else None,
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {manifest['engine']} backup from {manifest['created_at']}. "
                "Run `manage.py migrate` if this code is newer than the backup."
            )
        )

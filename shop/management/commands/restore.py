from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from shop.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup made by `backup` into an empty database (and its media and private files): "
        "a stored backup's name, `latest`, or a path to an archive."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="koszyk-….tar.gz.enc in the backup storage, `latest`, or a path")
        parser.add_argument(
            "--dir", help="Read stored backups from this directory instead of the backup storage"
        )
        parser.add_argument("--database-url", help="Restore into this database instead of DATABASE_URL")
        parser.add_argument("--media-root", help="Restore media files here instead of the media storage")
        parser.add_argument(
            "--private-root", help="Restore private files here instead of the private storage"
        )

    def handle(self, *args, **options):
        try:
            manifest = restore_backup(
                options["archive"],
                database_url=options["database_url"],
                media_root=Path(options["media_root"]) if options["media_root"] else None,
                private_root=Path(options["private_root"]) if options["private_root"] else None,
                directory=options["dir"],
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {manifest['engine']} backup from {manifest['created_at']}. "
                "Run `manage.py migrate` if this code is newer than the backup."
            )
        )

from django.core.management.base import BaseCommand, CommandError

from shop.backup import BackupError, create_backup, prune_backups


class Command(BaseCommand):
    help = "Write a compressed snapshot of the database and media to BACKUP_DIR (var/backups)."

    def add_arguments(self, parser):
        parser.add_argument("--dir", help="Directory to write to (default: BACKUP_DIR)")
        parser.add_argument("--keep", type=int, help="Keep only this many newest backups afterwards")

    def handle(self, *args, **options):
        try:
            path = create_backup(directory=options["dir"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Backup written: {path} ({path.stat().st_size:,} bytes)"))
        if options["keep"] is not None:
            for removed in prune_backups(keep=options["keep"], directory=options["dir"]):
                self.stdout.write(f"Removed old backup {removed}")

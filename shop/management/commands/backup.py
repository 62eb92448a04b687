from django.core.management.base import BaseCommand, CommandError

from shop.backup import BackupError, create_backup, list_backups, prune_backups


class Command(BaseCommand):
    help = (
        "Write an encrypted snapshot of the database, media and private files to the backup storage "
        "(BACKUP_DIR, or the bucket of BACKUP_STORAGE=s3), then apply the retention."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dir", help="Directory to write to instead of the backup storage")
        parser.add_argument("--keep", type=int, help="Days to keep the newest backup of (BACKUP_KEEP_DAILY)")
        parser.add_argument(
            "--keep-weekly", type=int, help="ISO weeks to keep the newest backup of (BACKUP_KEEP_WEEKLY)"
        )
        parser.add_argument("--no-prune", action="store_true", help="Keep every older backup")
        parser.add_argument("--list", action="store_true", help="List the stored backups, newest first")

    def handle(self, *args, **options):
        if options["list"]:
            for name in list_backups(options["dir"]):
                self.stdout.write(name)
            return
        try:
            backup = create_backup(directory=options["dir"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Backup written: {backup.name} ({backup.size:,} bytes)"))
        if options["no_prune"]:
            return
        for removed in prune_backups(
            keep=options["keep"], weekly=options["keep_weekly"], directory=options["dir"]
        ):
            self.stdout.write(f"Removed old backup {removed}")

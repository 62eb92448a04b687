"""`make run`: one terminal runs the web server, a Celery worker and the beat scheduler.

On the embedded default (nothing configured) everything lives in var/: SQLite, the file-system
broker, the file cache and mail as .eml files. First run migrates and seeds the demo shop.
Ctrl-C (or SIGTERM) stops all three processes cleanly.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from shop.models import Store


class Command(BaseCommand):
    help = "Run the whole shop locally: web server, Celery worker and beat, with demo data."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--no-seed", action="store_true", help="Do not seed demo data on first run")

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        if not options["no_seed"] and not Store.objects.exists():
            self.stdout.write("First run: seeding the demo shop (takes a few seconds)...")
            call_command("seed_demo")
        env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "1"), "PYTHONUNBUFFERED": "1"}
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        commands = {
            "web": [python, manage, "runserver", f"{options['host']}:{options['port']}", "--noreload"],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "shop",
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
                "--without-gossip",
                "--without-mingle",
            ],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "shop",
                "beat",
                "--loglevel=INFO",
                "--scheduler=django_celery_beat.schedulers:DatabaseScheduler",
                f"--schedule={settings.VAR_DIR / 'celerybeat-schedule'}",
            ],
        }
        procs = {
            name: subprocess.Popen(cmd, env=env, cwd=settings.BASE_DIR) for name, cmd in commands.items()
        }
        url = f"http://{'localhost' if options['host'] in ('127.0.0.1', '0.0.0.0') else options['host']}:{options['port']}/"  # noqa: S104
        admin_email = os.environ.get("DEMO_ADMIN_EMAIL", "admin@example.com")
        admin_password = os.environ.get("DEMO_ADMIN_PASSWORD", "koszyk-admin")
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  Storefront: {url}\n  Admin:      {url}admin/  ({admin_email} / {admin_password})\n"
                f"  Mail:       {settings.MAIL_DIR} (also in the admin: {url}admin/outbox/)\n"
                "  Press Ctrl-C to stop.\n"
            )
        )
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, proc in procs.items():
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with code {proc.returncode}; stopping the shop.")
                        stopping = True
                time.sleep(0.5)
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for proc in procs.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
            self.stdout.write("Shop stopped.")

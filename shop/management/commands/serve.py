"""`make run`: one terminal runs the web server, a Celery worker and the beat scheduler.

On the embedded default (nothing configured) everything lives in var/: SQLite, the file-system
broker (shop/broker.py), the file cache and mail as .eml files. First run migrates and seeds the
demo shop. Ctrl-C (or SIGTERM) stops all three processes cleanly.

The worker and beat are supervised: when one of them exits (a crash, an out-of-memory kill) it is
started again after a log line, with a growing pause (``--restart-delay`` doubling up to
``--max-restart-delay``; a process that ran for a minute counts as healthy again), so the
storefront keeps answering. Only the web server exiting stops the shop: that is the process the
person at the terminal is talking to (a busy port, for example, must be reported, not retried).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from shop.models import Store

# A worker or beat that stayed up this long before exiting starts again without a pause.
HEALTHY_AFTER_SECONDS = 60.0


def consumed_queues(app=None) -> list[str]:
    """Every queue the settings route tasks to, so the one embedded worker consumes them all.

    The default queue, ``CELERY_TASK_QUEUES`` and the queues named in ``CELERY_TASK_ROUTES``
    (a mapping or a list of mappings; router functions cannot be read and are skipped).
    """
    if app is None:
        from shop.celery import app
    conf = app.conf
    names = [conf.task_default_queue or "celery"]
    for queue in conf.task_queues or ():
        names.append(getattr(queue, "name", queue))
    routes = conf.task_routes or ()
    routers = (
        [routes] if isinstance(routes, dict) else list(routes) if isinstance(routes, list | tuple) else []
    )
    for router in routers:
        if not isinstance(router, dict):
            continue
        for route in router.values():
            queue = (
                route.get("queue") if isinstance(route, dict) else route if isinstance(route, str) else None
            )
            queue = getattr(queue, "name", queue)
            if isinstance(queue, str) and queue:
                names.append(queue)
    return list(dict.fromkeys(names))


@dataclass
class Supervised:
    name: str
    command: list[str]
    restart: bool
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    delay: float = 0.0
    restart_at: float | None = None


class Command(BaseCommand):
    help = "Run the whole shop locally: web server, Celery worker and beat, with demo data."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--no-seed", action="store_true", help="Do not seed demo data on first run")
        parser.add_argument(
            "--restart-delay",
            type=float,
            default=1.0,
            help="Seconds before a crashed worker or beat starts again (doubles on each crash)",
        )
        parser.add_argument("--max-restart-delay", type=float, default=60.0)

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        if not options["no_seed"] and not Store.objects.exists():
            self.stdout.write("First run: seeding the demo shop (takes a few seconds)...")
            call_command("seed_demo")
        self.first_delay = options["restart_delay"]
        self.max_delay = options["max_restart_delay"]
        env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "1"), "PYTHONUNBUFFERED": "1"}
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        queues = consumed_queues()
        children = [
            Supervised(
                "web",
                [python, manage, "runserver", f"{options['host']}:{options['port']}", "--noreload"],
                restart=False,
            ),
            Supervised(
                "worker",
                [
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
                    f"--queues={','.join(queues)}",
                ],
                restart=True,
            ),
            Supervised(
                "beat",
                [
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
                restart=True,
            ),
        ]
        self.env = env
        for child in children:
            self._start(child)
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

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, stop)
        try:
            while not stopping:
                for child in children:
                    if self._check(child):
                        stopping = True
                time.sleep(0.5)
        finally:
            self._stop_all(children)
            self.stdout.write("Shop stopped.")

    # --- supervision ----------------------------------------------------------------------------

    def _start(self, child: Supervised) -> None:
        # Each child leads its own process group, so a crashed worker's pool processes are cleaned
        # up with it; Ctrl-C reaches only this command, which stops the children in order.
        child.proc = subprocess.Popen(child.command, env=self.env, cwd=settings.BASE_DIR, process_group=0)
        child.started_at = time.monotonic()
        child.restart_at = None

    def _check(self, child: Supervised) -> bool:
        """Restart ``child`` when it is due; True when the shop must stop (the web server exited)."""
        now = time.monotonic()
        if child.proc is None:
            if child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                self.stderr.write(f"{child.name}: starting again (restart {child.restarts}).")
                self._start(child)
            return False
        code = child.proc.poll()
        if code is None:
            return False
        _kill_group(child.proc.pid, signal.SIGKILL)  # leftovers of the crashed process (pool children)
        if not child.restart:
            self.stderr.write(f"{child.name} exited with code {code}; stopping the shop.")
            return True
        ran = now - child.started_at
        child.delay = (
            self.first_delay
            if ran >= HEALTHY_AFTER_SECONDS or not child.delay
            else min(child.delay * 2, self.max_delay)
        )
        child.proc = None
        child.restart_at = now + child.delay
        self.stderr.write(
            f"{child.name} exited with code {code} after {ran:.0f} s; "
            f"restarting it in {child.delay:.0f} s (the web server keeps running)."
        )
        return False

    def _stop_all(self, children: list[Supervised]) -> None:
        running = [c.proc for c in children if c.proc is not None and c.proc.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)  # the leader only: a worker's warm shutdown stops its pool
        deadline = time.monotonic() + 15
        for proc in running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill_group(proc.pid, signal.SIGKILL)
                proc.wait()
        for child in children:
            if child.proc is not None:
                _kill_group(child.proc.pid, signal.SIGKILL)  # anything a child left behind


def _kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)

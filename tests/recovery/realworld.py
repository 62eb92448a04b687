"""Real parts for tests: an aiosmtpd server on loopback and Celery workers on Redis that share
the test database (PostgreSQL only: SQLite's test database is in memory)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from email import message_from_bytes, policy
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """An aiosmtpd handler keeping every message it accepted."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def wait_for(self, count: int, timeout: float, tick=None) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            if tick:
                tick()
            time.sleep(0.5)
        with self.lock:
            return list(self.messages)


class SmtpServer:
    def __init__(self):
        from aiosmtpd.controller import Controller

        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def broker_url(db: int) -> str:
    """A Redis database of the run's own server: ``RECOVERY_TEST_REDIS``, else the server that
    ``REDIS_URL`` names (so two runs on two Redis servers never share a worker's queue), else
    127.0.0.1:6379."""
    base = os.environ.get("RECOVERY_TEST_REDIS")
    if not base:
        parts = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379")
        base = f"{parts.scheme or 'redis'}://{parts.netloc or '127.0.0.1:6379'}"
    return f"{base.rstrip('/')}/{db}"


def require_real_services(db: int) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "real-worker tests need DATABASE_URL=postgres://... (the workers share the test database)"
        )
    try:
        import redis

        client = redis.Redis.from_url(broker_url(db), socket_connect_timeout=1)
        client.ping()
        client.flushdb()
    except Exception as exc:
        pytest.skip(f"real-worker tests need Redis at {broker_url(db)} ({exc})")


def worker_env(*, db: int, smtp_port: int, site_url: str = "http://localhost:8000", **extra) -> dict:
    name = connection.settings_dict["NAME"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{connection.settings_dict.get('USER') or 'postgres'}@"
        f"{connection.settings_dict.get('HOST') or '127.0.0.1'}:{connection.settings_dict.get('PORT') or 5432}/{name}",
        "CELERY_BROKER_URL": broker_url(db),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SECRET_KEY": settings.SECRET_KEY,
        "SITE_URL": site_url,
        "RECOVERY_QUIET_HOURS": "",
        "RECOVERY_FREQUENCY_CAP_HOURS": "0",
        "RECOVERY_SMTP_IDLE_CHECK_SECONDS": "0",
        "CONN_MAX_AGE": "0",
        "LOG_LEVEL": "WARNING",
    }
    if connection.settings_dict.get("PASSWORD"):
        env["DATABASE_URL"] = env["DATABASE_URL"].replace("@", f":{connection.settings_dict['PASSWORD']}@", 1)
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Workers:
    """Start ``count`` real ``celery worker`` processes; stop them (by pid) on exit."""

    def __init__(self, env: dict, count: int = 1, concurrency: int = 2):
        self.env, self.count, self.concurrency = env, count, concurrency
        self.procs: list[subprocess.Popen] = []
        self.logs: list = []

    def __enter__(self):
        for i in range(self.count):
            cmd = [
                sys.executable, "-m", "celery", "-A", "shop", "worker", "--pool=threads",
                f"--concurrency={self.concurrency}", "-l", os.environ.get("RECOVERY_TEST_WORKER_LOG", "warning"), "-n", f"recovery{i}-{os.getpid()}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ]  # fmt: skip
            log = tempfile.NamedTemporaryFile(prefix=f"recovery-worker{i}-", suffix=".log", delete=False)
            self.logs.append(log)
            self.procs.append(
                subprocess.Popen(
                    cmd, cwd=settings.BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT
                )
            )
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self.logs:
            log.close()

    def output(self) -> str:
        """The workers' logs (shown in assertion messages when something went wrong)."""
        text = []
        for log in self.logs:
            with open(log.name, errors="replace") as f:
                text.append(f.read()[-4000:])
        return "\n".join(text)


class publisher:
    """Publish tasks to the workers' broker. Celery lets a CELERY_BROKER_URL environment
    variable override any app's broker setting, so the connection is given explicitly."""

    def __init__(self, db: int):
        from celery import Celery

        # Not the current app: shared tasks of this process must keep using the shop's app.
        self.app = Celery("recovery-test-publisher", set_as_current=False)
        self.connection = self.app.connection_for_write(broker_url(db))

    def send_task(self, name: str, args=None):
        # Routed as the shop routes it (reminder sends to the bulk queue): the workers must
        # consume every queue the settings route to.
        from django.conf import settings

        route = (getattr(settings, "CELERY_TASK_ROUTES", None) or {}).get(name, {})
        queue = route.get("queue") if isinstance(route, dict) else route
        return self.app.send_task(
            name,
            args=args or [],
            connection=self.connection,
            queue=queue or getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery"),
        )

"""`make run`'s command, for real: web server, worker and beat on the embedded default."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL", "SECRET_KEY", "DEBUG")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_runs_web_worker_and_beat_and_stops_cleanly(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env.update(VAR_DIR=str(tmp_path / "var"), PYTHONUNBUFFERED="1", DJANGO_SETTINGS_MODULE="shop.settings")
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        health = None
        while time.monotonic() < deadline:
            try:
                health = httpx.get(
                    f"http://127.0.0.1:{port}/healthz", headers={"Host": "localhost"}, timeout=2
                )
                break
            except httpx.TransportError:
                time.sleep(0.5)
        assert health is not None, Path(log.name).read_text()[-3000:]
        assert health.status_code == 200, health.text
        assert health.json()["checks"]["broker"]["status"] == "up"
        home = httpx.get(f"http://127.0.0.1:{port}/", headers={"Host": "localhost"}, timeout=10)
        assert home.status_code == 200
        # Worker and beat are up: beat's startup banner and the worker's "ready" line.
        for _ in range(60):
            text = Path(log.name).read_text()
            if "beat: Starting" in text and "ready." in text:
                break
            time.sleep(0.5)
        text = Path(log.name).read_text()
        assert "Storefront: http://localhost:" in text and "admin@example.com" in text
        assert "beat: Starting" in text and "ready." in text
        assert (tmp_path / "var" / "koszyk.sqlite3").exists()
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert "Shop stopped." in Path(log.name).read_text()
    # Nothing left running from that process group.
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)


def children_of(pid: int) -> dict[int, str]:
    """Direct child processes of ``pid`` and their command lines."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(FileNotFoundError):
                out[int(child)] = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return out


def the_worker(serve_pid: int) -> int | None:
    return next((pid for pid, cmd in children_of(serve_pid).items() if " worker " in cmd), None)


@pytest.mark.slow
def test_serve_restarts_a_killed_worker_while_the_web_server_keeps_answering(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env.update(VAR_DIR=str(tmp_path / "var"), PYTHONUNBUFFERED="1", DJANGO_SETTINGS_MODULE="shop.settings")
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--no-seed", "--port", str(port), "--restart-delay", "0.5"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    health_url = f"http://127.0.0.1:{port}/healthz"

    def healthy() -> bool:
        try:
            return httpx.get(health_url, headers={"Host": "localhost"}, timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def text() -> str:
        return Path(log.name).read_text()

    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not (healthy() and text().count("ready.") >= 1):
            time.sleep(0.5)
        assert healthy() and "ready." in text(), text()[-3000:]
        first = the_worker(proc.pid)
        assert first is not None, children_of(proc.pid)

        os.kill(first, signal.SIGKILL)
        answers = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and text().count("ready.") < 2:
            answers.append(healthy())
            time.sleep(0.3)
        log_text = text()
        assert log_text.count("ready.") >= 2, log_text[-3000:]
        assert "worker exited with code -9" in log_text and "restarting it in" in log_text
        assert "worker: starting again (restart 1)" in log_text
        assert answers and all(answers), answers  # the storefront never stopped answering
        second = the_worker(proc.pid)
        assert second is not None and second != first
        assert proc.poll() is None
        assert "stopping the shop" not in log_text
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert "Shop stopped." in text()


def test_make_run_passes_the_port_through():
    out = subprocess.run(
        ["make", "-n", "run", "PORT=8123"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "manage.py serve --port 8123" in out


def test_the_embedded_worker_consumes_every_configured_queue(settings):
    from kombu import Queue

    from shop.celery import app
    from shop.management.commands.serve import consumed_queues

    saved = app.conf.task_routes, app.conf.task_queues
    app.conf.task_routes = {"recovery.tasks.*": {"queue": "bulk"}, "orders.tasks.x": "checkout"}
    app.conf.task_queues = [Queue("celery"), Queue("cart_events")]
    try:
        assert consumed_queues(app) == ["celery", "cart_events", "bulk", "checkout"]
    finally:
        # Later tests in this process route reminder sends to the real 'bulk' queue.
        app.conf.task_routes, app.conf.task_queues = saved

"""`make run`'s command, for real: web server, worker and beat on the embedded default."""

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

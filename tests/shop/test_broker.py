"""The embedded broker (shop/broker.py) never hands out a half-written message, never dies on an
unreadable file, and puts back what a killed worker had taken."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery
from kombu import Connection
from kombu.transport import filesystem as stock_filesystem

from shop import broker
from tests.shop.broker_app import transport_options

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _embedded_broker_only(monkeypatch):
    """Celery reads CELERY_BROKER_URL from the environment before any app's own broker setting:
    where CI points it at Redis, these apps would publish there instead of to the folders."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)


def options(base: Path) -> dict:
    return {
        **transport_options(base),
        "tmp_folder": str(base / "tmp"),
        "claimed_folder": str(base / "claimed"),
        "quarantine_folder": str(base / "quarantine"),
    }


def publish(base: Path, *names: str) -> None:
    app = Celery("publisher", broker="filesystem://", set_as_current=False)
    app.conf.broker_transport_options = options(base)
    for name in names:
        app.send_task("broker_test.mark", args=[name])


def a_message_file(base: Path) -> tuple[str, bytes]:
    """The name and bytes of one real message, as the transport writes it."""
    publish(base, "template")
    (path,) = (base / "queue").iterdir()
    data = path.read_bytes()
    path.unlink()
    return path.name, data


def write_partial(base: Path, name: str, data: bytes) -> None:
    """What a writer killed mid-write (or kombu's in-place write, seen too early) leaves behind."""
    (base / "queue" / name).write_bytes(data)


def test_filesystem_url_resolves_to_the_crash_safe_transport():
    with Connection("filesystem://") as conn:
        assert conn.transport_cls is broker.Transport or type(conn.transport) is broker.Transport


def test_a_half_written_message_is_quarantined_and_the_next_one_delivered(tmp_path, caplog):
    name, data = a_message_file(tmp_path)
    # Both sort before any real message ("0_" < "<milliseconds>_"): they are met first.
    truncated = "0_" + name.split("_", 1)[1]
    empty = "00_00000000-0000-0000-0000-000000000000.celery.msg"
    write_partial(tmp_path, truncated, data[: len(data) // 2])
    write_partial(tmp_path, empty, b"")
    publish(tmp_path, "whole")
    with Connection("filesystem://", transport_options=options(tmp_path)) as conn:
        queue = conn.SimpleQueue("celery")
        message = queue.get(timeout=1)
        assert message.headers["task"] == "broker_test.mark"
        assert message.payload[0] == ["whole"]
        message.ack()
        queue.close()
    assert sorted(p.name for p in (tmp_path / "quarantine").iterdir()) == sorted([truncated, empty])
    assert "unreadable" in caplog.text
    assert not list((tmp_path / "queue").iterdir()) and not list((tmp_path / "claimed").iterdir())


def test_kombus_own_transport_dies_on_the_same_file(tmp_path):
    """Why shop/broker.py exists: the stock transport raises on a half-written file."""
    name, data = a_message_file(tmp_path)
    write_partial(tmp_path, name, data[: len(data) // 2])
    with Connection(transport=stock_filesystem.Transport, transport_options=options(tmp_path)) as conn:
        queue = conn.SimpleQueue("celery")
        with pytest.raises(json.JSONDecodeError):
            queue.get(timeout=1)
        queue.close()


def test_a_message_stays_claimed_until_acked_and_a_dead_consumers_claims_come_back(tmp_path):
    publish(tmp_path, "first")
    with Connection("filesystem://", transport_options=options(tmp_path)) as conn:
        queue = conn.SimpleQueue("celery")
        message = queue.get(timeout=1)
        (claimed,) = (tmp_path / "claimed").iterdir()
        assert claimed.name.startswith(f"{os.getpid()}~")
        message.ack()
        assert not list((tmp_path / "claimed").iterdir())
        queue.close()
    # A consumer that died (its pid no longer exists) left a message claimed and unacknowledged.
    publish(tmp_path, "orphan")
    (path,) = (tmp_path / "queue").iterdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    os.rename(path, tmp_path / "claimed" / f"{dead.pid}~{path.name}")
    with Connection("filesystem://", transport_options=options(tmp_path)) as conn:
        queue = conn.SimpleQueue("celery")
        message = queue.get(timeout=2)
        assert message.payload[0] == ["orphan"]
        message.ack()
        queue.close()


def test_exchange_tables_are_replaced_whole(tmp_path):
    with Connection("filesystem://", transport_options=options(tmp_path)) as conn:
        channel = conn.default_channel
        channel.exchange_declare("fan", type="fanout")
        for n in range(20):
            channel.queue_declare(f"q{n}")
            channel.queue_bind(f"q{n}", "fan", "")
        table = json.loads((tmp_path / "control" / "fan.exchange").read_text())
        assert len(table) == 20
        channel.queue_delete("q3")
        assert len(json.loads((tmp_path / "control" / "fan.exchange").read_text())) == 19
    assert not list((tmp_path / "tmp").iterdir())


@pytest.mark.slow
def test_a_real_worker_keeps_running_past_half_written_messages(tmp_path):
    base = tmp_path
    name, data = a_message_file(base)
    env = {**os.environ, "BROKER_TEST_DIR": str(base), "PYTHONUNBUFFERED": "1"}
    env.pop("CELERY_BROKER_URL", None)  # it would win over the app's filesystem:// broker
    log = (base / "worker.log").open("w+")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tests.shop.broker_app",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        publish(base, "before")
        wait_for(lambda: (base / "done" / "before").exists(), worker, log)
        # A crash mid-write leaves a truncated file; another an empty one; the worker must go on.
        write_partial(base, "0_" + name.split("_", 1)[1], data[: len(data) // 3])
        write_partial(base, "00_00000000-0000-0000-0000-000000000000.celery.msg", b"")
        publish(base, *[f"after{n}" for n in range(20)])
        wait_for(lambda: all((base / "done" / f"after{n}").exists() for n in range(20)), worker, log)
        assert worker.poll() is None, Path(log.name).read_text()[-3000:]
        assert len(list((base / "quarantine").iterdir())) == 2
        assert "unreadable" in Path(log.name).read_text()
        assert "Unrecoverable error" not in Path(log.name).read_text()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)


def wait_for(condition, worker, log, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        assert worker.poll() is None, "worker died:\n" + Path(log.name).read_text()[-3000:]
        time.sleep(0.1)
    raise AssertionError("timed out:\n" + Path(log.name).read_text()[-3000:])

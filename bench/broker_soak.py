"""Soak test of the embedded Celery broker (shop/broker.py): no crash, no lost task.

``make run``'s worker once died after ~16 minutes inside kombu's file-system transport, reading a
message another process was still writing (``JSONDecodeError``). This script reproduces that
load and counts what matters:

* several producer processes publish thousands of tasks as fast as they can (payloads of 0.2 to
  64 KB, so a write takes long enough to be seen half done), while
* a real ``celery worker`` (prefork, 2 processes, ``acks_late``, like ``manage.py serve``) consumes
  them, and a real ``celery beat`` sends a task every second;
* every task appends its id to a log file; at the end, ids published vs ids run give the lost
  and duplicated tasks, the worker's and beat's exits give the crashes (an exited process is
  started again, as ``serve`` does, so one crash does not end the measurement).

``--transport stock`` runs the same load on kombu's own file-system transport: the floor this
transport is measured against (it is expected to crash and lose tasks).

    python bench/broker_soak.py                 # full: 5 minutes, 10,000 tasks
    python bench/broker_soak.py --smoke         # CI-sized: 15 s, 500 tasks
    python bench/broker_soak.py --json out.json --transport stock --duration 120

Needs no database: the app below is a bare Celery app on the same transport and options as the
shop's embedded default. Exit code 1 when a crash, a lost task or a missed beat is recorded.
The human report goes to ``bench/results/broker-<date>.md`` (``bench/work/`` for smoke runs).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from celery import Celery

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
SOAK_DIR = Path(os.environ.get("BROKER_SOAK_DIR", BENCH_DIR / "work" / "broker-soak"))
TRANSPORT = os.environ.get("BROKER_SOAK_TRANSPORT", "koszyk")

if TRANSPORT == "koszyk":
    sys.path.insert(0, str(ROOT))
    import shop.broker  # noqa: F401  (filesystem:// -> the crash-safe transport)

app = Celery("broker_soak", broker="filesystem://")
app.conf.update(
    broker_transport_options={
        "data_folder_in": str(SOAK_DIR / "queue"),
        "data_folder_out": str(SOAK_DIR / "queue"),
        "control_folder": str(SOAK_DIR / "control"),
        "processed_folder": str(SOAK_DIR / "processed"),
        "store_processed": False,
        "polling_interval": 0.1,
    },
    # As shop/settings.py: late acks, one message prefetched per process, JSON.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    beat_schedule={"tick": {"task": "soak.tick", "schedule": 1.0}},
    timezone="UTC",
)


def _append(name: str, line: str) -> None:
    # O_APPEND writes of one short line are atomic: the pool processes never interleave lines.
    fd = os.open(SOAK_DIR / name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode() + b"\n")
    finally:
        os.close(fd)


@app.task(name="soak.record")
def record(task_id: str, padding: str = "") -> None:
    _append("done.log", task_id)


@app.task(name="soak.tick")
def tick() -> None:
    import time

    _append("ticks.log", f"{time.time():.3f}")


# =================================================================================================
# The run (not executed when the worker imports this module)
# =================================================================================================


def _produce(producer: int, count: int, seconds: float, seed: int) -> None:
    """One producer process: ``count`` tasks spread over ``seconds``, ids logged before sending."""
    import random
    import time

    rng = random.Random(seed + producer)
    started = time.monotonic()
    with app.producer_or_acquire() as publisher:
        for n in range(count):
            task_id = f"p{producer}-{n}"
            size = rng.choice([200, 200, 2000, 16000, 64000])
            _append(f"sent-{producer}.log", task_id)
            record.apply_async(args=[task_id, "x" * size], producer=publisher)
            # Bursts and pauses: keep to the schedule, on average.
            ahead = started + seconds * (n + 1) / count - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)


def still_queued(soak_dir: Path) -> set[str]:
    """Ids of the record tasks whose messages are still in the queue (or claimed) folder."""
    import base64
    import json

    ids = set()
    for folder in ("queue", "claimed"):
        for path in (soak_dir / folder).glob("*.msg") if (soak_dir / folder).exists() else []:
            try:
                message = json.loads(path.read_bytes())
                body = json.loads(base64.b64decode(message["body"]))
            except (OSError, ValueError, KeyError):
                continue
            if message.get("headers", {}).get("task") == "soak.record":
                ids.add(body[0][0])
    return ids


def _logged_at(line: str):
    """When a beat log line was written: Celery's own format (``[2026-12-08 03:29:52,123: ...``)
    or the shop's JSON log lines (``{"time": "2026-12-08T03:29:52.123+00:00", ...}``)."""
    import datetime as dt
    import json

    if line.lstrip().startswith("{"):
        moment = dt.datetime.fromisoformat(json.loads(line)["time"])
        return moment.astimezone(dt.UTC).replace(tzinfo=None)
    return dt.datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f")


def main() -> int:
    import argparse
    import contextlib
    import datetime as dt
    import itertools
    import json
    import multiprocessing
    import shutil
    import signal
    import subprocess
    import time

    sys.path.insert(0, str(BENCH_DIR))
    import common

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="CI-sized: 15 s, 500 tasks")
    parser.add_argument("--json", help="write the machine-readable result here")
    parser.add_argument("--duration", type=float, help="seconds of load (default 300; smoke 20)")
    parser.add_argument("--tasks", type=int, help="tasks in all (default 10000; smoke 500)")
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--transport", choices=["koszyk", "stock"], default="koszyk")
    parser.add_argument("--drain-timeout", type=float, default=300)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    duration = args.duration or (15.0 if args.smoke else 300.0)
    total = args.tasks or (500 if args.smoke else 10000)
    per_producer = total // args.producers
    total = per_producer * args.producers

    soak_dir = BENCH_DIR / "work" / f"broker-soak-{args.transport}"
    shutil.rmtree(soak_dir, ignore_errors=True)
    soak_dir.mkdir(parents=True)
    env = {
        **os.environ,
        "BROKER_SOAK_DIR": str(soak_dir),
        "BROKER_SOAK_TRANSPORT": args.transport,
        "PYTHONPATH": os.pathsep.join([str(BENCH_DIR), str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "PYTHONUNBUFFERED": "1",
    }
    celery = [sys.executable, "-m", "celery", "-A", "broker_soak"]
    commands = {
        "worker": [
            *celery,
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        "beat": [*celery, "beat", "--loglevel=INFO", f"--schedule={soak_dir / 'beat-schedule'}"],
    }
    logs = {name: (soak_dir / f"{name}.log").open("a") for name in commands}
    procs: dict[str, subprocess.Popen] = {}
    crashes = dict.fromkeys(commands, 0)
    exit_codes: dict[str, list[int]] = {name: [] for name in commands}

    def start(name: str) -> None:
        procs[name] = subprocess.Popen(
            commands[name],
            env=env,
            cwd=soak_dir,
            stdout=logs[name],
            stderr=subprocess.STDOUT,
            process_group=0,
        )

    def supervise(skip: str = "") -> None:
        for name, proc in procs.items():
            code = None if name == skip else proc.poll()
            if code is not None:
                crashes[name] += 1
                exit_codes[name].append(code)
                common.log(f"{name} exited with code {code}; starting it again")
                with_children_killed(proc)
                start(name)

    def with_children_killed(proc: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    def ticks_run() -> int:
        path = soak_dir / "ticks.log"
        return len(path.read_text().split()) if path.exists() else 0

    def done_ids() -> list[str]:
        path = soak_dir / "done.log"
        return path.read_text().split() if path.exists() else []

    os.environ.update(BROKER_SOAK_DIR=str(soak_dir), BROKER_SOAK_TRANSPORT=args.transport)
    common.log(
        f"broker soak ({args.transport}): {total} tasks from {args.producers} producers over "
        f"{duration:.0f} s, beat every second"
    )
    wall_start = time.monotonic()
    for name in commands:
        start(name)
    ctx = multiprocessing.get_context("spawn")
    producers = [
        ctx.Process(target=_produce, args=(n, per_producer, duration, args.seed), daemon=True)
        for n in range(args.producers)
    ]
    try:
        # The load starts once the worker is ready and beat has sent its first tick.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not (
            "ready." in (soak_dir / "worker.log").read_text(errors="replace")
            and "Sending due task tick" in (soak_dir / "beat.log").read_text(errors="replace")
        ):
            supervise()
            time.sleep(0.2)
        load_start = time.monotonic()
        for p in producers:
            p.start()
        while any(p.is_alive() for p in producers):
            supervise()
            time.sleep(0.5)
        load_seconds = time.monotonic() - load_start
        common.log(f"all published in {load_seconds:.0f} s; draining")
        deadline = time.monotonic() + args.drain_timeout
        while time.monotonic() < deadline and len(set(done_ids())) < total:
            supervise()
            time.sleep(0.5)
        drain_seconds = time.monotonic() - load_start - load_seconds
        beat_seconds = time.monotonic() - load_start
        # Stop beat, then let the worker run every tick beat sent (they queue behind the load).
        procs["beat"].send_signal(signal.SIGTERM)
        procs["beat"].wait(timeout=30)
        sends = [
            _logged_at(line)
            for line in (soak_dir / "beat.log").read_text(errors="replace").splitlines()
            if "Sending due task tick" in line
        ]
        ticks_sent = len(sends)
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(sends)]
        longest_gap = max(gaps, default=None)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and ticks_run() < ticks_sent:
            supervise(skip="beat")
            time.sleep(0.5)
    finally:
        for p in producers:
            if p.is_alive():
                p.kill()
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
            with_children_killed(proc)
    sent = []
    for n in range(args.producers):
        path = soak_dir / f"sent-{n}.log"
        sent += path.read_text().split() if path.exists() else []
    done = done_ids()
    queued = still_queued(soak_dir)
    lost = sorted(set(sent) - set(done) - queued)
    duplicates = len(done) - len(set(done))
    ticks = ticks_run()
    expected_ticks = int(beat_seconds)  # about one a second (beat drifts a little on a busy machine)
    quarantined = len(list((soak_dir / "quarantine").glob("*"))) if (soak_dir / "quarantine").exists() else 0
    worker_log = (soak_dir / "worker.log").read_text(errors="replace")
    unrecoverable = worker_log.count("Unrecoverable error")
    crashed = sum(crashes.values())
    ok = (
        crashed == 0
        and not lost
        and not queued
        and len(sent) == total
        and ticks >= ticks_sent > 0
        and longest_gap is not None
        and longest_gap < 2.5  # beat fired every second (it drifts a little under load: no count)
    )
    figures = [
        {"name": "tasks published", "value": len(sent), "unit": "tasks"},
        {"name": "tasks run", "value": len(set(done)), "unit": "tasks"},
        {"name": "lost tasks (neither run nor queued)", "value": len(lost), "unit": "tasks", "floor": 0},
        {"name": "tasks still queued at the end", "value": len(queued), "unit": "tasks", "floor": 0},
        {"name": "tasks run twice", "value": duplicates, "unit": "tasks"},
        {"name": "worker crashes", "value": crashes["worker"], "unit": "exits", "floor": 0},
        {"name": "beat crashes", "value": crashes["beat"], "unit": "exits", "floor": 0},
        {"name": "'Unrecoverable error' in the worker log", "value": unrecoverable, "floor": 0},
        {
            "name": "beat ticks sent (one a second)",
            "value": ticks_sent,
            "unit": "ticks",
            "floor": expected_ticks,
        },
        {"name": "beat ticks run", "value": ticks, "unit": "ticks", "floor": ticks_sent},
        {"name": "longest pause between two ticks", "value": longest_gap, "unit": "s", "floor": 1.0},
        {"name": "files quarantined", "value": quarantined, "unit": "files"},
        {
            "name": "throughput",
            "value": round(len(set(done)) / max(0.001, load_seconds + drain_seconds), 1),
            "unit": "tasks/s",
        },
    ]
    sizes = {
        "tasks": total,
        "producers": args.producers,
        "load_seconds": round(load_seconds, 1),
        "drain_seconds": round(drain_seconds, 1),
        "transport": args.transport,
        "smoke": args.smoke,
        "wall_seconds": round(time.monotonic() - wall_start, 1),
    }
    common.write_area_json(
        args.json, "broker", figures, sizes=sizes, ok=ok, exit_codes=exit_codes, lost_sample=lost[:20]
    )
    rows = [[f["name"], common.fmt(f["value"]), common.fmt(f.get("floor"))] for f in figures]
    markdown = "\n".join(
        [
            f"# Embedded broker soak ({args.transport} transport{', smoke' if args.smoke else ''})",
            "",
            f"{total} tasks from {args.producers} producer processes over {load_seconds:.0f} s (payloads "
            f"0.2-64 KB), a prefork worker (2 processes, acks_late) and beat firing every second; "
            f"drained in {drain_seconds:.0f} s. `python bench/broker_soak.py"
            f"{' --smoke' if args.smoke else ''}{' --transport stock' if args.transport == 'stock' else ''}`.",
            "",
            common.markdown_table(["figure", "value", "expected"], rows),
            "",
            f"Result: **{'OK' if ok else 'FAILED'}**; worker exit codes {exit_codes['worker'] or 'none'}, "
            f"beat exit codes {exit_codes['beat'] or 'none'}.",
            "",
            f"Machine: {common.machine_info()}",
        ]
    )
    date = dt.date.today().isoformat()
    results_dir = common.WORK_DIR if args.smoke else common.RESULTS_DIR
    suffix = "" if args.transport == "koszyk" else "-stock"
    md_path = results_dir / f"broker{suffix}-{date}.md"
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(markdown + "\n")
    print(markdown)
    print(json.dumps({"ok": ok, "lost": len(lost), "crashes": crashes}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Shared helpers for the benchmark suite (``bench/run.py``) and any area script that wants them.

Everything here is standard library plus ``psycopg`` (already a Koszyk dependency) and, for the
fallback load loop only, ``httpx``. Nothing here imports Django, so the helpers work from any
virtual environment (Koszyk's ``.venv`` or django-oscar's ``bench/.oscar-venv``).

What lives here:

- machine and version facts (``machine_info``, ``package_versions``, ``wrk_version``);
- PostgreSQL bench databases (``create_database``, ``drop_database``), never the ``test`` one;
- gunicorn on a free loopback port with N workers (``Gunicorn``: a context manager that always
  stops the server and reports each worker's peak memory);
- the load generator: ``wrk`` with ``--latency`` (``run_wrk``, ``parse_wrk``) and, when wrk cannot
  be installed, a bounded Python loop over ``httpx`` (``run_python_load``);
- ``run_measured``: a subprocess with its wall time and peak resident memory;
- ``write_results``: the dated JSON + Markdown pair under ``bench/results/``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
WORK_DIR = BENCH_DIR / "work"  # gitignored: indexes, exported catalog, logs

# The one database the suite must never touch: the test suite's.
FORBIDDEN_DATABASES = frozenset({"test", "postgres", "template0", "template1"})


# --- Machine and versions --------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def machine_info() -> dict:
    """Cores, memory, CPU model, OS and the date: the first lines of every result."""
    return {
        "date": dt.date.today().isoformat(),
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "cpu_model": _cpu_model(),
        "kernel": platform.release(),
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def package_versions(python: str | os.PathLike, packages: list[str]) -> dict[str, str]:
    """Installed versions of ``packages`` in the environment of interpreter ``python``."""
    code = (
        "import json, sys, importlib.metadata as m\n"
        "out = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        out[name] = m.version(name)\n"
        "    except m.PackageNotFoundError:\n"
        "        out[name] = None\n"
        "out['python'] = sys.version.split()[0]\n"
        "print(json.dumps(out))\n"
    )
    try:
        result = subprocess.run(
            [str(python), "-c", code, *packages], capture_output=True, text=True, timeout=60, check=True
        )
        return json.loads(result.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return dict.fromkeys(packages)


def wrk_version() -> str | None:
    exe = shutil.which("wrk")
    if not exe:
        return None
    # wrk prints its version banner on -v and exits non-zero; both streams may carry it.
    result = subprocess.run([exe, "-v"], capture_output=True, text=True, timeout=10)
    match = re.search(r"wrk\s+(\S+)", result.stdout + result.stderr)
    return match.group(1) if match else "unknown"


def postgres_version(url: str) -> str | None:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=5) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
    except Exception:
        return None


def git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        )
        return out.stdout.strip() or None
    except OSError:
        return None


# --- PostgreSQL bench databases --------------------------------------------------------------


def admin_url() -> str:
    """Where to connect to create and drop bench databases (``BENCH_PG_URL``)."""
    return os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def database_url(name: str) -> str:
    """The URL of bench database ``name`` on the same server as ``admin_url()``."""
    base = admin_url().rsplit("/", 1)[0]
    return f"{base}/{name}"


def _check_name(name: str) -> None:
    if name in FORBIDDEN_DATABASES or not re.fullmatch(r"[a-z_][a-z0-9_]{2,62}", name):
        raise ValueError(f"refusing to create/drop database {name!r}")
    if "bench" not in name:
        raise ValueError(f"bench databases must have 'bench' in their name, not {name!r}")


def drop_database(name: str) -> None:
    import psycopg

    _check_name(name)
    with psycopg.connect(admin_url(), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_database(name: str, *, replace: bool = True) -> str:
    """Create (by default: re-create) bench database ``name``; return its URL."""
    import psycopg

    _check_name(name)
    if replace:
        drop_database(name)
    with psycopg.connect(admin_url(), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return database_url(name)


def area_database(area: str) -> str | None:
    """A database of its own for an area script that the suite runs (``BENCH_PG_URL`` is set).

    It is a copy (``CREATE DATABASE ... TEMPLATE``) of the suite's migrated Koszyk bench database
    in ``DATABASE_URL``, so the script needs no migration and cannot disturb the next script;
    without a usable template it is created empty and migrated. ``DATABASE_URL`` is pointed at
    it (call this before Django is set up) and it is dropped when the process exits. Run
    standalone (no ``BENCH_PG_URL``), a script keeps the ``DATABASE_URL`` it was given: returns
    None.
    """
    import atexit

    import psycopg

    if not os.environ.get("BENCH_PG_URL"):
        return None
    name = f"koszyk_bench_area_{area}"
    _check_name(name)
    source = os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1].split("?", 1)[0]
    drop_database(name)
    copied = False
    if "bench" in source and re.fullmatch(r"[a-z_][a-z0-9_]{2,62}", source):
        try:
            with psycopg.connect(admin_url(), autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
            copied = True
        except psycopg.Error as error:  # e.g. someone is still connected to the template
            log(f"could not copy {source} ({error}); migrating an empty database instead")
    if not copied:
        create_database(name)
    os.environ["DATABASE_URL"] = database_url(name)
    atexit.register(_drop_quietly, name)
    if not copied:
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--verbosity", "0"],
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings"},
            check=True,
        )
    return name


def _drop_quietly(name: str) -> None:
    try:
        drop_database(name)
    except Exception as error:
        log(f"could not drop {name}: {error}")


def write_area_json(path: str | os.PathLike | None, area: str, figures: list[dict], **extra) -> None:
    """The suite's machine-readable result of an area script (``--json PATH``): each figure as
    ``{"name", "value", "unit", "floor", "ratio"}`` where it has a floor."""
    if not path:
        return
    payload = {"area": area, "machine": machine_info(), "figures": figures, **extra}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")


def database_exists(name: str) -> bool:
    import psycopg

    with psycopg.connect(admin_url(), autocommit=True, connect_timeout=5) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


# --- Ports and HTTP --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, *, host: str | None = None, timeout: float = 30.0) -> tuple[int, bytes]:
    """One GET to a loopback URL: (status, body). HTTP errors are returned, not raised."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("the suite only sends requests to 127.0.0.1")
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# --- gunicorn --------------------------------------------------------------------------------


def _vm_hwm_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (``/proc/<pid>/stat``), 0 if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


@dataclass
class Gunicorn:
    """A gunicorn serving ``app`` on a free loopback port; use as a context manager.

    The same settings for every contender: ``workers`` sync workers, no access log, bound to
    127.0.0.1 only. ``__exit__`` always stops it (SIGTERM, then SIGKILL after a grace period)
    and records each worker's peak resident memory in ``worker_peak_kib``.
    """

    name: str
    python: str
    app: str
    cwd: Path
    env: dict = field(default_factory=dict)
    workers: int = 2
    ready_path: str = "/"
    ready_host: str | None = None
    timeout: int = 60
    port: int = 0
    process: subprocess.Popen | None = None
    worker_peak_kib: list[int] = field(default_factory=list)
    log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            self.python,
            "-m",
            "gunicorn",
            self.app,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            "sync",
            "--timeout",
            str(self.timeout),
            "--log-level",
            "warning",
            "--backlog",
            "2048",
        ]

    def __enter__(self) -> Gunicorn:
        self.port = free_port()
        WORK_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = WORK_DIR / f"gunicorn-{self.name}.log"
        env = {**os.environ, **self.env}
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.cwd,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self, deadline_seconds: float = 120.0) -> None:
        deadline = time.monotonic() + deadline_seconds
        last_error = ""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {self.name} exited early; see {self.log_path}")
            try:
                status, _ = http_get(self.base_url + self.ready_path, host=self.ready_host, timeout=10)
                if status < 500:
                    return
                last_error = f"HTTP {status}"
            except OSError as error:
                last_error = str(error)
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn {self.name} not ready after {deadline_seconds}s: {last_error}")

    def worker_pids(self) -> list[int]:
        return _children(self.process.pid) if self.process else []

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the workers: the server's own cost, whatever else runs on
        the machine (a worker replaced meanwhile loses its count: compare around short runs)."""
        return sum(process_cpu_seconds(pid) for pid in self.worker_pids())

    def wait_idle(self, *, quiet_ms: float = 5.0, every: float = 0.5, limit: float = 120.0) -> float:
        """Wait until the workers stop burning CPU (at most ``limit`` seconds); return the wait.

        A load tool that gives up on slow requests leaves them queued in the listen backlog: a
        sync worker still serves each one. Draining between runs keeps one page's backlog from
        eating into the next page's measurement.
        """
        started = time.monotonic()
        last = self.cpu_seconds()
        while time.monotonic() - started < limit:
            time.sleep(every)
            now = self.cpu_seconds()
            if (now - last) * 1000 < quiet_ms:
                break
            last = now
        return time.monotonic() - started

    def __exit__(self, *exc) -> None:
        if self.process is None:
            return
        with contextlib.suppress(Exception):
            self.worker_peak_kib = [k for k in (_vm_hwm_kib(p) for p in self.worker_pids()) if k]
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        with contextlib.suppress(Exception):
            self._log.close()


# --- Load generation -------------------------------------------------------------------------


@dataclass
class LoadResult:
    tool: str
    url: str
    duration_s: float
    connections: int
    requests: int
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    non_2xx: int = 0
    socket_errors: int = 0
    server_cpu_ms_per_request: float | None = None
    raw: str = ""

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("raw", None)
        return data


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _to_ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {value!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def _count(value: str) -> int:
    """wrk's request counts: ``16000`` or ``1.60k`` / ``2.10M``."""
    match = re.fullmatch(r"([\d.]+)([kMG]?)", value.strip())
    if not match:
        raise ValueError(f"not a wrk count: {value!r}")
    factor = {"": 1, "k": 1_000, "M": 1_000_000, "G": 1_000_000_000}[match.group(2)]
    return round(float(match.group(1)) * factor)


def parse_wrk(output: str) -> dict:
    """Parse ``wrk --latency`` output into requests, rps, p50/p99 (ms), errors.

    Raises ``ValueError`` when the output has no ``Requests/sec`` line (wrk failed).
    """
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if not rps:
        raise ValueError("wrk output has no Requests/sec line")
    result: dict = {"rps": float(rps.group(1)), "p50_ms": None, "p99_ms": None}
    total = re.search(r"^\s*(\S+) requests in ([\d.]+\w+),", output, re.M)
    result["requests"] = _count(total.group(1)) if total else 0
    result["elapsed_ms"] = _to_ms(total.group(2)) if total else None
    distribution = output.split("Latency Distribution", 1)
    if len(distribution) == 2:
        for pct, value in re.findall(r"^\s*(50|75|90|99)(?:\.0+)?%\s+(\S+)", distribution[1], re.M):
            result[f"p{pct}_ms"] = round(_to_ms(value), 3)
    if result["requests"] == 0:
        # wrk prints 0.00us percentiles when nothing completed: that is "no data", not "instant".
        result["p50_ms"] = result["p99_ms"] = result["p75_ms"] = result["p90_ms"] = None
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    result["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    result["socket_errors"] = sum(int(x) for x in sockets.groups()) if sockets else 0
    return result


def ensure_wrk(*, allow_install: bool = True) -> str | None:
    """Path to wrk; installs Debian's package with apt-get when missing and allowed (root)."""
    exe = shutil.which("wrk")
    if exe or not allow_install or not shutil.which("apt-get"):
        return exe
    prefix = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if prefix is None:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(
            [*prefix, "apt-get", "install", "-y", "-q", "wrk"],
            env=env,
            timeout=300,
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.SubprocessError):
        try:
            subprocess.run(
                [*prefix, "apt-get", "update", "-q"], env=env, timeout=300, check=True, capture_output=True
            )
            subprocess.run(
                [*prefix, "apt-get", "install", "-y", "-q", "wrk"],
                env=env,
                timeout=300,
                check=True,
                capture_output=True,
            )
        except (OSError, subprocess.SubprocessError):
            return None
    return shutil.which("wrk")


def run_wrk(
    url: str,
    *,
    host: str | None = None,
    duration: float = 10,
    connections: int = 4,
    threads: int = 1,
    timeout: float = 10,
    headers: dict | None = None,
) -> LoadResult:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("load goes to 127.0.0.1 only")
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        f"--timeout={max(1, round(timeout))}s",
        "--latency",
    ]
    for name, value in {**({"Host": host} if host else {}), **(headers or {})}.items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + timeout + 60)
    parsed = parse_wrk(out.stdout)
    return LoadResult(
        tool="wrk",
        url=url,
        duration_s=duration,
        connections=connections,
        requests=parsed["requests"],
        rps=parsed["rps"],
        p50_ms=parsed["p50_ms"],
        p99_ms=parsed["p99_ms"],
        non_2xx=parsed["non_2xx"],
        socket_errors=parsed["socket_errors"],
        raw=out.stdout,
    )


def percentile(sorted_values: list[float], pct: float) -> float | None:
    if not sorted_values:
        return None
    # Nearest rank: the smallest value with at least pct% of the values at or below it.
    index = min(len(sorted_values) - 1, max(0, math.ceil(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def run_python_load(
    url: str,
    *,
    host: str | None = None,
    duration: float = 10,
    connections: int = 4,
    headers: dict | None = None,
    max_requests: int = 1_000_000,
) -> LoadResult:
    """The fallback when wrk is unavailable: ``connections`` threads, each with one keep-alive
    ``httpx`` client, GET in a loop until ``duration`` seconds or ``max_requests`` (bounded).

    Slower than wrk (the client's own CPU competes with the server), so only compare figures
    measured with the same tool; the result says which tool it used.
    """
    import httpx

    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("load goes to 127.0.0.1 only")
    hdrs = {**({"Host": host} if host else {}), **(headers or {})}
    latencies: list[float] = []
    errors = [0, 0]  # non-2xx/3xx, transport errors
    lock = threading.Lock()
    deadline = time.monotonic() + duration
    budget = [max_requests]

    def worker() -> None:
        local: list[float] = []
        bad = transport = 0
        with httpx.Client(headers=hdrs, timeout=10) as client:
            while time.monotonic() < deadline:
                with lock:
                    if budget[0] <= 0:
                        break
                    budget[0] -= 1
                start = time.perf_counter()
                try:
                    response = client.get(url)
                    response.read()
                    if response.status_code >= 400:
                        bad += 1
                except httpx.HTTPError:
                    transport += 1
                    continue
                local.append((time.perf_counter() - start) * 1000)
        with lock:
            latencies.extend(local)
            errors[0] += bad
            errors[1] += transport

    started = time.monotonic()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 30)
    elapsed = time.monotonic() - started
    latencies.sort()
    return LoadResult(
        tool="python-httpx",
        url=url,
        duration_s=duration,
        connections=connections,
        requests=len(latencies),
        rps=round(len(latencies) / elapsed, 2) if elapsed else 0.0,
        p50_ms=round(percentile(latencies, 50), 3) if latencies else None,
        p99_ms=round(percentile(latencies, 99), 3) if latencies else None,
        non_2xx=errors[0],
        socket_errors=errors[1],
    )


def run_load(url: str, *, use_wrk: bool, **kwargs) -> LoadResult:
    if use_wrk:
        return run_wrk(url, **kwargs)
    kwargs.pop("threads", None)
    kwargs.pop("timeout", None)
    return run_python_load(url, **kwargs)


# --- Subprocesses with time and memory -------------------------------------------------------


@dataclass
class Measured:
    cmd: list[str]
    returncode: int | None
    wall_s: float
    peak_rss_mib: float | None
    stdout: str
    stderr: str
    timed_out: bool = False


def run_measured(
    cmd: list[str], *, cwd: Path | None = None, env: dict | None = None, timeout: float = 600
) -> Measured:
    """Run ``cmd``; return its exit code, wall time and peak resident memory (``wait4`` rusage:
    the process and the descendants it waited for). Killed (whole process group) at ``timeout``.
    """
    out_path = WORK_DIR / f"sub-{os.getpid()}-{time.monotonic_ns()}.out"
    err_path = out_path.with_suffix(".err")
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    timed_out = False
    with open(out_path, "w") as out, open(err_path, "w") as err:
        process = subprocess.Popen(
            cmd,
            cwd=cwd or ROOT,
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        deadline = started + timeout
        status = rusage = None
        while True:
            pid, status, rusage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                timed_out = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                _, status, rusage = os.wait4(process.pid, 0)
                break
            time.sleep(0.05)
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    stdout, stderr = out_path.read_text(errors="replace"), err_path.read_text(errors="replace")
    out_path.unlink(missing_ok=True)
    err_path.unlink(missing_ok=True)
    # ru_maxrss is KiB on Linux.
    peak = round(rusage.ru_maxrss / 1024, 1) if rusage else None
    return Measured(cmd, process.returncode, round(wall, 3), peak, stdout, stderr, timed_out)


def self_peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# --- The shared shape of a storefront/API load script ---------------------------------------


def run_setup(python: str, code: str, argv: list[str], env: dict) -> dict:
    """Run a script's Django setup snippet (``python -c code argv...``) and return the JSON it
    prints last; a failure raises ``RuntimeError`` with the end of its stderr."""
    out = subprocess.run(
        [python, "-c", code, *[str(a) for a in argv]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"setup failed (exit {out.returncode}):\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_paths(
    server: Gunicorn,
    paths: dict[str, str],
    *,
    host: str | None,
    duration: float,
    connections: int,
    warmup: float = 0.0,
    use_wrk: bool,
) -> dict[str, dict]:
    """Load each path of a running server in turn: one warming GET, ``warmup`` seconds of
    unmeasured load, then ``duration`` seconds measured, with the workers' CPU per request
    (drained before and after, so one path's backlog never counts against the next)."""
    results = {}
    for name, path in paths.items():
        url = server.base_url + path
        http_get(url, host=host)
        if warmup:
            run_load(url, use_wrk=use_wrk, host=host, duration=warmup, connections=min(2, connections))
        server.wait_idle()
        cpu_before = server.cpu_seconds()
        load = run_load(url, use_wrk=use_wrk, host=host, duration=duration, connections=connections)
        server.wait_idle()
        cpu = server.cpu_seconds() - cpu_before
        if load.requests:
            load.server_cpu_ms_per_request = round(cpu * 1000 / load.requests, 3)
        results[name] = {**load.to_dict(), "path": path}
        log(
            f"{name:22} {load.rps:8.1f} req/s  p50 {load.p50_ms} ms  p99 {load.p99_ms} ms  "
            f"CPU {fmt(load.server_cpu_ms_per_request, 2)} ms/req  non-2xx {load.non_2xx}"
        )
    return results


def finish(
    data: dict, markdown: str, *, json_path: Path | None, prefix: str, write_results_files: bool
) -> None:
    """Print the report, write the suite's JSON (``--json``) and, unless told not to (smoke runs,
    ``--no-results``), the dated ``bench/results/<prefix>-<date>.*`` pair."""
    print(markdown)
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    if write_results_files:
        write_results(data, markdown, prefix=prefix)


# --- Results ---------------------------------------------------------------------------------


def ratio(a: float | None, b: float | None, digits: int = 2) -> float | None:
    if a is None or b in (None, 0):
        return None
    return round(a / b, digits)


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits: int = 1, suffix: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{suffix}"
    return f"{value}{suffix}"


def markdown_table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(
    data: dict,
    markdown: str,
    *,
    prefix: str = "bench",
    date: str | None = None,
    results_dir: Path = RESULTS_DIR,
) -> tuple[Path, Path]:
    """Write ``<prefix>-<date>.json`` and ``.md`` (a second run the same day overwrites them)."""
    date = date or dt.date.today().isoformat()
    results_dir.mkdir(parents=True, exist_ok=True)
    json_path = results_dir / f"{prefix}-{date}.json"
    md_path = results_dir / f"{prefix}-{date}.md"
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    md_path.write_text(markdown.rstrip() + "\n")
    return json_path, md_path


def log(message: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"[bench {stamp}] {message}", file=sys.stderr, flush=True)

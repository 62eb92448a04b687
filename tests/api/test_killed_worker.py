"""A gunicorn worker SIGKILLed while it serves an ``Idempotency-Key`` request, for real.

Each test starts gunicorn as the Dockerfile does (its command line, the repo's ``gunicorn.conf.py``,
one worker) on a free loopback port against the test database, with
``API_IDEMPOTENCY_STALE_SECONDS`` small. The request is held at a chosen point by a PostgreSQL
lock the test holds (the shopper lock ``place_order`` takes inside the order's transaction, a
stock row, the idempotency record's row); once PostgreSQL shows the worker's session waiting
there, the worker is killed. ``client_connection_check_interval`` (``PGOPTIONS``) lets
PostgreSQL end the dead worker's session while it still waits, as it does at once for a worker
killed between two statements, so nothing it had not committed is committed after its death.

Then: a retry while the record is fresh is 409 ``idempotency_in_progress`` with ``Retry-After``;
after the stale time the retry answers with the order placed for that cart, or places it, once;
bulk stock rows with a ``delta`` are applied once whatever the moment of the kill.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection

from catalog.models import StockItem, StockReservation
from orders.models import Cart, Order
from shop.api import keys
from shop.api.models import IdempotencyRecord
from tests.api.conftest import ADDRESS
from tests.catalog.factories import VariantFactory, give_stock

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
STALE_SECONDS = 8
CONFIG_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL", "DEBUG", "PGOPTIONS")
CHECKOUT_BODY = {"email": "anna@example.com"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dockerfile_command() -> list[str]:
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("CMD ["):
            return json.loads(line.removeprefix("CMD "))
    raise AssertionError("no CMD in the Dockerfile")


def _database() -> dict:
    db = connection.settings_dict
    return {
        "dbname": db["NAME"],
        "user": db.get("USER") or "postgres",
        "password": db.get("PASSWORD") or "",
        "host": db.get("HOST") or "127.0.0.1",
        "port": str(db.get("PORT") or 5432),
    }


def _pg(autocommit: bool = True):
    import psycopg

    return psycopg.connect(**{k: v for k, v in _database().items() if v}, autocommit=autocommit)


def _wait_for(predicate, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting until {what}")


class Server:
    """gunicorn on a free port; ``kill_worker`` SIGKILLs its worker, the master starts another."""

    def __init__(self, process: subprocess.Popen, port: int, log: Path):
        self.process, self.port, self.log = process, port, log
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Host": "testserver"}, timeout=60
        )

    def worker(self) -> int:
        def find():
            for task in Path(f"/proc/{self.process.pid}/task").iterdir():
                try:  # a thread of the master may end between the listing and the read
                    children = (task / "children").read_text().split()
                except FileNotFoundError:
                    continue
                if children:
                    return int(children[0])
            return None

        return _wait_for(find, "gunicorn has a worker", timeout=60)

    def kill_worker(self) -> None:
        pid = self.worker()
        os.kill(pid, signal.SIGKILL)
        # The master reaps it and forks a new one; wait for the new pid.
        _wait_for(lambda: self.worker() != pid, "gunicorn replaced the killed worker")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture
def server(tmp_path, store):  # the store first: the server caches what a host serves
    if connection.vendor != "postgresql":
        pytest.skip("the killed-worker tests need PostgreSQL (DATABASE_URL=postgres://...)")
    db = _database()
    credentials = db["user"] + (f":{db['password']}" if db["password"] else "")
    port = _free_port()
    command = _dockerfile_command()
    command[0] = str(Path(sys.executable).with_name("gunicorn"))
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    command[command.index("--workers") + 1] = "1"
    # The master loads the app once: a killed worker is replaced by a fork in milliseconds.
    command.append("--preload")
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env.update(
        DJANGO_SETTINGS_MODULE="shop.settings",
        DATABASE_URL=f"postgres://{credentials}@{db['host']}:{db['port']}/{db['dbname']}",
        CONN_MAX_AGE="0",
        SECRET_KEY=settings.SECRET_KEY,
        SECURE_HTTPS="false",
        VAR_DIR=str(tmp_path / "var"),
        # gunicorn itself does not kill the held worker during the test (gunicorn.conf.py reads it);
        # the record counts as abandoned after a few seconds.
        WEB_TIMEOUT_SECONDS="120",
        API_IDEMPOTENCY_STALE_SECONDS=str(STALE_SECONDS),
        PGOPTIONS="-c client_connection_check_interval=100",
        LOG_LEVEL="WARNING",
    )
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, port, log)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if server.http.get("/healthz").status_code in (200, 503):
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not start:\n{server.output()}")
            time.sleep(0.2)
        yield server
    finally:
        server.http.close()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class InFlight:
    """A request sent from a thread; ``outcome()`` is its response or the error it ended with."""

    def __init__(self, send):
        self._result = None
        self._thread = threading.Thread(target=self._run, args=(send,), daemon=True)
        self._thread.start()

    def _run(self, send):
        try:
            self._result = send()
        except httpx.HTTPError as exc:
            self._result = exc

    def outcome(self):
        self._thread.join(timeout=60)
        assert not self._thread.is_alive()
        return self._result


def _waiting_sessions(watch) -> list[int]:
    """PostgreSQL sessions of the test database that wait for a lock (the held worker's)."""
    rows = watch.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    ).fetchall()
    return [pid for (pid,) in rows]


def _kill_held_worker(server: Server, watch, session: int) -> None:
    server.kill_worker()
    _wait_for(
        lambda: not watch.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [session]).fetchone(),
        "PostgreSQL ended the killed worker's session",
        timeout=30,
    )


def _record(key: str) -> IdempotencyRecord | None:
    return IdempotencyRecord.objects.filter(key=key).first()


def _held(variant) -> int:
    return sum(StockReservation.objects.filter(variant=variant).values_list("quantity", flat=True))


def _filled_cart(server: Server, variant, methods) -> str:
    http = server.http
    token = http.post("/api/v1/carts/").json()["token"]
    line = http.post(f"/api/v1/carts/{token}/lines/", json={"variant_id": variant.pk, "quantity": 1})
    assert line.status_code == 201, line.text
    ready = http.patch(
        f"/api/v1/carts/{token}/",
        json={
            "email": "anna@example.com",
            "shipping_method": methods["shipping"].pk,
            "payment_method": methods["transfer"].pk,
            "answers": ADDRESS,
        },
    )
    assert ready.status_code == 200, ready.text
    return token


def _in_progress_then_stale(server: Server, send) -> None:
    """A retry while the record is fresh gets 409 with Retry-After; then wait that long."""
    busy = send()
    assert busy.status_code == 409, busy.text
    assert busy.json()["error"]["code"] == "idempotency_in_progress"
    wait = int(busy.headers["Retry-After"])
    assert 1 <= wait <= STALE_SECONDS
    time.sleep(wait + 0.2)


def test_killed_inside_the_order_transaction_the_retry_places_the_order_once(server, store, variant, methods):
    token = _filled_cart(server, variant, methods)
    path = f"/api/v1/carts/{token}/checkout/"

    def send():
        return server.http.post(path, json=CHECKOUT_BODY, headers={"Idempotency-Key": "k-before"})

    with contextlib.closing(_pg()) as watch, contextlib.closing(_pg()) as holder:
        # place_order takes this lock right after the cart's row, inside the order's transaction.
        holder.execute("SELECT pg_advisory_lock(hashtext(%s))", [f"shopper:{store.pk}:anna@example.com"])
        flight = InFlight(send)
        session = _wait_for(lambda: _waiting_sessions(watch), "the checkout waits inside place_order")[0]
        assert _record("k-before").status_code == 0
        _kill_held_worker(server, watch, session)
    assert isinstance(flight.outcome(), httpx.TransportError)  # no answer: the worker died
    assert Order.objects.count() == 0  # the order's transaction died with it
    assert Cart.objects.get(token=token).status == Cart.Status.OPEN
    assert _record("k-before").status_code == 0

    _in_progress_then_stale(server, send)
    placed = send()
    assert placed.status_code == 201, placed.text
    order = Order.objects.get()
    assert placed.json()["order"]["number"] == order.number
    again = send()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["order"]["number"] == order.number
    assert Order.objects.count() == 1
    assert _held(variant) == 1  # one unit held for the one order, not two


def test_killed_after_the_order_committed_the_retry_answers_with_that_order(server, store, variant, methods):
    token = _filled_cart(server, variant, methods)
    path = f"/api/v1/carts/{token}/checkout/"

    def send():
        return server.http.post(path, json=CHECKOUT_BODY, headers={"Idempotency-Key": "k-after"})

    with (
        contextlib.closing(_pg()) as watch,
        contextlib.closing(_pg()) as shopper_lock,
        contextlib.closing(_pg(autocommit=False)) as record_lock,
    ):
        shopper_lock.execute(
            "SELECT pg_advisory_lock(hashtext(%s))", [f"shopper:{store.pk}:anna@example.com"]
        )
        flight = InFlight(send)
        _wait_for(lambda: _waiting_sessions(watch), "the checkout waits inside place_order")
        # Hold the idempotency record's row, then let the order be placed: the worker commits the
        # order and then waits to record its answer.
        record_lock.execute("SELECT 1 FROM api_idempotencyrecord WHERE key = %s FOR SHARE", ["k-after"])
        shopper_lock.execute(
            "SELECT pg_advisory_unlock(hashtext(%s))", [f"shopper:{store.pk}:anna@example.com"]
        )
        _wait_for(lambda: Order.objects.exists(), "the order is committed")
        session = _wait_for(lambda: _waiting_sessions(watch), "the worker waits to record its answer")[0]
        _kill_held_worker(server, watch, session)
        record_lock.rollback()
    assert isinstance(flight.outcome(), httpx.TransportError)
    order = Order.objects.get()
    assert _record("k-after").status_code == 0  # placed, and its answer never recorded

    _in_progress_then_stale(server, send)
    late = send()
    assert late.status_code == 200, late.text
    assert late.json()["order"]["number"] == order.number
    again = send()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["order"]["number"] == order.number
    assert Order.objects.count() == 1
    assert _held(variant) == 1  # one unit held for the one order, not two


@pytest.fixture
def two_variants(store):
    first = VariantFactory(store=store, sku="RAZ", price=Decimal("10.00"))
    second = VariantFactory(store=store, sku="DWA", price=Decimal("10.00"))
    return give_stock(first, 10), give_stock(second, 10)


def _bulk(server: Server, store):
    _, raw = keys.create_api_key(store=store, name="ERP", scopes=["stock:write"])
    body = {"rows": [{"sku": "RAZ", "delta": 5}, {"sku": "DWA", "delta": -3}]}

    def send():
        return server.http.post(
            "/api/v1/stock/bulk/",
            json=body,
            headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": "count-1"},
        )

    return send


def _quantities(two_variants) -> tuple[int, int]:
    return tuple(StockItem.objects.get(pk=item.pk).quantity for item in two_variants)


def test_stock_deltas_killed_inside_their_transaction_apply_once_on_retry(server, store, two_variants):
    send = _bulk(server, store)
    with contextlib.closing(_pg()) as watch, contextlib.closing(_pg(autocommit=False)) as holder:
        holder.execute("SELECT 1 FROM catalog_stockitem WHERE id = %s FOR UPDATE", [two_variants[1].pk])
        flight = InFlight(send)
        # The first row is written (uncommitted); the second waits for its stock row.
        session = _wait_for(lambda: _waiting_sessions(watch), "the bulk update waits for the second row")[0]
        _kill_held_worker(server, watch, session)
        holder.rollback()
    assert isinstance(flight.outcome(), httpx.TransportError)
    assert _quantities(two_variants) == (10, 10)  # nothing of it was committed
    assert _record("count-1").status_code == 0

    _in_progress_then_stale(server, send)
    applied = send()
    assert applied.status_code == 200, applied.text
    assert [row["quantity"] for row in applied.json()["rows"]] == [15, 7]
    assert _quantities(two_variants) == (15, 7)
    again = send()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == applied.json()
    assert _quantities(two_variants) == (15, 7)


def test_stock_deltas_killed_once_committed_are_never_applied_again(server, store, two_variants):
    send = _bulk(server, store)
    with contextlib.closing(_pg()) as watch:
        flight = InFlight(send)

        def committed():
            rows = watch.execute(
                "SELECT quantity FROM catalog_stockitem WHERE id = ANY(%s)", [[i.pk for i in two_variants]]
            ).fetchall()
            return {q for (q,) in rows} != {10}

        # Killed the moment its rows are visible (before or after its answer was sent: either way).
        _wait_for(committed, "the bulk update committed", timeout=60)
        server.kill_worker()
    flight.outcome()
    assert _quantities(two_variants) == (15, 7)

    # No "in progress" window to wait out: the answer was committed with the rows.
    retry = send()
    assert retry.status_code == 200, retry.text
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert [row["quantity"] for row in retry.json()["rows"]] == [15, 7]
    assert _quantities(two_variants) == (15, 7)

"""The embedded default's Celery broker: kombu's file-system transport, made crash-safe.

``CELERY_BROKER_URL=filesystem://`` (the default, nothing configured) resolves to this transport:
importing this module (``shop.celery`` does, so every web, worker and beat process) points
kombu's ``filesystem`` alias here. Messages are still one JSON file per message in
``var/celery/queue``; what changes (docs/decisions.md, "Embedded broker"):

* **Atomic writes.** kombu writes a message straight into the queue folder under its final name,
  so a consumer listing the folder can pick up a file that is still empty or half written and die
  with ``JSONDecodeError`` ("Unrecoverable error"). Here a message is written to
  ``var/celery/tmp`` (same file system), flushed, and ``os.replace``-d into the queue folder: a
  consumer sees a whole file or none. Exchange tables (``control/*.exchange``) are rewritten the
  same way under a lock file.
* **Unreadable files never stop the worker.** A file that cannot be read or parsed (a leftover of
  an older writer, a full disk, a hand-edited file) is moved to ``var/celery/quarantine`` with an
  error log line, and the worker goes on with the next message.
* **Claimed, not deleted, until acknowledged.** A consumer takes a message by renaming it (atomic
  on one file system, so two consumers never get the same file) into ``var/celery/claimed`` under
  its process id; the file is deleted when the task is acknowledged (``acks_late``: after it ran)
  and put back when it is rejected or restored at shutdown. When a worker is killed (``kill -9``,
  OOM), the next consumer to start puts the files of dead processes back in the queue: nothing a
  worker had taken is lost (Redis's visibility timeout, without the timeout).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
import uuid
from pathlib import Path
from queue import Empty

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, _transport_cache, filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads
from kombu.utils.objects import cached_property

log = logging.getLogger("shop.broker")

# Seconds between two looks for messages claimed by processes that have died.
ORPHAN_SCAN_SECONDS = 30.0
# Temporary files of writers killed between write and rename are removed after this long.
STALE_TMP_SECONDS = 3600.0
CLAIM_SEPARATOR = "~"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    # A zombie (dead, not yet reaped by its parent) answers signal 0 but will never ack.
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def atomic_write(folder: Path, tmp_folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``folder/name`` so that no reader ever sees part of it."""
    fd, tmp = tempfile.mkstemp(dir=tmp_folder, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
        final = folder / name
        os.replace(tmp, final)
        return final
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class Channel(filesystem.Channel):
    """kombu's file-system channel with atomic writes, quarantine and claim-until-ack."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._claims: dict[str, Path] = {}  # delivery tag -> claimed file
        self._no_ack_queues: set[str] = set()
        self._pending: dict[str, list[str]] = {}  # queue -> file names seen, oldest first
        self._next_orphan_scan = 0.0
        self._relist_at = 0.0
        for folder in (self.queue_folder, self.tmp_folder, self.claimed_folder, self.quarantine_folder):
            folder.mkdir(parents=True, exist_ok=True)
        self.control_folder.mkdir(parents=True, exist_ok=True)

    # --- folders ------------------------------------------------------------------------------

    @cached_property
    def queue_folder(self) -> Path:
        return Path(self.data_folder_in)

    def _sibling(self, option: str, name: str) -> Path:
        configured = self.transport_options.get(option)
        return Path(configured) if configured else self.queue_folder.parent / name

    @cached_property
    def tmp_folder(self) -> Path:
        return self._sibling("tmp_folder", "tmp")

    @cached_property
    def claimed_folder(self) -> Path:
        return self._sibling("claimed_folder", "claimed")

    @cached_property
    def quarantine_folder(self) -> Path:
        return self._sibling("quarantine_folder", "quarantine")

    # --- publishing ---------------------------------------------------------------------------

    def _put(self, queue, payload, **kwargs):
        # Same name as kombu's (milliseconds first, so sorting the folder gives the oldest first).
        name = f"{round(time.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        try:
            atomic_write(Path(self.data_folder_out), self.tmp_folder, name, str_to_bytes(dumps(payload)))
        except OSError as exc:
            raise ChannelError(f"Cannot add message {name!r} to the queue folder") from exc

    # --- consuming ----------------------------------------------------------------------------

    def basic_consume(self, queue, no_ack, callback, consumer_tag, **kwargs):
        if no_ack:
            self._no_ack_queues.add(queue)
        else:
            self._no_ack_queues.discard(queue)
        return super().basic_consume(queue, no_ack, callback, consumer_tag, **kwargs)

    def basic_get(self, queue, no_ack=False, **kwargs):
        was = queue in self._no_ack_queues
        if no_ack:
            self._no_ack_queues.add(queue)
        try:
            return super().basic_get(queue, no_ack=no_ack, **kwargs)
        finally:
            if not was:
                self._no_ack_queues.discard(queue)

    def _candidates(self, queue: str) -> list[str]:
        """The queue's message files, oldest last. One listing of the folder serves every queue,
        and an empty queue (the worker's control queue, usually) lists the folder again only
        after a pause ten times as long as the last listing took: with thousands of waiting
        files, listing them for every message made the worker list more than it worked."""
        pending = self._pending.get(queue)
        if pending:
            return pending
        now = time.monotonic()
        if now < self._relist_at:
            return []
        names = sorted(os.listdir(self.queue_folder), reverse=True)  # pop() gives the oldest
        listing: dict[str, list[str]] = {}
        for name in names:
            listing.setdefault(name.partition(".")[2], []).append(name)
        self._pending = {q[: -len(".msg")]: files for q, files in listing.items() if q.endswith(".msg")}
        took = time.monotonic() - now
        self._relist_at = now + min(1.0, 10 * took)
        return self._pending.setdefault(queue, [])

    def _get(self, queue):
        """Take the oldest whole message of ``queue``; unreadable files go to quarantine."""
        self._restore_orphans()
        pending = self._candidates(queue)
        while pending:
            name = pending.pop()
            claimed = self.claimed_folder / f"{os.getpid()}{CLAIM_SEPARATOR}{name}"
            try:
                os.rename(self.queue_folder / name, claimed)
            except FileNotFoundError:
                continue  # another consumer took it
            except OSError as exc:
                log.error("Broker: cannot take %s from the queue folder (%s); skipped", name, exc)
                continue
            try:
                payload = loads(bytes_to_str(claimed.read_bytes()))
                tag = payload["properties"]["delivery_tag"]
            except (OSError, ValueError, TypeError, KeyError) as exc:
                self._quarantine(claimed, name, exc)
                continue
            if queue in self._no_ack_queues:
                claimed.unlink(missing_ok=True)
            else:
                self._claims[tag] = claimed
            return payload
        raise Empty()

    def _quarantine(self, claimed: Path, name: str, exc: Exception) -> None:
        target = self.quarantine_folder / name
        try:
            os.replace(claimed, target)
        except OSError:
            target = claimed
        log.error(
            "Broker: message file %s is unreadable (%s: %s); moved to %s, the worker goes on",
            name,
            type(exc).__name__,
            str(exc)[:200],
            target,
        )

    def _release(self, delivery_tag) -> None:
        claimed = self._claims.pop(delivery_tag, None)
        if claimed is not None:
            claimed.unlink(missing_ok=True)

    def basic_ack(self, delivery_tag, multiple=False):
        super().basic_ack(delivery_tag, multiple=multiple)
        self._release(delivery_tag)

    def basic_reject(self, delivery_tag, requeue=False):
        super().basic_reject(delivery_tag, requeue=requeue)  # requeue: _restore puts a copy back
        self._release(delivery_tag)

    def _restore(self, message):
        super()._restore(message)
        self._release(message.delivery_tag)

    def _restore_orphans(self, *, force: bool = False) -> int:
        """Put back in the queue what dead processes had taken and never acknowledged."""
        now = time.monotonic()
        if not force and now < self._next_orphan_scan:
            return 0
        self._next_orphan_scan = now + ORPHAN_SCAN_SECONDS
        restored = 0
        try:
            names = os.listdir(self.claimed_folder)
        except OSError:
            return 0
        for claimed_name in names:
            pid, sep, name = claimed_name.partition(CLAIM_SEPARATOR)
            if not sep or not pid.isdigit() or _pid_alive(int(pid)):
                continue
            try:
                os.rename(self.claimed_folder / claimed_name, self.queue_folder / name)
            except OSError:
                continue  # another consumer restored it first
            restored += 1
        if restored:
            self._pending.clear()
            self._relist_at = 0.0
            log.warning("Broker: %d message(s) taken by a stopped worker put back in the queue", restored)
        self._remove_stale_tmp()
        return restored

    def _remove_stale_tmp(self) -> None:
        cutoff = time.time() - STALE_TMP_SECONDS
        try:
            entries = list(os.scandir(self.tmp_folder))
        except OSError:
            return
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)

    def _purge(self, queue):
        self._pending.pop(queue, None)
        return super()._purge(queue)

    # --- exchange tables ----------------------------------------------------------------------

    def get_table(self, exchange):
        file = self._exchange_file(exchange)
        for attempt in range(3):
            try:
                data = file.read_bytes()
            except FileNotFoundError:
                return []
            except OSError as exc:
                raise ChannelError(f"Cannot open {file}") from exc
            try:
                return [filesystem.exchange_queue_t(*q) for q in loads(bytes_to_str(data))]
            except (ValueError, TypeError) as exc:
                if attempt == 2:
                    raise ChannelError(f"Unreadable exchange table {file}") from exc
                time.sleep(0.05)  # a table written by an older, non-atomic writer
        return []

    def _update_table(self, exchange, change) -> None:
        """Read-modify-write an exchange table under a lock file; readers see old or new."""
        file = self._exchange_file(exchange)
        self.control_folder.mkdir(parents=True, exist_ok=True)
        try:
            with open(file.with_name(file.name + ".lock"), "a+b") as lock_file:
                filesystem.lock(lock_file, filesystem.LOCK_EX)
                try:
                    try:
                        queues = self.get_table(exchange)
                    except ChannelError:
                        queues = []
                    new = change(list(queues))
                    if new != queues:
                        atomic_write(
                            self.control_folder, self.tmp_folder, file.name, str_to_bytes(dumps(new))
                        )
                finally:
                    filesystem.unlock(lock_file)
        except OSError as exc:
            raise ChannelError(f"Cannot open {file}") from exc

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        value = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")

        def add(queues):
            return queues if value in queues else [value, *queues]

        self._update_table(exchange, add)

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs):
        filesystem.virtual.Channel._delete(self, queue, exchange, routing_key, pattern, *args, **kwargs)
        value = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        if self._exchange_file(exchange).exists():
            self._update_table(exchange, lambda queues: [q for q in queues if q != value])


class Transport(filesystem.Transport):
    Channel = Channel
    global_state = filesystem.virtual.BrokerState()
    driver_name = "koszyk-filesystem"


def install() -> None:
    """Make ``filesystem://`` mean this transport in this process."""
    TRANSPORT_ALIASES["filesystem"] = "shop.broker:Transport"
    _transport_cache.pop("filesystem", None)


install()

"""Backups ("backup danych"): one encrypted archive with a consistent database snapshot and the
media and private files, kept off the machine, and the way back.

Archive layout (a tar.gz, encrypted into ``koszyk-YYYYmmddTHHMMSSffffffZ.tar.gz.enc``)::

    manifest.json        engine, created_at, Django version, applied migrations count, file counts
    database.dump        pg_dump custom format (PostgreSQL)   -- or --
    database.sqlite3     an online copy made with SQLite's backup API (embedded default)
    media/...            every file of the "default" storage (product images)
    private/...          every file of the "private" storage (digital goods, invoices, reports)

The files are read through the storage API, so a backup holds them whether they live on this disk
or in a bucket, and a restore writes them back the same way.

Where archives go: ``STORAGES["backups"]`` (``BACKUP_DIR`` on disk, or a bucket with
``BACKUP_STORAGE=s3``; docs/operations.md). Encryption: :func:`encrypt_stream` -- Fernet from
shop/crypto.py (purpose ``backups``, key ``BACKUP_ENCRYPTION_KEY`` else ``SECRET_KEY``) over 1 MiB
chunks, each carrying its index and a last-chunk flag inside the authenticated plaintext, so a
reordered, cut or altered archive is refused instead of restored. Retention
(:func:`prune_backups`): the newest archive of each of the last ``BACKUP_KEEP_DAILY`` days and
of each of the last ``BACKUP_KEEP_WEEKLY`` ISO weeks.

pg_dump takes its snapshot in one transaction, so the database part is consistent while the
shop keeps selling. Files are copied as they are at that moment; a file uploaded during the
backup may or may not be in it, which never breaks a restore.
"""

from __future__ import annotations

import base64
import json
import os
import posixpath
import re
import shutil
import sqlite3
import struct
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import django
from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder

from shop import crypto

FORMAT_VERSION = 2
MAGIC = b"KOSZYK-BACKUP-FERNET-1\n"
CHUNK_BYTES = 1024 * 1024
# A chunk's plaintext: last-chunk flag (1 byte), index (8 bytes), data.
_HEADER = struct.Struct(">?Q")
_LENGTH = struct.Struct(">I")
# Fernet adds version, time, IV and HMAC (57 bytes) and pads to the AES block.
_MAX_TOKEN_BYTES = CHUNK_BYTES + _HEADER.size + 128
NAME_RE = re.compile(r"^koszyk-(?P<stamp>\d{8}T\d{6}\d{0,6}Z)\.tar\.gz(?P<enc>\.enc)?$")
FILE_STORAGES = (("media", "default"), ("private", "private"))


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class StoredBackup:
    name: str
    size: int


# --- encryption ----------------------------------------------------------------------------------


def encrypt_stream(src: BinaryIO, dst: BinaryIO, *, chunk_bytes: int = CHUNK_BYTES) -> None:
    """Encrypt ``src`` into ``dst`` chunk by chunk (memory stays at one chunk)."""
    fernet = crypto.fernet("backups")
    dst.write(MAGIC)
    index = 0
    chunk = src.read(chunk_bytes)
    while True:
        following = src.read(chunk_bytes)
        last = not following
        token = base64.urlsafe_b64decode(fernet.encrypt(_HEADER.pack(last, index) + chunk))
        dst.write(_LENGTH.pack(len(token)))
        dst.write(token)
        if last:
            return
        chunk, index = following, index + 1


def decrypt_stream(src: BinaryIO, dst: BinaryIO) -> None:
    """Decrypt what :func:`encrypt_stream` wrote; refuses a wrong key, an altered, reordered or
    cut archive."""
    if src.read(len(MAGIC)) != MAGIC:
        raise BackupError("Not an encrypted Koszyk backup.")
    fernet = crypto.fernet("backups")
    expected = 0
    while True:
        length = src.read(_LENGTH.size)
        if len(length) < _LENGTH.size:
            raise BackupError("The backup is incomplete (it ends before its last part).")
        (size,) = _LENGTH.unpack(length)
        if size > _MAX_TOKEN_BYTES:
            raise BackupError("The backup is damaged (a part is larger than any part written).")
        token = src.read(size)
        if len(token) < size:
            raise BackupError("The backup is incomplete (it ends before its last part).")
        try:
            plain = fernet.decrypt(base64.urlsafe_b64encode(token))
        except InvalidToken as exc:
            raise BackupError(
                "The backup cannot be decrypted: it was made with another BACKUP_ENCRYPTION_KEY "
                "(or SECRET_KEY), or it was altered."
            ) from exc
        last, index = _HEADER.unpack_from(plain)
        if index != expected:
            raise BackupError("The backup is damaged (its parts are out of order).")
        dst.write(plain[_HEADER.size :])
        if last:
            if src.read(1):
                raise BackupError("The backup is damaged (data after its last part).")
            return
        expected += 1


# --- where archives are kept ---------------------------------------------------------------------


def backup_storage(directory: Path | str | None = None) -> Storage:
    """``STORAGES["backups"]``, or a directory given on the command line."""
    if directory:
        return FileSystemStorage(location=str(directory))
    return storages["backups"]


def list_backups(directory: Path | str | None = None) -> list[str]:
    """Names of the stored archives, newest first."""
    storage = backup_storage(directory)
    try:
        _dirs, files = storage.listdir("")
    except FileNotFoundError:
        return []
    return sorted((f for f in files if NAME_RE.match(f)), key=_stamp, reverse=True)


def _stamp(name: str) -> datetime:
    raw = NAME_RE.match(name)["stamp"]
    return datetime.strptime(raw[:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)


def retained(names: list[str], *, daily: int, weekly: int) -> set[str]:
    """The archives a retention of ``daily`` days and ``weekly`` ISO weeks keeps: the newest of
    each such day and week (days and weeks that have an archive), and always the newest one."""
    ordered = sorted(names, key=_stamp, reverse=True)
    keep: set[str] = set(ordered[:1])
    days: set = set()
    weeks: set = set()
    for name in ordered:
        moment = _stamp(name)
        day, week = moment.date(), moment.isocalendar()[:2]
        if day not in days and len(days) < daily:
            days.add(day)
            keep.add(name)
        if week not in weeks and len(weeks) < weekly:
            weeks.add(week)
            keep.add(name)
    return keep


def prune_backups(
    *, keep: int | None = None, weekly: int | None = None, directory: Path | str | None = None
) -> list[str]:
    """Delete the archives the retention does not keep; returns their names.

    ``keep``: days (default ``BACKUP_KEEP_DAILY``); ``weekly``: ISO weeks (``BACKUP_KEEP_WEEKLY``).
    """
    daily = settings.BACKUP_KEEP_DAILY if keep is None else keep
    weekly = settings.BACKUP_KEEP_WEEKLY if weekly is None else weekly
    storage = backup_storage(directory)
    names = list_backups(directory)
    kept = retained(names, daily=max(daily, 0), weekly=max(weekly, 0))
    removed = [name for name in names if name not in kept]
    for name in removed:
        storage.delete(name)
    return removed


# --- making one ----------------------------------------------------------------------------------


def _pg_params(db: dict) -> tuple[list[str], dict[str, str]]:
    args = []
    if db.get("HOST"):
        args += ["-h", str(db["HOST"])]
    if db.get("PORT"):
        args += ["-p", str(db["PORT"])]
    if db.get("USER"):
        args += ["-U", str(db["USER"])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def _db_settings_from_url(url: str) -> dict:
    import environ

    return environ.Env.db_url_config(url)


def _walk(storage: Storage, prefix: str = "", *, skip: str | None = None):
    """Every file name under ``prefix`` of ``storage`` (through ``listdir``: disk or bucket)."""
    try:
        dirs, files = storage.listdir(prefix)
    except FileNotFoundError:
        return
    for name in sorted(files):
        yield posixpath.join(prefix, name) if prefix else name
    for name in sorted(dirs):
        path = posixpath.join(prefix, name) if prefix else name
        if path != skip:
            yield from _walk(storage, path, skip=skip)


def _skipped_prefix(storage: Storage, archives: Storage) -> str | None:
    """The archives' own folder when they share a bucket with ``storage`` (never back up backups)."""
    bucket = getattr(storage, "bucket_name", None)
    if bucket and bucket == getattr(archives, "bucket_name", None):
        return (getattr(archives, "location", "") or "").strip("/") or None
    return None


def _add_files(tar: tarfile.TarFile, arcroot: str, storage: Storage, *, skip: str | None) -> int:
    count = 0
    now = time.time()
    for name in _walk(storage, skip=skip):
        with storage.open(name, "rb") as fh:
            info = tarfile.TarInfo(f"{arcroot}/{name}")
            info.size = storage.size(name)
            info.mtime = now
            tar.addfile(info, fh)
        count += 1
    return count


def _dump_database(tmpdir: Path, database: str) -> tuple[Path, str]:
    db = settings.DATABASES[database]
    if db["ENGINE"].startswith("django.db.backends.postgresql"):
        dump = tmpdir / "database.dump"
        args, env = _pg_params(db)
        result = subprocess.run(
            ["pg_dump", "-Fc", "--no-owner", "--no-privileges", *args, "-f", str(dump), str(db["NAME"])],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
        return dump, "postgresql"
    if db["ENGINE"] == "django.db.backends.sqlite3":
        dump = tmpdir / "database.sqlite3"
        connections[database].ensure_connection()
        source = connections[database].connection
        dest = sqlite3.connect(dump)
        with dest:
            source.backup(dest)
        dest.close()
        return dump, "sqlite"
    raise BackupError(f"Unsupported database engine {db['ENGINE']}")


def create_backup(*, directory: Path | str | None = None, database: str = "default") -> StoredBackup:
    """Write one encrypted archive to the backup storage (or ``directory``) and return it."""
    archives = backup_storage(directory)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"koszyk-{stamp}.tar.gz.enc"
    with tempfile.TemporaryDirectory(prefix="koszyk-backup-") as tmp:
        tmpdir = Path(tmp)
        dump, engine = _dump_database(tmpdir, database)
        plain = tmpdir / "archive.tar.gz"
        counts = {}
        with tarfile.open(plain, "w:gz") as tar:
            tar.add(dump, arcname=dump.name)
            for arcroot, alias in FILE_STORAGES:
                storage = storages[alias]
                counts[arcroot] = _add_files(tar, arcroot, storage, skip=_skipped_prefix(storage, archives))
            manifest = {
                "format": FORMAT_VERSION,
                "engine": engine,
                "created_at": datetime.now(UTC).isoformat(),
                "django": django.get_version(),
                "migrations": MigrationRecorder(connections[database]).migration_qs.count(),
                "files": counts,
            }
            (tmpdir / "manifest.json").write_text(json.dumps(manifest, indent=2))
            tar.add(tmpdir / "manifest.json", arcname="manifest.json")
        sealed = tmpdir / name
        with open(plain, "rb") as src, open(sealed, "wb") as dst:
            encrypt_stream(src, dst)
        plain.unlink()
        with open(sealed, "rb") as fh:
            _store(archives, name, fh)
        size = sealed.stat().st_size
    return StoredBackup(name=name, size=size)


def _store(archives: Storage, name: str, fh: BinaryIO) -> None:
    """Upload (a bucket's PUT is atomic) or, on disk, write beside the final name and rename, so a
    crash never leaves half an archive under a backup's name."""
    if isinstance(archives, FileSystemStorage):
        partial = archives.save(name + ".partial", File(fh))
        os.replace(archives.path(partial), archives.path(name))
    else:
        archives.save(name, File(fh))


# --- restoring -----------------------------------------------------------------------------------


def _safe_members(tar: tarfile.TarFile, prefix: str) -> list[tarfile.TarInfo]:
    members = []
    for m in tar.getmembers():
        if not (m.name == prefix or m.name.startswith(prefix + "/")):
            continue
        if m.issym() or m.islnk() or m.name.startswith("/") or ".." in Path(m.name).parts:
            raise BackupError(f"Refusing unsafe path in archive: {m.name}")
        members.append(m)
    return members


def _fetch(archive: Path | str, directory, into: Path) -> Path:
    """The plain tar.gz of ``archive`` (a stored name, ``latest``, or a local file) in ``into``."""
    archives = backup_storage(directory)
    local = Path(archive)
    if str(archive) == "latest":
        names = list_backups(directory)
        if not names:
            raise BackupError("There is no backup to restore.")
        archive = names[0]
    if local.is_file():
        source = open(local, "rb")  # noqa: SIM115 - closed by the with below
    elif NAME_RE.match(str(archive)) and archives.exists(str(archive)):
        source = archives.open(str(archive), "rb")
    else:
        raise BackupError(f"No such backup: {archive}")
    plain = into / "archive.tar.gz"
    with source as src, open(plain, "wb") as dst:
        if src.read(len(MAGIC)) == MAGIC:
            src.seek(0)
            decrypt_stream(src, dst)
        else:  # an archive made before backups were encrypted
            src.seek(0)
            shutil.copyfileobj(src, dst)
    return plain


def restore_backup(
    archive: Path | str,
    *,
    database_url: str | None = None,
    media_root: Path | None = None,
    private_root: Path | None = None,
    directory: Path | str | None = None,
) -> dict:
    """Restore ``archive`` -- a stored backup's name, ``"latest"`` or a local file -- into an EMPTY
    database (refuses a database that has tables), and its files into the media and private
    storages (or into ``media_root`` / ``private_root`` on disk)."""
    db = _db_settings_from_url(database_url) if database_url else settings.DATABASES["default"]
    with tempfile.TemporaryDirectory(prefix="koszyk-restore-") as tmp:
        tmpdir = Path(tmp)
        plain = _fetch(archive, directory, tmpdir)
        try:
            tar = tarfile.open(plain, "r:gz")  # noqa: SIM115 - closed by the with below
        except tarfile.TarError as exc:
            raise BackupError("Not a Koszyk backup: the archive cannot be read.") from exc
        with tar:
            try:
                manifest = json.load(tar.extractfile("manifest.json"))
            except KeyError as exc:
                raise BackupError("Not a Koszyk backup: manifest.json is missing") from exc
            file_members = {arcroot: _safe_members(tar, arcroot) for arcroot, _alias in FILE_STORAGES}
            _restore_database(tar, manifest, db, tmpdir)
            roots = {"media": media_root, "private": private_root}
            for arcroot, alias in FILE_STORAGES:
                target = (
                    FileSystemStorage(location=str(roots[arcroot])) if roots[arcroot] else storages[alias]
                )
                for member in file_members[arcroot]:
                    if not member.isfile():
                        continue
                    name = member.name[len(arcroot) + 1 :]
                    if target.exists(name):
                        target.delete(name)
                    with tar.extractfile(member) as fh:
                        target.save(name, File(fh))
    return manifest


def _restore_database(tar: tarfile.TarFile, manifest: dict, db: dict, tmpdir: Path) -> None:
    if manifest["engine"] == "postgresql":
        if not db["ENGINE"].startswith("django.db.backends.postgresql"):
            raise BackupError("This backup is from PostgreSQL; restore it into PostgreSQL.")
        _require_empty_postgres(db)
        tar.extractall(tmpdir, members=_safe_members(tar, "database.dump"), filter="data")
        args, env = _pg_params(db)
        result = subprocess.run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                *args,
                "-d",
                str(db["NAME"]),
                str(tmpdir / "database.dump"),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
    elif manifest["engine"] == "sqlite":
        if db["ENGINE"] != "django.db.backends.sqlite3":
            raise BackupError("This backup is from SQLite; restore it into SQLite.")
        path = Path(db["NAME"])
        if path.exists() and _sqlite_has_tables(path):
            raise BackupError(f"The database {path} is not empty; restore needs an empty database.")
        tar.extractall(tmpdir, members=_safe_members(tar, "database.sqlite3"), filter="data")
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmpdir / "database.sqlite3", path)
    else:
        raise BackupError(f"Unknown engine in backup: {manifest['engine']}")


def _sqlite_has_tables(path: Path) -> bool:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0] > 0
    finally:
        con.close()


def _require_empty_postgres(db: dict) -> None:
    import psycopg

    conninfo = {
        "dbname": db["NAME"],
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
    }
    with psycopg.connect(**{k: v for k, v in conninfo.items() if v}) as con:
        n = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()[0]
    if n:
        raise BackupError(f"The database {db['NAME']} is not empty ({n} tables); restore needs an empty one.")

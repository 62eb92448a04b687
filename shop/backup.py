"""Backups ("backup danych"): one compressed archive with a consistent database snapshot and the
media and private files, and the way back.

Archive layout (``koszyk-YYYYmmddTHHMMSSZ.tar.gz``)::

    manifest.json        engine, created_at, Django version, applied migrations count
    database.dump        pg_dump custom format (PostgreSQL)   -- or --
    database.sqlite3     an online copy made with SQLite's backup API (embedded default)
    media/...            MEDIA_ROOT
    private/...          PRIVATE_ROOT (digital goods, invoices)

pg_dump takes its snapshot in one transaction, so the database part is consistent while the
shop keeps selling. Files are copied as they are at that moment; a file uploaded during the
backup may or may not be in it, which never breaks a restore.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import django
from django.conf import settings
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder

FORMAT_VERSION = 1


class BackupError(Exception):
    pass


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


def create_backup(*, directory: Path | None = None, database: str = "default") -> Path:
    directory = Path(directory or settings.BACKUP_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    db = settings.DATABASES[database]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = directory / f"koszyk-{stamp}.tar.gz"
    with tempfile.TemporaryDirectory(prefix="koszyk-backup-") as tmp:
        tmpdir = Path(tmp)
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
            engine = "postgresql"
        elif db["ENGINE"] == "django.db.backends.sqlite3":
            dump = tmpdir / "database.sqlite3"
            connections[database].ensure_connection()
            source = connections[database].connection
            dest = sqlite3.connect(dump)
            with dest:
                source.backup(dest)
            dest.close()
            engine = "sqlite"
        else:
            raise BackupError(f"Unsupported database engine {db['ENGINE']}")
        manifest = {
            "format": FORMAT_VERSION,
            "engine": engine,
            "created_at": datetime.now(UTC).isoformat(),
            "django": django.get_version(),
            "migrations": MigrationRecorder(connections[database]).migration_qs.count(),
        }
        (tmpdir / "manifest.json").write_text(json.dumps(manifest, indent=2))
        partial = target.with_suffix(".partial")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(tmpdir / "manifest.json", arcname="manifest.json")
            tar.add(dump, arcname=dump.name)
            for name, root in (("media", settings.MEDIA_ROOT), ("private", settings.PRIVATE_ROOT)):
                if Path(root).exists():
                    tar.add(root, arcname=name)
        partial.rename(target)  # a crash never leaves a half-written archive under the real name
    return target


def list_backups(directory: Path | None = None) -> list[Path]:
    directory = Path(directory or settings.BACKUP_DIR)
    return sorted(directory.glob("koszyk-*.tar.gz"), reverse=True)


def prune_backups(*, keep: int | None = None, directory: Path | None = None) -> list[Path]:
    keep = settings.BACKUP_KEEP if keep is None else keep
    removed = list_backups(directory)[max(keep, 1) :]
    for path in removed:
        path.unlink()
    return removed


def _safe_members(tar: tarfile.TarFile, prefix: str) -> list[tarfile.TarInfo]:
    members = []
    for m in tar.getmembers():
        if not (m.name == prefix or m.name.startswith(prefix + "/")):
            continue
        if m.issym() or m.islnk() or m.name.startswith("/") or ".." in Path(m.name).parts:
            raise BackupError(f"Refusing unsafe path in archive: {m.name}")
        members.append(m)
    return members


def restore_backup(
    archive: Path,
    *,
    database_url: str | None = None,
    media_root: Path | None = None,
    private_root: Path | None = None,
) -> dict:
    """Restore ``archive`` into an EMPTY database (refuses a database that has tables)."""
    archive = Path(archive)
    if not archive.exists():
        raise BackupError(f"No such backup: {archive}")
    db = _db_settings_from_url(database_url) if database_url else settings.DATABASES["default"]
    with tarfile.open(archive, "r:gz") as tar, tempfile.TemporaryDirectory(prefix="koszyk-restore-") as tmp:
        try:
            manifest = json.load(tar.extractfile("manifest.json"))
        except KeyError as exc:
            raise BackupError("Not a Koszyk backup: manifest.json is missing") from exc
        tmpdir = Path(tmp)
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
        for name, root in (
            ("media", media_root or settings.MEDIA_ROOT),
            ("private", private_root or settings.PRIVATE_ROOT),
        ):
            members = _safe_members(tar, name)
            if not members:
                continue
            tar.extractall(tmpdir / "files", members=members, filter="data")
            Path(root).mkdir(parents=True, exist_ok=True)
            shutil.copytree(tmpdir / "files" / name, root, dirs_exist_ok=True)
    return manifest


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

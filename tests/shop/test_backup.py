"""Backup and restore round trip, on whatever database the suite runs (PostgreSQL in CI)."""

import io
import tarfile
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from shop.backup import (
    MAGIC,
    BackupError,
    create_backup,
    decrypt_stream,
    list_backups,
    prune_backups,
    restore_backup,
)
from tests.shop.factories import StoreFactory


@pytest.fixture
def media_file(settings):
    path = Path(settings.MEDIA_ROOT) / "products" / "1" / "zdjecie.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8 fake jpeg bytes")
    private = Path(settings.PRIVATE_ROOT) / "digital" / "ebook.pdf"
    private.parent.mkdir(parents=True, exist_ok=True)
    private.write_bytes(b"%PDF-1.4 tiny")
    return path


@pytest.mark.django_db(transaction=True)
def test_backup_and_restore_round_trip(tmp_path, media_file):
    StoreFactory(domain="kopia.example.pl", name="Sklep do kopii")
    backup = create_backup(directory=tmp_path / "backups")
    assert backup.name.startswith("koszyk-") and backup.name.endswith(".tar.gz.enc")
    sealed = (tmp_path / "backups" / backup.name).read_bytes()
    assert len(sealed) == backup.size and sealed.startswith(MAGIC)
    assert not list((tmp_path / "backups").glob("*.partial"))
    plain = io.BytesIO()
    decrypt_stream(io.BytesIO(sealed), plain)
    plain.seek(0)
    with tarfile.open(fileobj=plain) as tar:
        names = set(tar.getnames())
    archive = backup.name
    assert "manifest.json" in names
    assert "media/products/1/zdjecie.jpg" in names
    assert "private/digital/ebook.pdf" in names

    restored_media = tmp_path / "restored-media"
    restored_private = tmp_path / "restored-private"
    if connection.vendor == "postgresql":
        db = settings.DATABASES["default"]
        name = f"koszyk_restore_{uuid.uuid4().hex[:8]}"
        admin = psycopg.connect(
            host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname="postgres", autocommit=True
        )
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{name}"
            manifest = restore_backup(
                archive,
                database_url=url,
                media_root=restored_media,
                private_root=restored_private,
                directory=tmp_path / "backups",
            )
            with psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname=name) as c:
                row = c.execute("SELECT name FROM shop_store WHERE domain = 'kopia.example.pl'").fetchone()
            assert row == ("Sklep do kopii",)
            # Restoring again into the now non-empty database is refused.
            with pytest.raises(BackupError, match="not empty"):
                restore_backup(archive, database_url=url, directory=tmp_path / "backups")
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()
        assert manifest["engine"] == "postgresql"
    else:
        import sqlite3

        target = tmp_path / "restored.sqlite3"
        manifest = restore_backup(
            archive,
            database_url=f"sqlite:///{target}",
            media_root=restored_media,
            private_root=restored_private,
            directory=tmp_path / "backups",
        )
        con = sqlite3.connect(target)
        assert con.execute("SELECT name FROM shop_store WHERE domain='kopia.example.pl'").fetchone() == (
            "Sklep do kopii",
        )
        con.close()
        with pytest.raises(BackupError, match="not empty"):
            restore_backup(archive, database_url=f"sqlite:///{target}", directory=tmp_path / "backups")
        assert manifest["engine"] == "sqlite"
    assert (restored_media / "products" / "1" / "zdjecie.jpg").read_bytes() == media_file.read_bytes()
    assert (restored_private / "digital" / "ebook.pdf").read_bytes() == b"%PDF-1.4 tiny"


@pytest.mark.django_db
def test_prune_keeps_the_newest(tmp_path):
    for stamp in ("20260101T000000000000Z", "20260102T000000000000Z", "20260103T000000000000Z"):
        (tmp_path / f"koszyk-{stamp}.tar.gz").write_bytes(b"x")
    removed = prune_backups(keep=2, directory=tmp_path)
    assert removed == ["koszyk-20260101T000000000000Z.tar.gz"]
    assert len(list_backups(tmp_path)) == 2


def test_restore_rejects_an_archive_that_is_not_a_backup(tmp_path):
    bogus = tmp_path / "koszyk-bogus.tar.gz"
    with tarfile.open(bogus, "w:gz") as tar:
        (tmp_path / "x.txt").write_text("hello")
        tar.add(tmp_path / "x.txt", arcname="x.txt")
    with pytest.raises(BackupError, match="manifest"):
        restore_backup(bogus, database_url=f"sqlite:///{tmp_path / 'new.sqlite3'}")


def test_restore_rejects_path_traversal(tmp_path):
    import io
    import json

    evil = tmp_path / "koszyk-evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        for name, data in (
            ("manifest.json", json.dumps({"engine": "sqlite", "created_at": "x"}).encode()),
            ("database.sqlite3", b""),
            ("media/../../escaped.txt", b"pwned"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(BackupError):
        restore_backup(evil, database_url=f"sqlite:///{tmp_path / 'n.sqlite3'}", media_root=tmp_path / "m")
    assert not (tmp_path / "escaped.txt").exists()


def test_restore_command_reports_a_missing_file_clearly(tmp_path):
    with pytest.raises(CommandError, match="No such backup"):
        call_command("restore", str(tmp_path / "nope.tar.gz"))


@pytest.mark.django_db
def test_daily_backup_is_a_periodic_task_merchants_can_see():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="shop.tasks.daily_backup")
    assert task.enabled and task.crontab is not None

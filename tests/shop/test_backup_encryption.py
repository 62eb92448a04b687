"""Backup archives are encrypted in authenticated chunks, and the retention keeps days and weeks."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import CommandError, call_command

from shop import backup
from shop.backup import BackupError, decrypt_stream, encrypt_stream, list_backups, prune_backups, retained


def _seal(data: bytes, chunk_bytes: int = 16) -> bytes:
    out = io.BytesIO()
    encrypt_stream(io.BytesIO(data), out, chunk_bytes=chunk_bytes)
    return out.getvalue()


def _open(sealed: bytes) -> bytes:
    out = io.BytesIO()
    decrypt_stream(io.BytesIO(sealed), out)
    return out.getvalue()


def _chunks(sealed: bytes) -> list[bytes]:
    body, parts = sealed[len(backup.MAGIC) :], []
    while body:
        (n,) = backup._LENGTH.unpack_from(body)
        parts.append(body[: 4 + n])
        body = body[4 + n :]
    return parts


@pytest.mark.parametrize("size", [0, 1, 16, 17, 100])
def test_round_trip_of_any_size(size):
    data = os.urandom(size)
    sealed = _seal(data)
    assert data == _open(sealed)
    if size >= 16:
        assert data not in sealed


def test_a_backup_made_with_another_key_is_refused(settings):
    settings.BACKUP_ENCRYPTION_KEY = "first key of the shop"
    sealed = _seal(b"orders and customers")
    settings.BACKUP_ENCRYPTION_KEY = "a different key"
    with pytest.raises(BackupError, match="BACKUP_ENCRYPTION_KEY"):
        _open(sealed)
    # Rotation: the old key after a comma still opens old archives.
    settings.BACKUP_ENCRYPTION_KEY = "a different key,first key of the shop"
    assert _open(sealed) == b"orders and customers"


def test_the_backup_key_is_not_the_key_of_other_secrets(settings):
    settings.BACKUP_ENCRYPTION_KEY = ""
    settings.INTEGRATIONS_ENCRYPTION_KEY = ""
    from shop import crypto

    token = crypto.encrypt("x", purpose="integrations")
    with pytest.raises(crypto.SecretsUnreadable):
        crypto.decrypt(token, purpose="backups")


def test_cut_reordered_altered_or_extended_archives_are_refused():
    sealed = _seal(b"a" * 40 + b"b" * 40)
    parts = _chunks(sealed)
    assert len(parts) == 5
    with pytest.raises(BackupError, match="incomplete"):
        _open(backup.MAGIC + b"".join(parts[:-1]))  # the last part dropped
    with pytest.raises(BackupError, match="incomplete"):
        _open(sealed[:-3])
    with pytest.raises(BackupError, match="out of order"):
        _open(backup.MAGIC + parts[1] + parts[0] + b"".join(parts[2:]))
    flipped = bytearray(sealed)
    flipped[len(backup.MAGIC) + 30] ^= 1
    with pytest.raises(BackupError, match="altered"):
        _open(bytes(flipped))
    with pytest.raises(BackupError, match="after its last part"):
        _open(sealed + parts[0])
    with pytest.raises(BackupError, match="Not an encrypted"):
        _open(b"PK\x03\x04 a zip file")
    with pytest.raises(BackupError, match="larger"):
        _open(backup.MAGIC + backup._LENGTH.pack(50 * 1024 * 1024) + b"x")


def _name(moment: datetime) -> str:
    return f"koszyk-{moment.strftime('%Y%m%dT%H%M%S%fZ')}.tar.gz.enc"


def test_retention_keeps_the_newest_of_each_recent_day_and_week():
    start = datetime(2026, 3, 1, 3, 30, tzinfo=UTC)  # a Sunday
    names = [_name(start + timedelta(days=d, hours=h)) for d in range(60) for h in (0, 12)]
    kept = retained(names, daily=7, weekly=4)
    newest = start + timedelta(days=59, hours=12)
    days = {_name(newest - timedelta(days=d)) for d in range(7)}
    assert days <= kept
    # Four ISO weeks (Monday to Sunday): the newest of each. The last two weeks' newest are among
    # the seven days already; the two before add their Sundays' evening backups.
    assert kept - days == {
        _name(datetime(2026, 4, 19, 15, 30, tzinfo=UTC)),
        _name(datetime(2026, 4, 12, 15, 30, tzinfo=UTC)),
    }
    assert _name(datetime(2026, 4, 26, 15, 30, tzinfo=UTC)) in days
    assert retained(names, daily=0, weekly=0) == {_name(newest)}  # never nothing


def test_prune_deletes_what_the_retention_drops(tmp_path):
    start = datetime(2026, 3, 2, 3, 30, tzinfo=UTC)
    for d in range(10):
        (tmp_path / _name(start + timedelta(days=d))).write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("not a backup")
    removed = prune_backups(keep=3, weekly=2, directory=tmp_path)
    left = list_backups(tmp_path)
    assert [backup._stamp(n).day for n in left] == [11, 10, 9, 8]  # 3 days, and the week before's Sunday
    assert len(removed) == 6 and not set(removed) & set(left)
    assert (tmp_path / "notes.txt").exists()


@pytest.mark.django_db(transaction=True)
def test_restore_latest_or_by_name_from_the_backup_storage(settings, tmp_path, empty_database_url):
    settings.BACKUP_DIR = tmp_path / "backups"
    private = storages["private"]
    private.save("invoices/1/FV-2026-01-0001.pdf", ContentFile(b"%PDF first"))
    with time_machine.travel(datetime(2026, 3, 2, 3, 30, tzinfo=UTC), tick=True):
        call_command("backup", stdout=io.StringIO())
    private.delete("invoices/1/FV-2026-01-0001.pdf")
    private.save("invoices/1/FV-2026-01-0001.pdf", ContentFile(b"%PDF second"))
    out = io.StringIO()
    with time_machine.travel(datetime(2026, 3, 3, 3, 30, tzinfo=UTC), tick=True):
        call_command("backup", stdout=out)
    assert "Backup written: koszyk-20260303T0330" in out.getvalue()
    listed = io.StringIO()
    call_command("backup", "--list", stdout=listed)
    second, first = listed.getvalue().split()
    assert first.startswith("koszyk-20260302T0330") and second.startswith("koszyk-20260303T0330")

    private.delete("invoices/1/FV-2026-01-0001.pdf")
    call_command("restore", "latest", database_url=empty_database_url, stdout=io.StringIO())
    with private.open("invoices/1/FV-2026-01-0001.pdf") as fh:
        assert fh.read() == b"%PDF second"
    # By name: the older one (into a directory, the database part is refused: not empty now).
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", first, database_url=empty_database_url, private_root=str(tmp_path / "old"))
    with pytest.raises(CommandError, match=r"No such backup: koszyk-20990101T000000000000Z\.tar\.gz\.enc"):
        call_command("restore", "koszyk-20990101T000000000000Z.tar.gz.enc")


def test_restore_latest_without_any_backup_says_so(settings, tmp_path):
    settings.BACKUP_DIR = tmp_path / "none"
    with pytest.raises(CommandError, match="no backup to restore"):
        call_command("restore", "latest")

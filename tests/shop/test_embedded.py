"""shop.embedded.prepare: what manage.py creates before the settings are read."""

from __future__ import annotations

import os

import pytest

from shop import embedded


@pytest.fixture
def var(tmp_path, monkeypatch):
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "state" / "var"))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    return tmp_path / "state" / "var"


def test_creates_var_and_a_private_key_once(var):
    embedded.prepare()
    key_file = var / "secret_key"
    key = key_file.read_text()
    assert len(key) >= 50
    assert key_file.stat().st_mode & 0o077 == 0
    embedded.prepare()
    assert key_file.read_text() == key  # never replaced: sessions and links signed with it stay valid


def test_with_secret_key_set_only_var_is_created(var, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 60)
    embedded.prepare()
    assert var.is_dir()
    assert not (var / "secret_key").exists()


def test_a_key_another_process_wrote_first_is_kept(var, monkeypatch):
    """Two commands started at once: whoever creates the file first wins, the other reads it."""
    var.mkdir(parents=True)
    real_open = os.open

    def racing_open(path, flags, mode=0o777):
        if str(path).endswith("secret_key") and flags & os.O_EXCL:
            (var / "secret_key").write_text("theirs")
        return real_open(path, flags, mode)

    monkeypatch.setattr(embedded.os, "open", racing_open)
    embedded.prepare()
    assert (var / "secret_key").read_text() == "theirs"


def test_var_dir_defaults_to_the_project(monkeypatch):
    monkeypatch.delenv("VAR_DIR", raising=False)
    assert embedded.var_dir() == embedded.BASE_DIR / "var"
    monkeypatch.setenv("VAR_DIR", "")
    assert embedded.var_dir() == embedded.BASE_DIR / "var"

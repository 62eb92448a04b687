"""Local state of the embedded default that must exist before Django starts.

Importing the settings writes nothing (a read-only container with ``SECRET_KEY`` set touches no
file). The one file the embedded default needs before its settings are read, the generated
``SECRET_KEY`` in ``var/secret_key``, is created here, called by ``manage.py`` before any command
runs, so ``make run`` (``manage.py serve``) creates it before it starts the web server, the worker
and beat, which then all read the same key. Directories are created by what writes into them (the
file cache, the mailbox, the broker, storage).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent


def read_dotenv() -> None:
    """Read ``.env`` from the project root into the environment (variables already set win)."""
    env_file = BASE_DIR / ".env"
    if env_file.exists():  # pragma: no cover - developer convenience
        environ.Env.read_env(str(env_file))


def var_dir() -> Path:
    return Path(os.environ.get("VAR_DIR") or BASE_DIR / "var")


def secret_key_file() -> Path:
    return var_dir() / "secret_key"


def prepare() -> None:
    """Create ``VAR_DIR`` (the SQLite database, beat's schedule file and the rest live there) and,
    when ``SECRET_KEY`` is not set and no key exists yet, ``var/secret_key`` (mode 600)."""
    read_dotenv()
    var_dir().mkdir(parents=True, exist_ok=True)
    path = secret_key_file()
    if os.environ.get("SECRET_KEY") or path.exists():
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: theirs is the key
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(64))

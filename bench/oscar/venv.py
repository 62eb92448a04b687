"""Create django-oscar's own virtual environment (``bench/.oscar-venv``, gitignored).

``python3 -m venv`` + ``pip install -r bench/oscar/requirements.txt``; a stamp file holding the
requirements' hash makes the next run skip the install (and redo it when the pins change). Runs
from Koszyk's environment; nothing of Oscar is ever imported into it.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE.parent / ".oscar-venv"
REQUIREMENTS = HERE / "requirements.txt"
STAMP = VENV / ".bench-requirements.sha256"


def python_path() -> Path:
    return VENV / "bin" / "python"


def _requirements_hash() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def is_ready() -> bool:
    """The venv exists and holds exactly the pinned requirements (no network needed)."""
    return python_path().exists() and STAMP.exists() and STAMP.read_text().strip() == _requirements_hash()


def _base_python() -> str:
    candidate = shutil.which("python3")
    if candidate:
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info >= (3, 11))"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if probe.stdout.strip() == "True":
            return candidate
    return sys.executable


def ensure(*, log=print, timeout: float = 900) -> Path:
    """Create/refresh the venv when needed; return its interpreter. Raises on failure."""
    if is_ready():
        return python_path()
    if not python_path().exists():
        log(f"creating {VENV} (python3 -m venv)")
        subprocess.run([_base_python(), "-m", "venv", str(VENV)], check=True, timeout=300)
    pip = [str(python_path()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    log(f"installing {REQUIREMENTS.name} into {VENV.name} (one-off, about a minute)")
    subprocess.run([*pip, "--upgrade", "pip"], check=True, timeout=timeout)
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True, timeout=timeout)
    STAMP.write_text(_requirements_hash() + "\n")
    return python_path()


if __name__ == "__main__":
    print(ensure())

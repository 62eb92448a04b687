"""docs/configuration.md lists every environment variable the code reads, and only those.

The names are found by parsing the project's Python (not the tests, benchmarks or the virtualenv):
``env.<cast>("NAME", ...)`` / ``env("NAME")`` of django-environ, ``os.environ.get("NAME")``,
``os.environ["NAME"]``, ``os.getenv("NAME")`` and ``os.environ.setdefault("NAME", ...)``. A variable
counts as documented when it appears in backticks in the first column of a table row.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"
SKIPPED_DIRS = {".venv", "venv", "tests", "bench", "var", "node_modules", "staticfiles", ".git", "build"}
ENVIRON_CALLS = {"os.environ.get", "os.getenv", "os.environ.setdefault", "environ.get", "getenv"}


def _is_env_reader(func: ast.expr) -> bool:
    """``env(...)`` or ``env.<cast>(...)`` (django-environ), or one of the os.environ readers."""
    if isinstance(func, ast.Name):
        return func.id == "env"
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "env":
        return True
    return ast.unparse(func) in ENVIRON_CALLS


def names_in_source(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _is_env_reader(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
        elif (
            isinstance(node, ast.Subscript)
            and ast.unparse(node.value) == "os.environ"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            names.add(node.slice.value)
    return names


def variables_read_by_code() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if SKIPPED_DIRS.intersection(rel.parts[:-1]):
            continue
        for name in names_in_source(path.read_text(encoding="utf-8")):
            found.setdefault(name, []).append(str(rel))
    return found


def documented_variables(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("| ---"):
            first_cell = line.strip().strip("|").split("|")[0]
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", first_cell))
    return names


def test_every_variable_the_code_reads_is_documented():
    read = variables_read_by_code()
    documented = documented_variables(DOC.read_text(encoding="utf-8"))
    missing = {name: files for name, files in read.items() if name not in documented}
    assert not missing, f"add these to a table in docs/configuration.md: {missing}"


def test_the_doc_lists_no_variable_the_code_does_not_read():
    read = variables_read_by_code()
    stale = documented_variables(DOC.read_text(encoding="utf-8")) - set(read)
    assert not stale, f"docs/configuration.md lists variables nothing reads: {sorted(stale)}"


def test_the_scan_finds_the_known_readers():
    """The parser is what the two tests above stand on: it must see every way the code reads."""
    read = variables_read_by_code()
    assert "shop/settings.py" in read["DATABASE_URL"]  # env.db_url
    assert "shop/settings.py" in read["RECOVERY_DELAY_SCALE"]  # env.float
    assert "gunicorn.conf.py" in read["WEB_TIMEOUT_SECONDS"]  # os.environ.get outside settings
    assert "shop/management/commands/serve.py" in read["PORT"]
    assert len(read) > 250


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('X = env.int("A_B", default=1)', {"A_B"}),
        ('X = env("PLAIN")', {"PLAIN"}),
        ('X = env.str("URL", default="").rstrip("/")', {"URL"}),  # the method's "/" is no name
        ('import os\nX = os.environ["SUBSCRIPT"]', {"SUBSCRIPT"}),
        ('import os\nX = os.getenv("GETENV", "1")', {"GETENV"}),
        ('import os\nos.environ.setdefault("SETDEFAULT", "x")', {"SETDEFAULT"}),
        ('X = env.int("OUTER", default=env.bool("INNER", default=False))', {"OUTER", "INNER"}),
        ('name = "DYNAMIC"\nX = other.get(name)\nY = settings.get("NOT_ENV")', set()),
        ("X = env.str(NAME_IN_A_VARIABLE)", set()),
    ],
)
def test_names_in_source(source, expected):
    assert names_in_source(source) == expected


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("| `A` / `B_C` | `1` / `2` | what `NOT_A_NAME` does |", {"A", "B_C"}),
        ("| --- | --- | --- |", set()),
        ("Prose mentioning `PROSE_ONLY` is not a table row.", set()),
        ("| `lowercase` | x | y |", set()),
        ("|", set()),
    ],
)
def test_documented_variables_reads_only_first_cells(row, expected):
    assert documented_variables(row) == expected

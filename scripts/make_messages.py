#!/usr/bin/env python
"""`make messages`: extract Polish messages per app (each app keeps its own locale/) and for the
project-wide templates, then compile them.

Django is set up once from the project root; only then does the extraction step into each app's
folder. Running `python -m django makemessages` inside an app would put that folder first on
sys.path, where the apps' own `http.py`/`selectors.py` shadow the standard library's modules.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ["catalog", "orders", "recovery", "integrations", "reports"]


def main() -> int:
    sys.path[0] = str(ROOT)
    os.chdir(ROOT)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    import django
    from django.core.management import call_command

    django.setup()
    ignore = [".venv", "var", "bench", "tests", "staticfiles", "scripts", *APPS]
    call_command("makemessages", locale=["pl"], ignore_patterns=ignore, verbosity=0)
    for app in APPS:
        if (ROOT / app / "locale").is_dir():
            os.chdir(ROOT / app)
            call_command("makemessages", locale=["pl"], verbosity=0)
    os.chdir(ROOT)
    call_command("compilemessages", ignore_patterns=[".venv"], verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Count SQL queries per page in django-oscar, in-process (Django test Client).

Runs inside Oscar's virtual environment with the ``frobshop`` settings pointing at the bench
database; reads a JSON spec on stdin and prints a JSON result::

    {"pages": {"home": "/catalogue/", ...}, "cart_lines": [1, 20], "child_skus": ["BN-..."]}

Every page is requested twice and the second (warm: template, category and thumbnail caches
filled) is the one reported, with the first beside it. ``cart_lines``: for each N, a fresh
visitor adds N different child products to the basket; reported are the queries of the last
add-to-basket POST and of the basket page with N lines.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "frobshop"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frobshop.settings")


def count(client, method: str, url: str, **kwargs) -> tuple[int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = getattr(client, method)(url, **kwargs)
    return response.status_code, len(ctx.captured_queries)


def main() -> int:
    import django

    django.setup()
    from django.test import Client

    from oscar.core.loading import get_model

    spec = json.load(sys.stdin)
    out: dict = {"pages": {}, "cart": {}}
    for name, url in spec.get("pages", {}).items():
        client = Client()
        _cold_status, cold = count(client, "get", url)
        status, warm = count(Client(), "get", url)
        out["pages"][name] = {"url": url, "status": status, "queries": warm, "queries_cold": cold}
    Product = get_model("catalogue", "Product")
    skus = spec.get("child_skus", [])
    children = list(Product.objects.filter(upc__in=skus).order_by("upc").values_list("pk", flat=True))
    for lines in spec.get("cart_lines", []):
        if len(children) < lines:
            continue
        client = Client()
        add_status = add_queries = None
        for pk in children[:lines]:
            add_status, add_queries = count(client, "post", f"/basket/add/{pk}/", data={"quantity": 1})
        status, queries = count(client, "get", "/basket/")
        out["cart"][str(lines)] = {
            "add_status": add_status,
            "add_queries": add_queries,
            "page_status": status,
            "page_queries": queries,
        }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Storefront search on the demo catalog: recall of realistic Polish queries and query time.

    .venv/bin/python bench/search_recall.py                 # prints recall and p50/p95, writes bench/results/search-recall-<date>.*
    .venv/bin/python bench/search_recall.py --no-write      # prints only

The queries and what counts as a relevant product for each are the recall test's
(``tests/catalog/test_search_recall.py``: inflected forms, plurals, diminutives, no diacritics,
typos, two words with a colour or a kind, the demo's synonyms). The demo catalog is seeded into a
store of its own (domain ``bench-search-recall.invalid``) in one transaction, rolled back at the end, in the database of
``DATABASE_URL`` -- run by ``make bench``, a copy of the suite's bench database. Each query runs
as the search page runs it (:func:`catalog.selectors.search`, first page by relevance), timed
over ``--rounds`` rounds after one warm-up round; the vocabulary cache is warm after the first
miss, as on a live shop. Floor: recall >= 95%.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

import common  # noqa: E402

if __name__ == "__main__":
    common.area_database("search_recall")  # run by the suite: a copy of its database, dropped at exit

import django  # noqa: E402

django.setup()

import random  # noqa: E402

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from catalog import demo, selectors  # noqa: E402
from shop.models import Store  # noqa: E402
from tests.catalog.test_search_recall import DEMO_RNG_SEED, QUERIES, relevant  # noqa: E402

FLOOR = 0.95
DOMAIN = "bench-search-recall.invalid"


def run(rounds: int) -> dict:
    misses, times = [], []
    with transaction.atomic():  # rolled back at the end: the database keeps nothing of the run
        store = Store.objects.create(name="Bench search recall", domain=DOMAIN)
        demo.seed(store=store, rng=random.Random(DEMO_RNG_SEED))
        for round_no in range(rounds + 1):
            for query, expected in QUERIES:
                started = time.perf_counter()
                result = selectors.search(store, query)
                page = list(
                    result.products.select_related("category").order_by("-rank", "-popularity", "pk")[
                        : settings.CATALOG_PAGE_SIZE
                    ]
                )
                elapsed = time.perf_counter() - started
                if round_no == 0:  # warm-up round: decides recall, not timed
                    if not any(relevant(p, expected) for p in page):
                        misses.append(query)
                else:
                    times.append(elapsed * 1000)
        transaction.set_rollback(True)
    times.sort()
    recall = 1 - len(misses) / len(QUERIES)
    return {
        "queries": len(QUERIES),
        "recall": recall,
        "misses": misses,
        "p50_ms": statistics.median(times),
        "p95_ms": times[int(len(times) * 0.95) - 1],
        "rounds": rounds,
        "database": connection.vendor,
    }


def markdown(data: dict) -> str:
    return "\n".join(
        [
            f"# Storefront search recall ({data['database']})",
            "",
            f"`bench/search_recall.py` on the demo catalog, {data['queries']} Polish queries "
            "(tests/catalog/test_search_recall.py), first page by relevance.",
            "",
            common.markdown_table(
                ["figure", "value", "floor"],
                [
                    ["recall", f"{data['recall']:.1%}", f"{FLOOR:.0%}"],
                    ["p50 query time", f"{data['p50_ms']:.1f} ms", "-"],
                    ["p95 query time", f"{data['p95_ms']:.1f} ms", "-"],
                ],
            ),
            "",
            f"Missed: {', '.join(data['misses']) or 'none'}. Rounds timed: {data['rounds']}.",
            "",
            "Machine: " + str(common.machine_info()),
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="one timed round (CI)")
    parser.add_argument("--json", help="the suite's machine-readable result")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/")
    args = parser.parse_args()
    data = run(1 if args.smoke else args.rounds)
    print(
        f"search recall: {data['recall']:.1%} of {data['queries']} queries "
        f"(floor {FLOOR:.0%}); p50 {data['p50_ms']:.1f} ms, p95 {data['p95_ms']:.1f} ms "
        f"per search on {data['database']}; missed: {data['misses'] or 'none'}"
    )
    common.write_area_json(
        args.json,
        "search_recall",
        [
            {"name": "recall", "value": round(data["recall"], 4), "unit": "share", "floor": FLOOR},
            {"name": "p50 query time", "value": round(data["p50_ms"], 2), "unit": "ms"},
            {"name": "p95 query time", "value": round(data["p95_ms"], 2), "unit": "ms"},
        ],
    )
    if not args.no_write and not args.smoke:
        _json, md_path = common.write_results(data, markdown(data), prefix="search-recall")
        print(f"wrote {md_path.relative_to(ROOT)}")
    return 0 if data["recall"] >= FLOOR else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: peak RSS of reading hostile wholesaler feeds, per feed shape, at two sizes.

    .venv/bin/python bench/integrations_hostile_feeds.py            # full sizes
    .venv/bin/python bench/integrations_hostile_feeds.py --smoke    # CI-sized, a few seconds

Each shape is generated at a size and at four times that size into ``bench/work/hostile/``, and
each file is read in a fresh child process (so its peak RSS, ``ru_maxrss``, is its own) through the
importer's reader and row normaliser (``integrations.wholesalers.readers.iter_rows`` and
``normalise.normalise``, what staging does before it writes a batch). The figure per shape is the
peak RSS of the big file beside the small one's (the floor): flat means the ratio stays near 1.
The shapes are the ones of issue 16:

* ``xml-non-record``: an IOF file whose products are followed by millions of elements that are
  not records (the reader used to free only records and their siblings: 768 MB at 20 MB);
* ``gzip-endless-line``: a small gzip that expands into one line without an end (it used to be
  built in memory until MemoryError); refused at the line cap;
* ``gzip-identical-rows``: a gzip of one valid CSV row repeated (duplicates are refused by the
  importer while streaming, see ``tests/integrations/test_hostile_feeds.py``; here: memory);
* ``gzip-blank-lines``: a gzip of newlines (refused after ``MAX_BLANK_LINES`` in a row, with
  keep-alives for the heartbeat until then).

The run fails (exit 1) when a big file's peak exceeds its small file's by more than 25 % + 16 MB.
No database is needed (nothing is staged). Writes ``bench/results/hostile-feeds-<date>.md``
(``bench/work/`` for ``--smoke``) and ``--json PATH``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import common  # noqa: E402

WORK = ROOT / "bench" / "work" / "hostile"
CSV_HEADER = (
    "sku;group;name;description;brand;ean;category;vat;cost_net;price_gross;compare_at_gross;"
    "stock;weight_g;images;size;colour\n"
)
# Shape -> (profile, sizes for smoke, sizes for a full run); a size is elements, bytes or rows.
SHAPES = {
    "xml-non-record": ("idosell-iof", (100_000, 400_000), (1_000_000, 4_000_000)),
    "gzip-endless-line": ("generic-csv", (16 * 2**20, 64 * 2**20), (256 * 2**20, 1024 * 2**20)),
    "gzip-identical-rows": ("generic-csv", (5_000, 20_000), (50_000, 200_000)),
    "gzip-blank-lines": ("generic-csv", (2_000_000, 8_000_000), (20_000_000, 80_000_000)),
}
ALLOWED_GROWTH = 1.25
ALLOWED_SLACK_MB = 16


def make_feed(shape: str, size: int, directory: Path = WORK) -> Path:
    """Write the feed of ``shape`` at ``size`` (kept between runs: the name says both)."""
    directory.mkdir(parents=True, exist_ok=True)
    if shape == "xml-non-record":
        path = directory / f"{shape}-{size}.xml"
        if not path.exists():
            with open(path, "wb") as fh:
                fh.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<offer><products>')
                fh.write(
                    b'<product id="1" vat="23"><description><name>Produkt</name></description>'
                    b'<price net="10.00"/><sizes><size name="U" code="H1"><stock quantity="1"/>'
                    b"</size></sizes></product></products><junk>"
                )
                chunk = b"<x/>" * 10_000
                for _ in range(size // 10_000):
                    fh.write(chunk)
                fh.write(b"</junk></offer>\n")
        return path
    path = directory / f"{shape}-{size}.csv.gz"
    if path.exists():
        return path
    with gzip.open(path, "wb", compresslevel=6) as fh:
        if shape == "gzip-endless-line":
            fh.write(CSV_HEADER.encode())
            chunk = b"0" * 2**20
            for _ in range(size // 2**20):
                fh.write(chunk)
        elif shape == "gzip-identical-rows":
            fh.write(CSV_HEADER.encode())
            row = b"D1;;Dobry produkt;;;5901234123457;Kat;23;5,50;;;2;;;;\n" * 1000
            for _ in range(size // 1000):
                fh.write(row)
        elif shape == "gzip-blank-lines":
            fh.write(CSV_HEADER.encode())
            fh.write(b"A1;;Produkt;;;;Kat;23;5;;;1;;;;\n")
            chunk = b"\n" * 2**20
            for _ in range(size // 2**20):
                fh.write(chunk)
        else:
            raise ValueError(shape)
    return path


def child(profile_slug: str, path: str) -> dict:
    """Read one feed through the importer's reader and normaliser; peak RSS and what happened."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    import django

    django.setup()
    from django.conf import settings

    from integrations.wholesalers.normalise import RowError, normalise
    from integrations.wholesalers.pricing import PriceRules
    from integrations.wholesalers.profile import load_profile
    from integrations.wholesalers.readers import FeedError, iter_rows

    profile = load_profile(slug=profile_slug, custom=None)
    source = profile.sources_for("full")[0]
    rules = PriceRules.from_options({"markup_percent": "30"})
    rows = keepalives = row_errors = 0
    outcome = "read"
    started = time.perf_counter()
    try:
        for _number, raw in iter_rows(
            source,
            path,
            max_bytes=settings.INTEGRATIONS_MAX_FEED_BYTES,
            sample_size=settings.INTEGRATIONS_ENCODING_SAMPLE_BYTES,
            info={},
        ):
            if raw is None:
                keepalives += 1
                continue
            rows += 1
            try:
                normalise(raw, mode="full", profile=profile, rules=rules, warnings=[])
            except RowError:
                row_errors += 1
    except FeedError as exc:
        outcome = f"refused: {str(exc)[:120]}"
    return {
        "rows": rows,
        "keepalives": keepalives,
        "row_errors": row_errors,
        "outcome": outcome,
        "seconds": round(time.perf_counter() - started, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def measure(shape: str, size: int, directory: Path = WORK) -> dict:
    """Generate (if needed) and read one feed in a fresh child process; its result dict."""
    profile_slug = SHAPES[shape][0]
    path = make_feed(shape, size, directory)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings"}
    out = subprocess.run(
        [sys.executable, __file__, "--child", profile_slug, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{shape} {size}: child failed: {out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(shape=shape, size=size, file_mb=round(path.stat().st_size / 2**20, 2))
    return result


def is_flat(small: dict, big: dict) -> bool:
    return big["peak_rss_mb"] <= small["peak_rss_mb"] * ALLOWED_GROWTH + ALLOWED_SLACK_MB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="CI-sized files (a few seconds)")
    parser.add_argument("--json", help="write the machine-readable figures here")
    parser.add_argument("--shapes", nargs="*", choices=sorted(SHAPES), default=sorted(SHAPES))
    args = parser.parse_args()
    figures, rows, failed = [], [], []
    for shape in args.shapes:
        small_size, big_size = SHAPES[shape][1] if args.smoke else SHAPES[shape][2]
        small, big = measure(shape, small_size), measure(shape, big_size)
        flat = is_flat(small, big)
        if not flat:
            failed.append(shape)
        figures.append(
            {
                "name": f"{shape} peak RSS at 4x size",
                "value": big["peak_rss_mb"],
                "unit": "MB",
                "floor": small["peak_rss_mb"],
                "ratio": round(big["peak_rss_mb"] / small["peak_rss_mb"], 3),
            }
        )
        for r in (small, big):
            rows.append(
                f"| {shape} | {r['size']:,} | {r['file_mb']} | {r['peak_rss_mb']} | {r['rows']:,} | "
                f"{r['keepalives']:,} | {r['seconds']} | {r['outcome']} |"
            )
    today = dt.date.today().isoformat()
    markdown = "\n".join(
        [
            f"# Hostile feeds: peak RSS per shape ({'smoke' if args.smoke else 'full'}, {today})",
            "",
            "Each file read in a fresh child process through the importer's reader and normaliser;",
            f"flat = the 4x file's peak within {ALLOWED_GROWTH}x + {ALLOWED_SLACK_MB} MB of the small one's.",
            "",
            "| shape | size (elements/bytes/rows/lines) | file MB | peak RSS MB | rows | keep-alives | s | outcome |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "Flat: " + ("all shapes" if not failed else "NOT " + ", ".join(failed)),
            "",
        ]
    )
    print(markdown)
    common.write_area_json(args.json, "hostile-feeds", figures, flat=not failed)
    out_dir = ROOT / "bench" / ("work" if args.smoke else "results")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"hostile-feeds-{today}.md").write_text(markdown)
    return 1 if failed else 0


if __name__ == "__main__":
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        print(json.dumps(child(sys.argv[i + 1], sys.argv[i + 2])))
        sys.exit(0)
    sys.exit(main())

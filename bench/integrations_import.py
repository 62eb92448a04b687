"""Benchmark: import a generated IdoSell IOF feed (first import and unchanged re-import) on
PostgreSQL, beside PostgreSQL COPY of the same rows into a plain table as the floor.

    createdb -h 127.0.0.1 -U postgres koszyk_bench_import
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/koszyk_bench_import \
        .venv/bin/python bench/integrations_import.py --sizes 10000 100000

Each measurement runs in a fresh child process, so its peak RSS is its own: the first import of
10k and of 100k variants show whether memory grows with the feed (it should not: streamed
parsing, keyset batches). Writes ``bench/results/integrations-<date>.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import common  # noqa: E402

if __name__ == "__main__" and "--child" not in sys.argv:
    common.area_database("import")  # run by the suite: a copy of its database, dropped at exit

WORDS = [
    "Sukienka",
    "Bluzka",
    "Spódnica",
    "Koszula",
    "Kurtka",
    "Sweter",
    "Spodnie",
    "Płaszcz",
    "Torebka",
    "Szalik",
]
ADJ = [
    "letnia",
    "zimowa",
    "bawełniana",
    "lniana",
    "wełniana",
    "elegancka",
    "sportowa",
    "żółta",
    "różowa",
    "czarna",
]
CATS = [
    "Odzież damska/Sukienki",
    "Odzież damska/Bluzki",
    "Odzież męska/Koszule",
    "Akcesoria/Torebki",
    "Obuwie/Buty",
]
SIZES = ["XS", "S", "M", "L"]


def generate_feed(path: Path, variants: int, seed: int = 2026) -> None:
    """An IOF full.xml with ``variants`` sizes (4 per product), deterministic for a seed."""
    rng = random.Random(seed)
    products = variants // len(SIZES)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<offer file_format="IOF" version="3.0"><products currency="PLN">\n'
        )
        for p in range(1, products + 1):
            net = rng.randint(1000, 50000) / 100
            name = f"{rng.choice(WORDS)} {rng.choice(ADJ)} {p}"
            fh.write(
                f'<product id="{p}" vat="23.0"><producer name="Marka {p % 97}"/>'
                f'<category name="{rng.choice(CATS)}"/><description><name xml:lang="pol">{name}</name>'
                f'<long_desc xml:lang="pol">Opis produktu {p}: wygodny, trwały, polski.</long_desc></description>'
                f'<price net="{net:.2f}"/><sizes>'
            )
            for i, size in enumerate(SIZES):
                fh.write(
                    f'<size id="{i}" name="{size}" code="B{p}-{size}" code_producer="590{p:09d}{i}" '
                    f'weight="{rng.randint(100, 900)}"><price net="{net:.2f}"/>'
                    f'<stock id="1" quantity="{rng.randint(0, 40)}"/></size>'
                )
            fh.write("</sizes></product>\n")
        fh.write("</products></offer>\n")


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    import django

    django.setup()


def child(phase: str, size: int, feed: str, store_domain: str) -> dict:
    """One measurement in this (fresh) process."""
    django_setup()
    from django.conf import settings

    from integrations import services
    from integrations.models import ConnectorConfig
    from shop.models import Store

    settings.INTEGRATIONS_MAX_FEED_BYTES = 10 * 1024**3
    store, _ = Store.objects.get_or_create(domain=store_domain, defaults={"name": store_domain})
    config = ConnectorConfig.objects.filter(store=store, name="bench").first()
    if config is None:
        config = services.save_config(
            config=ConnectorConfig(store=store, connector_type="wholesaler_feed", name="bench"),
            raw_settings={"profile": "idosell-iof", "markup_percent": "30", "download_images": False},
        )
    if phase == "copy":
        return copy_floor(feed)
    start = time.perf_counter()
    run = services.run_connector(
        config_id=config.pk, direction="full", trigger="command", files={"full": feed}
    )
    seconds = time.perf_counter() - start
    assert run.status == "succeeded", run.error
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "counts": run.counts(),
    }


def copy_floor(feed: str) -> dict:
    """The same rows (sku, name, ean, net price, stock, weight) parsed and COPYed into a plain
    table: what the database alone costs for this many rows."""
    from django.db import connection
    from lxml import etree

    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy_floor")
        cursor.execute(
            "CREATE TABLE bench_copy_floor (sku text, name text, ean text, price numeric(12,2), stock int, weight int)"
        )
        raw = cursor.cursor
        with raw.copy("COPY bench_copy_floor FROM STDIN") as copy:
            for _event, product in etree.iterparse(
                feed, tag="product", resolve_entities=False, no_network=True
            ):
                name = product.findtext("description/name")
                price = product.find("price").get("net")
                for size in product.iterfind("sizes/size"):
                    copy.write_row(
                        (
                            size.get("code"),
                            name,
                            size.get("code_producer"),
                            price,
                            size.find("stock").get("quantity"),
                            size.get("weight"),
                        )
                    )
                product.clear()
                while product.getprevious() is not None:
                    del product.getparent()[0]
        cursor.execute("SELECT count(*) FROM bench_copy_floor")
        rows = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_copy_floor")
    return {
        "seconds": round(time.perf_counter() - start, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rows": rows,
    }


def measure(phase: str, size: int, feed: Path, domain: str) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            phase,
            "--size",
            str(size),
            "--feed",
            str(feed),
            "--domain",
            domain,
        ],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--child")
    parser.add_argument("--size", type=int)
    parser.add_argument("--feed")
    parser.add_argument("--domain")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--smoke", action="store_true", help="CI-sized: a feed of 300 variants")
    parser.add_argument("--json", type=Path, help="also write the figures there (the suite's convention)")
    args = parser.parse_args()
    if args.smoke:
        args.sizes = [300]
        args.out = str(common.WORK_DIR)  # a smoke run's tiny figures must not replace the real result
    if args.child:
        print(json.dumps(child(args.child, args.size, args.feed, args.domain)))
        return
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (see the docstring).")
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"], check=True, env=os.environ
    )
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
    results = []
    load_before = os.getloadavg()
    for size in args.sizes:
        feed = tmp / f"koszyk-bench-iof-{size}.xml"
        generate_feed(feed, size)
        domain = f"bench-{size}-{stamp}.local"
        first = measure("first", size, feed, domain)
        again = measure("again", size, feed, domain)
        floor = measure("copy", size, feed, domain)
        results.append(
            {"size": size, "bytes": feed.stat().st_size, "first": first, "again": again, "copy": floor}
        )
        print(json.dumps(results[-1]), flush=True)
        feed.unlink()
    write_report(results, Path(args.out), load=(load_before, os.getloadavg()))
    figures = []
    for r in results:
        for run, label in (("first", "first import"), ("again", "unchanged re-import")):
            figures.append(
                {
                    "name": f"{label}, {r['size']:,} variants (s)",
                    "value": r[run]["seconds"],
                    "unit": "s",
                    "floor": r["copy"]["seconds"],
                    "floor_is": "the same rows parsed with lxml and COPYed into a plain table",
                    "ratio": common.ratio(r[run]["seconds"], r["copy"]["seconds"]),
                    "peak_rss_mb": r[run]["peak_rss_mb"],
                }
            )
    common.write_area_json(
        args.json, "integrations-import", figures, sizes={"variants": args.sizes, "smoke": args.smoke}
    )


def _load(load, i: int) -> str:
    return " / ".join(f"{x:.1f}" for x in load[i]) if load else "?"


def write_report(results: list[dict], out_dir: Path, load=None) -> None:
    django_setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    info = machine()
    today = dt.date.today().isoformat()
    lines = [
        f"# Integrations: wholesaler feed import benchmark ({today})",
        "",
        "Generated IdoSell IOF `full.xml` (4 sizes per product, seeded), imported through the",
        "`wholesaler_feed` connector (`services.run_connector`, staging + one-transaction apply,",
        "no images), then imported again unchanged; beside it, the same rows parsed with lxml and",
        "`COPY`ed into a plain table (the floor). Each figure comes from a fresh process; peak RSS is",
        "that process's maximum resident memory.",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']} RAM; {info['os']};",
        f"Python {info['python']}; PostgreSQL {pg} on 127.0.0.1.",
        f"Load average (1/5/15 min) at start {_load(load, 0)}, at end {_load(load, 1)}: "
        "other jobs shared the machine, so the seconds are an upper bound; memory is not affected.",
        f"DEBUG={os.environ.get('DEBUG', '0')} (DEBUG on keeps every SQL statement in memory: leave it off).",
        "",
        "Command: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/koszyk_bench_import "
        "python bench/integrations_import.py --sizes " + " ".join(str(r["size"]) for r in results) + "`",
        "",
        "| variants | feed size | first import | peak RSS | unchanged re-import | peak RSS | COPY floor | peak RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['size']:,} | {r['bytes'] / 1024 / 1024:.1f} MB | {r['first']['seconds']} s | "
            f"{r['first']['peak_rss_mb']} MB | {r['again']['seconds']} s | {r['again']['peak_rss_mb']} MB | "
            f"{r['copy']['seconds']} s | {r['copy']['peak_rss_mb']} MB |"
        )
    lines += ["", "Counts:", ""]
    for r in results:
        lines.append(f"- {r['size']:,}: first {r['first']['counts']}, again {r['again']['counts']}")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"integrations-{today}.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""Hostile feeds (issue 16): memory flat in feed size for any shape, compressed and expanded size
capped, duplicates refused while streaming, the heartbeat alive through stretches without rows,
out-of-range numbers refused per row, and rows imported with a change warned about per row."""

from __future__ import annotations

import gzip
import importlib.util
import sys
import tracemalloc
from pathlib import Path

import pytest

from catalog.models import StockItem, Variant
from integrations import services
from integrations.models import StagedRow, SyncRun, SyncRunError
from integrations.wholesalers import importer as importer_module
from integrations.wholesalers import readers

from .conftest import make_config

pytestmark = pytest.mark.django_db

HEADER = (
    "sku;group;name;description;brand;ean;category;vat;cost_net;price_gross;compare_at_gross;"
    "stock;weight_g;images;size;colour\n"
)
BENCH = Path(__file__).resolve().parents[2] / "bench" / "integrations_hostile_feeds.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_integrations_hostile_feeds", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run(config, **kwargs):
    return services.run_connector(config_id=config.pk, direction="full", trigger="command", **kwargs)


def csv_config(store, **options):
    return make_config(store, profile="generic-csv", name="CSV", **options)


def write(tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def messages(result) -> dict[int | None, str]:
    return dict(SyncRunError.objects.filter(run=result).values_list("row_number", "message"))


# --- 1. memory, caps, duplicates, heartbeat ------------------------------------------------------


def test_xml_elements_that_are_not_records_keep_peak_rss_flat(tmp_path):
    """800,000 non-record elements after the products need no more memory than 200,000 (each
    read in a fresh process, peak RSS): they are freed as they end, not kept under the root."""
    bench = _bench()
    small = bench.measure("xml-non-record", 200_000, tmp_path)
    big = bench.measure("xml-non-record", 800_000, tmp_path)
    assert small["rows"] == big["rows"] == 1 and big["outcome"] == "read"
    assert big["keepalives"] == 80  # one every 10,000 skipped elements
    assert bench.is_flat(small, big), (small, big)


def test_a_record_with_too_many_elements_is_refused(store, tmp_path):
    inner = "<x/>" * (readers.MAX_RECORD_ELEMENTS + 1)
    xml = (
        '<offer><products><product id="1" vat="23"><description><name>P</name></description>'
        f'<price net="1"/>{inner}<sizes><size name="U" code="R1"/></sizes></product></products></offer>'
    )
    result = run(make_config(store), files={"full": write(tmp_path, "wide.xml", xml.encode())})
    assert result.status == SyncRun.Status.FAILED
    assert "more than 100 000 elements" in result.error
    assert not Variant.objects.exists()


def test_gzip_of_one_endless_line_is_refused_with_flat_memory(store, tmp_path):
    """A tiny gzip expanding to 64 MiB without a line end (the 4 GiB bomb that died with
    MemoryError below INTEGRATIONS_MAX_FEED_BYTES) is refused at the line cap, never built."""
    path = tmp_path / "line.csv.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(HEADER.encode())
        for _ in range(64):
            fh.write(b"0" * 2**20)
    assert path.stat().st_size < 200_000
    tracemalloc.start()
    try:
        result = run(csv_config(store), files={"products": str(path)})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.status == SyncRun.Status.FAILED
    assert "longer than 1 048 576 characters" in result.error
    assert peak < 24 * 2**20, peak


def test_expanded_size_is_capped_for_gzip(store, tmp_path, settings):
    settings.INTEGRATIONS_MAX_FEED_BYTES = 512 * 1024
    rows = "".join(f"S{i};;Produkt {i};;;;Kat;23;5;;;1;;;;\n" for i in range(40_000)).encode()
    path = tmp_path / "big.csv.gz"
    path.write_bytes(gzip.compress(HEADER.encode() + rows))
    assert path.stat().st_size < settings.INTEGRATIONS_MAX_FEED_BYTES  # small on disk
    result = run(csv_config(store), files={"products": str(path)})
    assert result.status == SyncRun.Status.FAILED
    assert "INTEGRATIONS_MAX_FEED_BYTES" in result.error
    assert not Variant.objects.exists()


def test_duplicates_are_refused_while_streaming_not_staged(store, tmp_path, monkeypatch):
    """One valid row repeated 3,000 times: never more than one staged copy at any batch."""
    config = csv_config(store, batch_size=100)
    body = HEADER + "D1;;Dobry;;;;Kat;23;5,50;;;2;;;;\n" * 3000
    staged_counts = []
    original = importer_module.FeedImporter._stage_batch

    def counting(self, pending, joined):
        original(self, pending, joined)
        staged_counts.append(StagedRow.objects.filter(run=self.run).count())

    monkeypatch.setattr(importer_module.FeedImporter, "_stage_batch", counting)
    result = run(config, files={"products": write(tmp_path, "dupes.csv", body.encode())})
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    assert len(staged_counts) == 30 and max(staged_counts) == 1
    assert result.created == 1 and result.failed == 2999
    assert "Duplicate SKU D1 (first at row 2)" in messages(result)[3]


def test_heartbeat_and_progress_move_through_blank_lines(store, tmp_path):
    """50,000 blank lines before the first row: the run says it is alive every 10,000."""
    config = csv_config(store)
    seen = []

    def progress(done, total, label):
        run_row = SyncRun.objects.filter(config=config).order_by("-pk").first()
        seen.append((label, run_row.heartbeat_at, StagedRow.objects.count()))

    body = HEADER + "\n" * 50_000 + "A1;;Produkt;;;;Kat;23;5;;;1;;;;\n"
    result = run(config, files={"products": write(tmp_path, "blank.csv", body.encode())}, progress=progress)
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    before_rows = [s for s in seen if s[2] == 0 and s[0].startswith("reading")]
    assert len(before_rows) >= 5
    beats = [b for _label, b, _n in before_rows]
    assert beats == sorted(beats) and beats[-1] > beats[0]


def test_a_gzip_of_blank_lines_is_refused_quickly(store, tmp_path):
    path = tmp_path / "blank.csv.gz"
    path.write_bytes(gzip.compress(HEADER.encode() + b"A1;;P;;;;K;23;5;;;1;;;;\n" + b"\n" * 3_000_000))
    result = run(csv_config(store), files={"products": str(path)})
    assert result.status == SyncRun.Status.FAILED
    assert "more than 100 000 blank lines in a row" in result.error
    assert not Variant.objects.exists()


# --- 2. out-of-range numbers -------------------------------------------------------------------


def test_out_of_range_numbers_refuse_their_row_and_the_rest_is_imported(store, tmp_path):
    rows = [
        "OK1;;Dobry;;;;Kat;23;5,50;;;2;;;;",  # line 2
        "BIG;;Za dużo;;;;Kat;23;5;;;3000000000;;;;",  # line 3: stock over a 32-bit integer
        "INF;;Nieskończony;;;;Kat;23;5;;;1e309;;;;",  # line 4
        "PRC;;Drogi;;;;Kat;23;;10000000000;;1;;;;",  # line 5: price >= 10^10
        "MRK;;Po marży;;;;Kat;23;9999999999;;;1;;;;",  # line 6: in range, not after the markup
        "WGT;;Ciężki;;;;Kat;23;5;;;1;1e12;;;",  # line 7
        "OK2;;Drugi;;;;Kat;23;7;;;4;;;;",  # line 8
    ]
    body = HEADER + "\n".join(rows) + "\n"
    result = run(csv_config(store), files={"products": write(tmp_path, "range.csv", body.encode())})
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    assert set(Variant.objects.values_list("sku", flat=True)) == {"OK1", "OK2"}
    assert result.created == 2 and result.failed == 5
    errors = messages(result)
    assert set(errors) == {3, 4, 5, 6, 7}
    assert all("out of range" in errors[n] for n in errors), errors
    assert "3000000000" in errors[3] and "1e309" in errors[4]


# --- 3. row warnings ----------------------------------------------------------------------------


def test_zero_price_negative_stock_and_bad_ean_are_warned_per_row(store, tmp_path):
    rows = [
        "Z1;;Za darmo;;;;Kat;23;;0,00;;2;;;;",  # line 2
        "N1;;Ujemny stan;;;;Kat;23;5;;;-7;;;;",  # line 3
        "E1;;Zły EAN;;;12345;Kat;23;5;;;1;;;;",  # line 4
        "G1;;Dobry;;;5901234123457;Kat;23;5;;;1;;;;",  # line 5
        "C1;;Zła cyfra kontrolna;;;5901234123458;Kat;23;5;;;1;;;;",  # line 6
    ]
    body = HEADER + "\n".join(rows) + "\n"
    result = run(csv_config(store), files={"products": write(tmp_path, "warn.csv", body.encode())})
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    assert result.created == 5 and result.failed == 0  # imported, not refused
    assert Variant.objects.get(sku="Z1").price == 0
    assert StockItem.objects.get(variant__sku="N1").quantity == 0
    assert Variant.objects.get(sku="E1").ean == ""
    assert Variant.objects.get(sku="G1").ean == "5901234123457"
    assert Variant.objects.get(sku="C1").ean == ""  # 13 digits, wrong check digit
    logged = messages(result)
    assert set(logged) == {2, 3, 4, 6}
    assert "0.00" in logged[2] and "-7" in logged[3] and "12345" in logged[4]
    assert "5901234123458" in logged[6] and "check digit" in logged[6]
    warnings = result.summary["warnings"]
    assert len(warnings) == 4
    assert any("Z1" in w and "0.00" in w for w in warnings)
    assert any("N1" in w and "negative" in w for w in warnings)
    assert any("E1" in w and "12345" in w for w in warnings)


def test_row_warnings_are_in_polish(store, tmp_path):
    from django.utils import translation

    body = HEADER + "Z1;;Za darmo;;;;Kat;23;;0;;-1,5;;;;\n"
    with translation.override("pl"):
        result = run(csv_config(store), files={"products": write(tmp_path, "pl.csv", body.encode())})
    text = " ".join(result.summary["warnings"])
    assert "Wiersz 2 (Z1)" in text and "Cena wynosi 0.00" in text and "Stan jest ujemny" in text


def test_many_row_warnings_are_summarised(store, tmp_path):
    body = HEADER + "".join(f"Z{i};;Za darmo {i};;;;Kat;23;;0;;1;;;;\n" for i in range(25))
    result = run(csv_config(store), files={"products": write(tmp_path, "many.csv", body.encode())})
    warnings = result.summary["warnings"]
    assert len(warnings) == 21 and "5 more row warnings" in warnings[-1]
    assert SyncRunError.objects.filter(run=result).count() == 25

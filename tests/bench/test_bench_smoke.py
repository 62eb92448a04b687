"""Unit tests of the benchmark suite's helpers (bench/common.py). No benchmark runs here."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


common = _load("common")

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:41234/k/odziez-damska/
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    21.35ms    4.12ms  61.02ms   81.20%
    Req/Sec   187.43     20.11   232.00     71.00%
  Latency Distribution
     50%   20.71ms
     75%   22.93ms
     90%   26.10ms
     99%   38.44ms
  1.87k requests in 10.01s, 46.21MB read
  Non-2xx or 3xx responses: 3
  Socket errors: connect 0, read 1, write 0, timeout 2
Requests/sec:    186.83
Transfer/sec:      4.62MB
"""


def test_parse_wrk_reads_rate_percentiles_and_errors():
    parsed = common.parse_wrk(WRK_OUTPUT)
    assert parsed["rps"] == pytest.approx(186.83)
    assert parsed["p50_ms"] == pytest.approx(20.71)
    assert parsed["p99_ms"] == pytest.approx(38.44)
    assert parsed["requests"] == 1870
    assert parsed["elapsed_ms"] == pytest.approx(10010)
    assert parsed["non_2xx"] == 3
    assert parsed["socket_errors"] == 3


def test_parse_wrk_converts_microseconds_and_seconds():
    output = (
        "  Latency Distribution\n     50%  612.00us\n     75%  700.00us\n     90%    1.20ms\n     99%    1.50s\n"
        "  16000 requests in 2.00s, 2.50MB read\nRequests/sec:   7999.50\n"
    )
    parsed = common.parse_wrk(output)
    assert parsed["p50_ms"] == pytest.approx(0.612)
    assert parsed["p99_ms"] == pytest.approx(1500)
    assert parsed["requests"] == 16000
    assert parsed["non_2xx"] == 0


def test_parse_wrk_refuses_output_without_a_rate():
    with pytest.raises(ValueError):
        common.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_percentile_and_ratio():
    values = sorted(float(v) for v in range(1, 101))
    assert common.percentile(values, 50) == 50
    assert common.percentile(values, 99) == 99
    assert common.percentile([], 50) is None
    assert common.ratio(30, 200, 3) == 0.15
    assert common.ratio(1, 0) is None
    assert common.ratio(None, 2) is None


def test_bench_databases_are_guarded():
    for name in ("test", "postgres", "koszyk", "x; DROP"):
        with pytest.raises(ValueError):
            common._check_name(name)
    common._check_name("koszyk_bench_suite")


def test_load_only_goes_to_loopback():
    with pytest.raises(ValueError):
        common.run_wrk("http://example.com/", duration=1)
    with pytest.raises(ValueError):
        common.http_get("http://10.0.0.1:80/")


def test_write_results_writes_a_dated_pair(tmp_path):
    json_path, md_path = common.write_results(
        {"a": 1}, "# title", prefix="bench-test", date="2026-01-02", results_dir=tmp_path
    )
    assert json_path.name == "bench-test-2026-01-02.json"
    assert json.loads(json_path.read_text()) == {"a": 1}
    assert md_path.read_text() == "# title\n"


def test_machine_info_names_cores_memory_and_cpu():
    info = common.machine_info()
    assert info["cores"] >= 1
    assert info["cpu_model"]
    assert info["date"]


def test_catalog_spec_is_deterministic():
    catalog = _load("koszyk_catalog")
    a = catalog.spec(products=50, variants=3)
    b = catalog.spec(products=50, variants=3)
    assert a == b
    assert len(a["items"]) == 50
    assert all(len(item["variants"]) == 3 for item in a["items"])
    assert catalog.spec(products=50, variants=3, seed=1) != a


def test_parse_wrk_with_no_completed_request_has_no_latency():
    output = (
        "  Latency Distribution\n     50%    0.00us\n     75%    0.00us\n     90%    0.00us\n     99%    0.00us\n"
        "  0 requests in 3.07s, 0.00B read\nRequests/sec:      0.00\n"
    )
    parsed = common.parse_wrk(output)
    assert parsed["rps"] == 0
    assert parsed["p50_ms"] is None
    assert parsed["p99_ms"] is None


# --- The suite's contract with CI (make bench-smoke) ---------------------------------------

AREA_SCRIPTS = [
    "api_bench",
    "catalog_pages",
    "checkout_bench",
    "order_search_bench",
    "recovery_scan",
    "reports_bench",
    "integrations_import",
]


@pytest.mark.parametrize("name", AREA_SCRIPTS)
def test_area_scripts_follow_the_smoke_and_json_convention(name):
    run = _load("run")
    script = BENCH / f"{name}.py"
    assert script in run.discover_area_scripts()
    assert run.script_convention(script) == {"smoke": True, "json": True}


def test_a_failed_area_script_or_a_broken_page_fails_the_run():
    run = _load("run")
    healthy = {
        "queries": {"koszyk": {"pages": {"home": {"status": 200, "url": "/"}}, "api": {}}},
        "load_summary": {"home": {"koszyk": {"rps": 10.0, "non_2xx": 0}}},
        "areas": [
            {"script": "bench/a.py", "status": "ok"},
            {"script": "bench/b.py", "status": "skipped (no --smoke: cannot run CI-sized)"},
        ],
    }
    assert run.broken(healthy) == []
    sick = json.loads(json.dumps(healthy))
    sick["queries"]["koszyk"]["pages"]["home"]["status"] = 500
    sick["load_summary"]["home"]["koszyk"]["non_2xx"] = 3
    sick["areas"].append({"script": "bench/c.py", "status": "failed", "returncode": 1})
    sick["areas"].append({"script": "bench/d.py", "status": "timeout", "returncode": -9})
    problems = run.broken(sick)
    assert len(problems) == 4
    assert any("bench/c.py failed" in p for p in problems)
    assert any("HTTP 500" in p for p in problems)


def test_standalone_area_scripts_keep_their_own_database(monkeypatch):
    monkeypatch.delenv("BENCH_PG_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/koszyk_bench_mine")
    assert common.area_database("search") is None
    assert common.area_database.__doc__ and "TEMPLATE" in common.area_database.__doc__
    import os

    assert os.environ["DATABASE_URL"].endswith("/koszyk_bench_mine")


def test_area_json_has_figures_beside_their_floors(tmp_path):
    path = tmp_path / "area.json"
    common.write_area_json(
        path,
        "search",
        [{"name": "x", "value": 2.0, "floor": 1.0, "ratio": 2.0}],
        sizes={"orders": 10},
    )
    data = json.loads(path.read_text())
    assert data["area"] == "search"
    assert data["figures"][0]["floor"] == 1.0
    assert data["sizes"] == {"orders": 10}
    assert data["machine"]["cores"] >= 1
    common.write_area_json(None, "search", [])  # no --json: nothing written, no error


def test_ci_runs_the_bench_smoke_after_the_tests():
    ci = (BENCH.parent / ".ci" / "run").read_text()
    assert ci.index("make test") < ci.index("make bench-smoke")

"""Bad input: every case ends with a clear failed run or per-row errors, the process goes on, and
the catalog is exactly as it was before a failed run."""

import tracemalloc
from pathlib import Path

import pytest

from catalog.models import PriceHistory, Product, StockMovement, Variant
from integrations import services
from integrations.models import ImageRecord, StagedRow, SyncRun, SyncRunError
from shop.models import Event

from .conftest import iof_files, make_config

pytestmark = pytest.mark.django_db


def run(config, direction="full", **kwargs):
    return services.run_connector(config_id=config.pk, direction=direction, trigger="command", **kwargs)


def snapshot():
    return (
        list(Variant.objects.order_by("sku").values_list("sku", "price", "is_active")),
        Product.objects.count(),
        PriceHistory.objects.count(),
        StockMovement.objects.count(),
        Event.objects.count(),
    )


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return str(path)


def csv_config(store, **options):
    return make_config(store, profile="generic-csv", name="CSV", **options)


HEADER = "sku;group;name;description;brand;ean;category;vat;cost_net;price_gross;compare_at_gross;stock;weight_g;images;size;colour\n"


def test_malformed_xml_fails_the_run_and_changes_nothing(store, tmp_path):
    config = make_config(store)
    before = snapshot()
    path = write(
        tmp_path, "bad.xml", "<offer><products><product id='1'><sizes><size code='x'></product></offer>"
    )
    result = run(config, files={"full": path})
    assert result.status == SyncRun.Status.FAILED
    assert "malformed" in result.error
    assert snapshot() == before
    assert not StagedRow.objects.exists()


def test_feed_breaking_late_changes_nothing(store, tmp_path, settings):
    """Thousands of good rows, then garbage: the staged rows are never applied."""
    config = make_config(store, batch_size=50)
    products = "".join(
        f'<product id="{i}" vat="23"><description><name>Produkt {i}</name></description><price net="10.00"/>'
        f'<sizes><size name="U" code="P{i}"><stock quantity="1"/></size></sizes></product>'
        for i in range(1, 501)
    )
    path = write(
        tmp_path, "late.xml", f"<offer><products>{products}<product id='x'><broken></products></offer>"
    )
    before = snapshot()
    result = run(config, files={"full": path})
    assert result.status == SyncRun.Status.FAILED and "malformed" in result.error
    assert snapshot() == before
    assert Product.objects.count() == 0


def test_failure_while_applying_rolls_back_everything(store, monkeypatch):
    config = make_config(store, batch_size=2)
    run(config, files=iof_files())
    from catalog.models import Variant as V

    V.objects.filter(sku="1001-1").update(price=1)
    config.settings["markup_percent"] = "50"
    config.save()
    before = snapshot()
    from integrations.wholesalers import importer

    calls = {"n": 0}
    original = importer.FeedImporter._write_variants

    def explode(self, plans, now, fresh=frozenset()):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return original(self, plans, now, fresh)

    monkeypatch.setattr(importer.FeedImporter, "_write_variants", explode)
    result = run(config, files=iof_files())
    assert result.status == SyncRun.Status.FAILED and "disk full" in result.error
    assert calls["n"] == 2  # the first batch had been written, then rolled back
    assert snapshot() == before


def test_truncated_xml_file(store, tmp_path, fixtures_dir):
    data = (fixtures_dir / "iof_full.xml").read_bytes()
    path = write(tmp_path, "cut.xml", data[: len(data) // 2])
    result = run(make_config(store), files={"full": path})
    assert result.status == SyncRun.Status.FAILED and "cut off" in result.error
    assert Product.objects.count() == 0


def test_truncated_download_fails_the_run(store, wholesaler, fast_http):
    from .conftest import url_connector

    wholesaler.modes["full"] = "truncate"
    result = run(url_connector(store, wholesaler))
    assert result.status == SyncRun.Status.FAILED
    assert "cut off" in result.error or "damaged" in result.error
    assert Product.objects.count() == 0


def test_xxe_external_entity_is_never_expanded(store, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-PASSWORD-123")
    xml = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE offer [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<offer><products><product id="1" vat="23"><description><name>&xxe;</name></description>'
        '<price net="10"/><sizes><size name="U" code="X1"/></sizes></product></products></offer>'
    )
    result = run(make_config(store), files={"full": write(tmp_path, "xxe.xml", xml)})
    assert result.status == SyncRun.Status.FAILED
    assert "DTD" in result.error
    assert Product.objects.count() == 0
    leaked = [result.error, *SyncRunError.objects.values_list("message", flat=True)]
    assert not any("TOPSECRET" in text for text in leaked)


def test_external_dtd_over_the_network_is_refused(store, tmp_path, wholesaler):
    xml = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE offer SYSTEM "{wholesaler.server.url("/evil.dtd")}">\n'
        '<offer><products><product id="1"><description><name>x</name></description><price net="1"/>'
        '<sizes><size name="U" code="X1"/></sizes></product></products></offer>'
    )
    result = run(make_config(store), files={"full": write(tmp_path, "dtd.xml", xml)})
    assert result.status == SyncRun.Status.FAILED
    assert not [r for r in wholesaler.requests if r.path == "/evil.dtd"]  # no network access


def test_billion_laughs_is_refused_with_flat_memory(store, tmp_path):
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    xml = (
        f'<?xml version="1.0"?>\n<!DOCTYPE offer [{entities}]>\n'
        '<offer><products><product id="1"><description><name>&lol9;</name></description>'
        '<price net="1"/><sizes><size name="U" code="X1"/></sizes></product></products></offer>'
    )
    tracemalloc.start()
    try:
        result = run(make_config(store), files={"full": write(tmp_path, "lol.xml", xml)})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.status == SyncRun.Status.FAILED
    assert peak < 30 * 1024 * 1024  # a billion "lol"s would be gigabytes
    assert Product.objects.count() == 0


def test_huge_download_is_cut_off_at_the_configured_limit(store, wholesaler, fast_http, settings):
    from .conftest import url_connector

    settings.INTEGRATIONS_MAX_FEED_BYTES = 2 * 1024 * 1024
    wholesaler.modes["full"] = "huge"  # an endless stream: the "2 GB" file
    tracemalloc.start()
    try:
        result = run(url_connector(store, wholesaler))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.status == SyncRun.Status.FAILED
    assert "larger than the limit" in result.error
    assert peak < 16 * 1024 * 1024


def test_huge_local_file_is_cut_off_while_reading(store, tmp_path, settings):
    settings.INTEGRATIONS_MAX_FEED_BYTES = 256 * 1024
    path = tmp_path / "big.xml"
    with open(path, "wb") as fh:
        fh.write(b"<offer><products>")
        for i in range(5000):
            fh.write(
                f'<product id="{i}"><description><name>P{i}</name></description><price net="1"/>'
                f'<sizes><size name="U" code="B{i}"/></sizes></product>'.encode()
            )
        fh.write(b"</products></offer>")
    result = run(make_config(store), files={"full": str(path)})
    assert result.status == SyncRun.Status.FAILED
    assert "INTEGRATIONS_MAX_FEED_BYTES" in result.error
    assert Product.objects.count() == 0


def test_wrong_encoding_declared_by_the_profile_fails_clearly(store, tmp_path):
    custom = {
        "name": "strict",
        "sources": {
            "p": {
                "format": "csv",
                "encoding": "utf-8",
                "delimiter": ";",
                "fields": {"sku": "sku", "name": "name", "cost_net": "cost_net"},
            }
        },
    }
    config = make_config(store, name="strict", custom_profile=custom)
    content = "sku;name;cost_net\n" + "".join(f"S{i};Zwykły produkt {i};1\n" for i in range(3000))
    content += "Z1;Żółć gęślą jaźń;2\n"
    path = write(tmp_path, "cp.csv", content.encode("cp1250"))
    result = run(config, files={"p": path})
    assert result.status == SyncRun.Status.FAILED
    assert "not valid utf-8" in result.error and "line" in result.error
    assert Product.objects.count() == 0


def test_xml_declaring_utf8_but_written_in_windows_1250_is_read_right(store, tmp_path, fixtures_dir):
    text = (fixtures_dir / "iof_full.xml").read_text(encoding="utf-8")
    path = write(tmp_path, "cp.xml", text.encode("cp1250"))
    result = run(make_config(store), files={"full": path})
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    assert Product.objects.filter(brand="Moda Łódź").exists()
    assert any("windows-1250" in w for w in result.summary["warnings"])


def test_duplicate_skus_negative_prices_and_missing_fields_are_row_errors(store, tmp_path):
    rows = [
        "A1;;Produkt A;;;;Kat;23;10;;;1;;;;",
        "A1;;Produkt A bis;;;;Kat;23;11;;;1;;;;",  # duplicate SKU
        "N1;;Ujemny;;;;Kat;23;-5;;;1;;;;",  # negative price
        ";;Bez SKU;;;;Kat;23;5;;;1;;;;",  # missing SKU
        "B1;;;;;;Kat;23;5;;;1;;;;",  # missing name
        "C1;;Bez ceny;;;;Kat;23;;;;1;;;;",  # no price at all
        "D1;;Dobry;;;;Kat;23;5,50;;;2;;;;",
    ]
    config = csv_config(store)
    result = run(config, files={"products": write(tmp_path, "p.csv", HEADER + "\n".join(rows) + "\n")})
    assert result.status == SyncRun.Status.SUCCEEDED
    assert result.created == 2 and result.failed == 5
    assert set(Variant.objects.values_list("sku", flat=True)) == {"A1", "D1"}
    assert Variant.objects.get(sku="A1").product.name == "Produkt A"  # the first row wins
    messages = " | ".join(SyncRunError.objects.filter(run=result).values_list("message", flat=True))
    for expected in ("Duplicate SKU A1", "negative", "no SKU", "no product name", "no price"):
        assert expected in messages
    assert SyncRunError.objects.filter(run=result, key="A1", row_number=3).exists()


def test_empty_feed_fails_instead_of_hiding_everything(store, tmp_path):
    config = csv_config(store)
    run(config, files={"products": write(tmp_path, "a.csv", HEADER + "A1;;A;;;;K;23;1;;;1;;;;\n")})
    result = run(config, files={"products": write(tmp_path, "b.csv", HEADER + ";;;;;;;;;;;;;;;\n")})
    assert result.status == SyncRun.Status.FAILED
    assert Variant.objects.get(sku="A1").is_active


def test_an_image_url_that_is_not_an_image_is_logged_and_skipped(
    store, wholesaler, fast_http, tmp_path, settings
):
    settings.INTEGRATIONS_IMAGE_ALLOW_PRIVATE_HOSTS = True  # the fake wholesaler is on 127.0.0.1
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(buffer, "JPEG")
    wholesaler.images["good.jpg"] = buffer.getvalue()
    wholesaler.images["fake.jpg"] = b"<html>not an image</html>"
    good, fake = wholesaler.image_url("good.jpg"), wholesaler.image_url("fake.jpg")
    rows = HEADER + f"I1;;Z obrazkami;;;;K;23;10;;;1;;{good}|{fake};;\n"
    config = csv_config(store, download_images=True)
    result = run(config, files={"products": write(tmp_path, "i.csv", rows)})
    assert result.status == SyncRun.Status.SUCCEEDED
    product = Product.objects.get()
    assert product.images.count() == 1
    assert result.summary["images"] == 1 and result.summary["images_failed"] == 1
    error = SyncRunError.objects.get(run=result)
    assert "fake.jpg" in error.message and "not a valid image" in error.message
    assert ImageRecord.objects.filter(status="failed").count() == 1
    # Downloaded once: a second run does not fetch the good image again.
    image_requests = len([r for r in wholesaler.requests if r.path == "/img/good.jpg"])
    run(config, files={"products": write(tmp_path, "i2.csv", rows.replace("Z obrazkami", "Z obrazkami 2"))})
    assert len([r for r in wholesaler.requests if r.path == "/img/good.jpg"]) == image_requests
    assert product.images.count() == 1


def test_image_urls_into_private_networks_are_refused(store, wholesaler, fast_http, tmp_path):
    """SSRF: a feed's image URL must not make the shop fetch from its own network."""
    wholesaler.images["x.jpg"] = b"whatever"
    url = wholesaler.image_url("x.jpg")
    rows = HEADER + f"I1;;Prywatny obrazek;;;;K;23;10;;;1;;{url}|http://169.254.169.254/latest/meta-data;;\n"
    result = run(csv_config(store, download_images=True), files={"products": write(tmp_path, "s.csv", rows)})
    assert result.status == SyncRun.Status.SUCCEEDED
    assert not [r for r in wholesaler.requests if r.path == "/img/x.jpg"]
    messages = list(SyncRunError.objects.filter(run=result).values_list("message", flat=True))
    assert len(messages) == 2 and all("private network" in m for m in messages)

from decimal import Decimal

import pytest

from catalog.models import Category, PriceHistory, Product, StockItem, StockMovement, Variant
from integrations import services
from integrations.models import SourceRecord, StagedRow, SyncRun

from .conftest import iof_files

pytestmark = pytest.mark.django_db


def run(config, direction="full", **kwargs):
    return services.run_connector(config_id=config.pk, direction=direction, trigger="command", **kwargs)


def test_full_iof_import_creates_products_variants_stock_and_prices(make_connector):
    config = make_connector(markup_percent="30", round_99=True)
    result = run(config, files=iof_files())
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    assert (result.created, result.updated, result.unchanged, result.failed) == (6, 0, 0, 0)
    assert Product.objects.count() == 3
    dress = Product.objects.get(name="Sukienka letnia w kwiaty")
    assert dress.brand == "Moda Łódź"
    assert dress.category.name == "Sukienki" and dress.category.parent.name == "Odzież damska"
    assert dress.is_published is False  # publish_new is off by default
    s = Variant.objects.get(sku="1001-1")
    assert s.ean == "5901234123457"
    assert s.weight_grams == 350
    assert s.cost_price == Decimal("70.00")
    # 70 net * 1.30 = 91 net -> 111.93 gross -> up to .99
    assert s.price == Decimal("111.99")
    # The suggested retail price (srp) is never shown as a crossed-out price (Omnibus).
    assert s.compare_at_price is None
    assert s.name == "S"
    assert sorted(v.value for v in s.attribute_values.all()) == ["Czerwony", "S", "Wiskoza"]
    # Stocks file wins over light and full; fractional quantities are floored.
    stock = {i.variant.sku: i.quantity for i in StockItem.objects.select_related("variant")}
    assert stock == {"1001-1": 7, "1001-2": 3, "1001-3": 1, "1002-2": 10, "1002-3": 4, "1003-uniw": 2}
    assert StockMovement.objects.filter(reason="import", reference=f"sync:{result.pk}").count() == 6
    assert PriceHistory.objects.count() == 6
    bag = Variant.objects.get(sku="1003-uniw")
    assert bag.product.vat_rate == "8"
    assert SourceRecord.objects.filter(config=config).count() == 6
    assert not StagedRow.objects.exists()  # staging is cleaned up
    dress.refresh_from_db()
    assert dress.min_price == Decimal("111.99")


def test_unchanged_reimport_writes_nothing(make_connector):
    config = make_connector()
    run(config, files=iof_files())
    history, moves = PriceHistory.objects.count(), StockMovement.objects.count()
    updated_at = {v.sku: v.updated_at for v in Variant.objects.all()}
    second = run(config, files=iof_files())
    assert second.status == SyncRun.Status.SUCCEEDED
    assert (second.created, second.updated, second.unchanged) == (0, 0, 6)
    assert PriceHistory.objects.count() == history
    assert StockMovement.objects.count() == moves
    assert {v.sku: v.updated_at for v in Variant.objects.all()} == updated_at


def test_categories_created_under_configured_root(make_connector, store):
    config = make_connector(category_root="Hurtownia")
    run(config, files=iof_files())
    root = Category.objects.get(store=store, name="Hurtownia")
    assert Category.objects.get(name="Sukienki").path.startswith(root.path)


def test_bulk_refresh_matches_the_catalog_service(make_connector):
    """The importer's one-query refresh of min_price/search_text equals catalog's own."""
    from catalog.services import refresh_products

    config = make_connector(markup_percent="10")
    run(config, files=iof_files())
    before = list(Product.objects.order_by("pk").values_list("pk", "search_text", "min_price"))
    assert all(text and price for _pk, text, price in before)
    refresh_products(product_ids=[pk for pk, _t, _p in before])
    assert list(Product.objects.order_by("pk").values_list("pk", "search_text", "min_price")) == before


def test_an_import_that_changes_prices_invalidates_the_cached_shop_pages(make_connector, store):
    """Bulk writes fire no model signals, so the importer tells the page cache itself."""
    from catalog import pagecache

    config = make_connector()
    assert run(config, files=iof_files()).status == SyncRun.Status.SUCCEEDED
    old_price = Variant.objects.get(sku="1001-1").price
    before = pagecache.current_version(store.pk)
    config.settings["markup_percent"] = "100"
    config.save()
    result = run(config, files=iof_files())
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    assert Variant.objects.get(sku="1001-1").price != old_price
    assert pagecache.current_version(store.pk) != before

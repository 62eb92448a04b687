"""Admin (validated form, write-only secrets, actions, error CSV) and the sync command."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from catalog.models import Product, Variant
from integrations import services
from integrations.models import ConnectorConfig, PurchaseOrder, SyncRun, SyncRunError
from tests.shop.factories import UserFactory

from .conftest import FIXTURES, iof_files, make_config

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, store):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def form_data(store, **overrides):
    data = {
        "store": store.pk,
        "connector_type": "wholesaler_feed",
        "name": "Ptak",
        "is_active": "on",
        "full_sync_time": "02:30",
        "stock_sync_minutes": "15",
        "profile_json": "",
        "opt_profile": "ptak-csv",
        "opt_source_urls": '{"products": "https://hurtownia.example/feed.csv"}',
        "opt_username": "sklep",
        "opt_password": "bardzo-tajne-5678",
        "opt_price_source": "markup",
        "opt_markup_percent": "35",
        "opt_markup_fixed": "0",
        "opt_min_margin_percent": "10",
        "opt_default_vat": "23",
        "opt_category_map": "{}",
        "opt_vanished_policy": "hide",
        "opt_max_vanish_percent": "50",
        "opt_batch_size": "0",
        "opt_order_method": "email",
        "opt_download_images": "on",
        "opt_adopt_existing": "on",
    }
    data.update(overrides)
    return data


def test_add_connector_through_the_admin(admin_client, store):
    url = reverse("admin:integrations_connectorconfig_add")
    chooser = admin_client.get(url)  # first the kind: its options depend on it
    assert chooser.status_code == 200 and b"?connector_type=wholesaler_feed" in chooser.content
    assert b"opt_markup_percent" not in chooser.content
    assert admin_client.get(url + "?connector_type=nope").status_code == 200
    assert admin_client.post(url, {**form_data(store), "connector_type": "<script>"}).status_code == 400
    page = admin_client.get(url + "?connector_type=wholesaler_feed")
    assert page.status_code == 200 and b"opt_markup_percent" in page.content
    response = admin_client.post(url, form_data(store))
    assert response.status_code == 302, response.context["adminform"].form.errors
    config = ConnectorConfig.objects.get(name="Ptak")
    assert config.settings["markup_percent"] == "35" and config.settings["profile"] == "ptak-csv"
    assert config.secrets["password"] == "bardzo-tajne-5678"
    assert "bardzo-tajne" not in config.secrets_encrypted
    from django_celery_beat.models import PeriodicTask

    full = PeriodicTask.objects.get(name=f"integrations:{config.pk}:full")
    assert (full.crontab.hour, full.crontab.minute) == ("2", "30")


def test_change_form_never_shows_the_secret(admin_client, store):
    config = make_config(store, password="bardzo-tajne-5678")
    url = reverse("admin:integrations_connectorconfig_change", args=[config.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert b"bardzo-tajne" not in page.content
    assert "••••5678" in page.content.decode()
    # Saving without retyping the password keeps it.
    data = form_data(
        store, name=config.name, opt_profile="idosell-iof", opt_source_urls="{}", opt_password=""
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302
    config.refresh_from_db()
    assert config.secrets["password"] == "bardzo-tajne-5678"


def test_invalid_options_and_profile_are_shown_on_the_form(admin_client, store):
    url = reverse("admin:integrations_connectorconfig_add")
    response = admin_client.post(
        url, form_data(store, opt_markup_percent="dużo", profile_json='{"sources": {"a": {"format": "pdf"}}}')
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "opt_markup_percent" in errors and "profile_json" in errors
    assert not ConnectorConfig.objects.exists()


def test_run_now_and_dry_run_actions(admin_client, store, settings, fixtures_dir):
    from django.core.files.base import ContentFile

    config = make_config(store)
    config.feed_file.save(
        "full.xml", ContentFile((FIXTURES / "iof_full.xml").read_bytes())
    )  # an uploaded feed
    url = reverse("admin:integrations_connectorconfig_changelist")
    admin_client.post(url, {"action": "dry_run_full", "_selected_action": [config.pk]})
    dry = SyncRun.objects.get()
    assert dry.dry_run and dry.trigger == "admin" and dry.status == "succeeded", dry.error
    assert Product.objects.count() == 0
    admin_client.post(url, {"action": "run_full_now", "_selected_action": [config.pk]})
    assert Product.objects.count() == 3
    page = admin_client.get(url)
    assert page.status_code == 200 and config.name.encode() in page.content
    assert SyncRun.objects.filter(dry_run=False, status="succeeded").count() == 1


def test_sync_run_list_and_error_csv(admin_client, store, tmp_path):
    config = make_config(store, profile="generic-csv")
    path = tmp_path / "f.csv"
    path.write_text('sku;name;cost_net\nA;=HYPERLINK("x");1\n;Bez SKU;1\nB;;2\n', encoding="utf-8")
    run = services.run_connector(
        config_id=config.pk, direction="full", trigger="command", files={"products": str(path)}
    )
    assert run.failed == 2
    page = admin_client.get(reverse("admin:integrations_syncrun_changelist"))
    assert page.status_code == 200
    detail = admin_client.get(reverse("admin:integrations_syncrun_change", args=[run.pk]))
    assert detail.status_code == 200 and b"no product name" in detail.content
    response = admin_client.get(reverse("admin:integrations_syncrun_errors", args=[run.pk]))
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeffrow,key,message")
    assert "no SKU" in body and "no product name" in body


def test_error_csv_neutralises_formulas(store):
    from integrations.selectors import run_errors_csv

    config = make_config(store)
    run = SyncRun.objects.create(config=config, direction="full", trigger="command", status="failed")
    SyncRunError.objects.create(run=run, row_number=1, key="k", message="=cmd|' /C calc'!A0")
    assert "'=cmd" in "".join(run_errors_csv(run))


def test_purchase_order_admin_pages(admin_client, store):
    assert admin_client.get(reverse("admin:integrations_purchaseorder_changelist")).status_code == 200


def test_delete_connector_removes_its_schedules(admin_client, store):
    from django_celery_beat.models import PeriodicTask

    config = make_config(store)
    url = reverse("admin:integrations_connectorconfig_delete", args=[config.pk])
    admin_client.post(url, {"post": "yes"})
    assert not ConnectorConfig.objects.exists()
    assert not PeriodicTask.objects.filter(name__startswith="integrations:").exists()
    assert PurchaseOrder.objects.count() == 0


def test_sync_command_prints_progress_and_summary(store, capsys):
    config = make_config(store)
    call_command(
        "sync", str(config.pk), "--file", iof_files()["full"], f"--file=light={iof_files()['light']}"
    )
    out, err = capsys.readouterr()
    assert "Run " in out and "created=6" in out and "succeeded" in out
    assert "[" in err and "%" in err  # the progress bar
    assert Variant.objects.count() == 6


def test_sync_command_dry_run_writes_nothing(store, capsys):
    config = make_config(store)
    call_command("sync", str(config.pk), "--dry-run", "--file", iof_files()["full"])
    out, _err = capsys.readouterr()
    assert "DRY RUN" in out and "create" in out and "1001-1" in out
    assert Variant.objects.count() == 0 and Product.objects.count() == 0


def test_sync_command_reports_a_failed_run(store, tmp_path):
    config = make_config(store)
    bad = tmp_path / "bad.xml"
    bad.write_text("<offer><products><product>")
    with pytest.raises(CommandError, match="failed"):
        call_command("sync", str(config.pk), "--file", str(bad))
    with pytest.raises(CommandError, match="No connector"):
        call_command("sync", "999999")


def test_ptak_csv_profile_windows_1250(store):
    config = make_config(store, profile="ptak-csv", markup_percent="0")
    run = services.run_connector(
        config_id=config.pk,
        direction="full",
        trigger="command",
        files={"products": str(FIXTURES / "ptak.csv")},
    )
    assert run.status == "succeeded", run.error
    assert run.created == 3
    skirt = Product.objects.get(name="Spódnica plisowana")
    assert skirt.variants.count() == 2 and skirt.category.name == "Spódnice"
    assert skirt.brand == "Ptak Moda"
    small = Variant.objects.get(sku="PT-100-S")
    assert small.weight_grams == 250 and str(small.price) == "55.35"
    assert small.name == "S / Różowy"


def test_tim_xml_profile(store):
    config = make_config(store, profile="tim-xml", markup_percent="20")
    run = services.run_connector(
        config_id=config.pk,
        direction="full",
        trigger="command",
        files={"products": str(FIXTURES / "tim.xml")},
    )
    assert run.status == "succeeded", run.error
    cable = Variant.objects.get(sku="TIM-0001234")
    assert cable.ean == "5905555555553" and cable.weight_grams == 11500
    assert cable.product.category.parent.name == "Kable i przewody"
    assert {v.value for v in cable.attribute_values.all()} == {"3x2,5 mm²", "450/750 V"}
    assert str(Variant.objects.get(sku="TIM-0005678").cost_price) == "12.40"


def test_generic_csv_profile_with_variants(store):
    config = make_config(store, profile="generic-csv")
    run = services.run_connector(
        config_id=config.pk,
        direction="full",
        trigger="command",
        files={"products": str(FIXTURES / "generic.csv")},
    )
    assert run.status == "succeeded", run.error
    shirt = Product.objects.get(name="Koszulka bawełniana")
    assert sorted(shirt.variants.values_list("name", flat=True)) == ["M / biały", "S / biały"]
    assert Product.objects.get(name="Kubek ceramiczny").category.parent.parent.name == "Dom"

"""Files on an S3-compatible object store, over real HTTP: a moto server started by these tests on
a free port (``moto[server]``, a dev dependency; no Docker). Media are served from the bucket,
private files only through the shop's checked views (streamed, or a presigned link of at most five
minutes), a worker reads what another node wrote, and backups go to the bucket and come back."""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from shop.backup import _fetch
from shop.storage import MAX_PRIVATE_URL_SECONDS, private_storage
from tests.recovery.realworld import free_port

MEDIA, PRIVATE, BACKUPS = "koszyk-media", "koszyk-private", "koszyk-backups"
PUBLIC_READ = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject"],
            "Resource": [f"arn:aws:s3:::{MEDIA}/*"],
        }
    ],
}


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(s3_server, settings, monkeypatch):
    """The shop's storages on the moto server, with fresh buckets for each test."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id="koszyk",
        aws_secret_access_key="koszyk-secret",
    )
    for bucket in (MEDIA, PRIVATE, BACKUPS):
        _empty(client, bucket)
        client.create_bucket(Bucket=bucket)
    # Media readable by anyone, as docs/configuration.md asks of the media bucket.
    client.put_bucket_policy(Bucket=MEDIA, Policy=json.dumps(PUBLIC_READ))
    common = {
        "endpoint_url": s3_server,
        "region_name": "us-east-1",
        "addressing_style": "path",
        "access_key": "koszyk",
        "secret_key": "koszyk-secret",
    }
    settings.PRIVATE_DOWNLOAD_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "shop.storage_s3.MediaS3Storage", "OPTIONS": {**common, "bucket_name": MEDIA}},
        "private": {
            "BACKEND": "shop.storage_s3.PrivateS3Storage",
            "OPTIONS": {**common, "bucket_name": PRIVATE, "default_acl": "private", "querystring_expire": 60},
        },
        "backups": {
            "BACKEND": "shop.storage_s3.PrivateS3Storage",
            "OPTIONS": {**common, "bucket_name": BACKUPS, "location": "backups", "default_acl": "private"},
        },
    }
    yield client
    for bucket in (MEDIA, PRIVATE, BACKUPS):
        _empty(client, bucket)


def _empty(client, bucket):
    try:
        objects = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    except client.exceptions.NoSuchBucket:
        return
    for obj in objects:
        client.delete_object(Bucket=bucket, Key=obj["Key"])
    client.delete_bucket(Bucket=bucket)


def _get(url: str) -> tuple[int, bytes, dict]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read(), dict(response.headers)


def _keys(client, bucket) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "navy").save(out, "JPEG")
    return out.getvalue()


def _no_local_files(settings):
    root = settings.PRIVATE_ROOT
    return not root.exists() or not any(p.is_file() for p in root.rglob("*"))


pytestmark = pytest.mark.django_db


def test_a_product_image_is_uploaded_to_the_bucket_and_served_from_it(s3, store, settings):
    from catalog import images, services
    from tests.catalog.factories import ProductFactory

    product = ProductFactory(store=store)
    image = services.add_product_image(
        product=product, upload=SimpleUploadedFile("Zdjęcie.jpg", _jpeg(), content_type="image/jpeg")
    )
    assert image.image.name in _keys(s3, MEDIA)
    url = image.image.url
    assert url.startswith(f"{s3.meta.endpoint_url}/{MEDIA}/products/") and "X-Amz-" not in url
    status, body, _ = _get(url)
    assert status == 200 and Image.open(io.BytesIO(body)).size == (64, 48)
    # The thumbnail is made from the bucket's copy and stored beside it.
    thumb = images.thumbnail_url(image.image.name, 32)
    assert images.thumbnail_name(image.image.name, 32) in _keys(s3, MEDIA)
    assert Image.open(io.BytesIO(_get(thumb)[1])).format == "WEBP"
    assert not settings.MEDIA_ROOT.exists()  # nothing on this machine's disk


def test_a_custom_domain_serves_media_but_never_private_files(s3, settings):
    options = settings.STORAGES["default"]["OPTIONS"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {**options, "custom_domain": "cdn.example.pl"},
        },
        "private": {
            **settings.STORAGES["private"],
            "OPTIONS": {**settings.STORAGES["private"]["OPTIONS"], "custom_domain": "cdn.example.pl"},
        },
    }
    assert default_storage.url("products/1/a.jpg") == "https://cdn.example.pl/products/1/a.jpg"
    assert "cdn.example.pl" not in private_storage.url("digital/a.pdf")


def test_private_objects_are_private_and_their_links_expire_within_five_minutes(s3):
    name = private_storage.save("digital/ebook.pdf", ContentFile(b"%PDF-1.4 secret"))
    grants = s3.get_object_acl(Bucket=PRIVATE, Key=name)["Grants"]
    assert not [g for g in grants if "AllUsers" in str(g.get("Grantee", {}).get("URI", ""))]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]  # the owner only
    for asked in (None, 60, 3600, 7 * 24 * 3600):
        url = private_storage.url(name, expire=asked)
        expires = int(parse_qs(urlsplit(url).query)["X-Amz-Expires"][0])
        assert expires <= MAX_PRIVATE_URL_SECONDS
    assert int(parse_qs(urlsplit(private_storage.url(name)).query)["X-Amz-Expires"][0]) == 60
    assert _get(private_storage.url(name))[1] == b"%PDF-1.4 secret"


def test_a_digital_good_is_delivered_through_the_signed_link_and_the_link_expires(
    s3, client, store, settings
):
    import time_machine

    from catalog import downloads
    from tests.catalog.factories import DigitalAssetFactory, DownloadGrantFactory

    asset = DigitalAssetFactory(variant__store=store)
    assert asset.file.name in _keys(s3, PRIVATE)
    grant = DownloadGrantFactory(asset=asset, downloads_left=3, expires_at=timezone.now() + timedelta(days=2))
    path = downloads.download_url(grant, absolute=False)

    streamed = client.get(path)  # streamed from the bucket through the shop
    assert streamed.status_code == 200
    assert b"".join(streamed.streaming_content).startswith(b"%PDF")
    assert streamed["Content-Disposition"].startswith('attachment; filename="ebook')
    assert "no-store" in streamed["Cache-Control"]

    settings.PRIVATE_DOWNLOAD_REDIRECT = True  # large files: a short-lived presigned link instead
    redirected = client.get(path)
    assert redirected.status_code == 302
    location = redirected["Location"]
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(f"{s3.meta.endpoint_url}/{PRIVATE}/digital/")
    assert int(query["X-Amz-Expires"][0]) <= MAX_PRIVATE_URL_SECONDS
    assert query["response-content-disposition"][0].startswith("attachment; filename*=UTF-8''ebook")
    status, body, headers = _get(location)
    assert status == 200 and body.startswith(b"%PDF")
    assert headers["Content-Disposition"].startswith("attachment")
    assert "no-store" in redirected["Cache-Control"]

    with time_machine.travel(timezone.now() + timedelta(days=3)):
        expired = client.get(path)
    assert expired.status_code == 410  # the shop's own link expired: no new presigned URL
    assert "Location" not in expired
    grant.refresh_from_db()
    assert grant.download_count == 2
    assert _no_local_files(settings)


def test_an_invoice_rendered_on_one_node_is_attached_by_a_worker_on_another(
    s3, settings, monkeypatch, mailoutbox, django_capture_on_commit_callbacks
):
    from orders import emails, invoices
    from orders.models import OrderEmail
    from orders.services.workflow import plan_email
    from tests.catalog.factories import VariantFactory
    from tests.orders.factories_after_sales import make_order
    from tests.shop.factories import StoreFactory

    seller = StoreFactory(company_name="Koszyk Sp. z o.o.", company_tax_id="5260001246")
    order = make_order(store=seller, lines=[(VariantFactory(store=seller, stock=5), 1)])
    invoice = invoices.issue_invoice(order=order, render="never")
    invoices.render_pdf(invoice=invoice)  # the web node (or the payments worker) renders it
    stored = s3.get_object(Bucket=PRIVATE, Key=invoice.pdf.name)["Body"].read()
    assert stored.startswith(b"%PDF")
    with django_capture_on_commit_callbacks(execute=False):
        email = plan_email(
            order,
            OrderEmail.Kind.INVOICE,
            key="copy",
            context={
                "template": "orders/emails/invoice_correction",
                "invoice_id": invoice.pk,
                "number": invoice.number,
                "corrects": invoice.number,
            },
        )
    # Another node: its own disk is empty, its storage objects are new, and it must not render.
    settings.PRIVATE_ROOT = settings.PRIVATE_ROOT.parent / "other-node"
    settings.STORAGES = {**settings.STORAGES}
    monkeypatch.setattr(invoices, "render_pdf_bytes", lambda invoice: pytest.fail("rendered again"))
    assert emails.send_order_email(email.pk) is True
    [message] = mailoutbox
    [(filename, content, mimetype)] = message.attachments
    assert (filename, mimetype) == (invoices.pdf_filename(invoice), "application/pdf")
    assert content == stored
    assert _no_local_files(settings)


def test_a_report_export_is_written_to_the_bucket_and_downloaded_by_staff(s3, client, store, settings):
    from reports import services
    from reports.models import ReportJob
    from tests.reports.factories import staff_with

    user = staff_with("view_order_report", email="szef@example.com")
    job = ReportJob.objects.create(
        store=store,
        kind="orders",
        format="csv",
        params={"date_from": "2026-01-01", "date_to": "2026-01-31"},
        requested_by=user,
    )
    services.run_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ReportJob.Status.DONE, job.error
    assert job.file.name in _keys(s3, PRIVATE) and job.file.name.startswith("reports/")
    client.force_login(user)
    response = client.get(reverse("admin:reports_reportjob_download", args=[job.pk]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body == s3.get_object(Bucket=PRIVATE, Key=job.file.name)["Body"].read() and body
    assert response["Content-Disposition"].startswith("attachment")
    client.force_login(staff_with(email="obcy@example.com"))  # staff without the permission
    assert client.get(reverse("admin:reports_reportjob_download", args=[job.pk])).status_code in (
        302,
        403,
        404,
    )
    assert _no_local_files(settings)


@pytest.mark.django_db(transaction=True)
def test_backup_to_the_bucket_and_restore_from_it(s3, settings, empty_database_url):
    from tests.shop.factories import StoreFactory

    StoreFactory(domain="chmura.example.pl", name="Sklep w chmurze")
    default_storage.save("products/1/foto.jpg", ContentFile(b"\xff\xd8 jpeg"))
    private_storage.save("invoices/1/FV-2026-01-0001.pdf", ContentFile(b"%PDF invoice"))
    out = io.StringIO()
    call_command("backup", stdout=out)
    [key] = _keys(s3, BACKUPS)
    assert key.startswith("backups/koszyk-") and key.endswith(".tar.gz.enc")
    assert s3.get_object(Bucket=BACKUPS, Key=key)["Body"].read(10) == b"KOSZYK-BAC"
    assert not settings.BACKUP_DIR.exists() or not any(settings.BACKUP_DIR.iterdir())

    # The files are lost with the machine; the restore reads the archive from the bucket.
    default_storage.delete("products/1/foto.jpg")
    private_storage.delete("invoices/1/FV-2026-01-0001.pdf")
    call_command("restore", "latest", database_url=empty_database_url, stdout=io.StringIO())
    with default_storage.open("products/1/foto.jpg") as fh:
        assert fh.read() == b"\xff\xd8 jpeg"
    with private_storage.open("invoices/1/FV-2026-01-0001.pdf") as fh:
        assert fh.read() == b"%PDF invoice"
    assert _database_has_store(empty_database_url, "chmura.example.pl")
    # The backups' own folder is never inside a backup, even in a shared bucket.
    settings.STORAGES = {
        **settings.STORAGES,
        "backups": {
            **settings.STORAGES["backups"],
            "OPTIONS": {**settings.STORAGES["backups"]["OPTIONS"], "bucket_name": PRIVATE},
        },
    }
    call_command("backup", stdout=io.StringIO())
    assert any(k.startswith("backups/") for k in _keys(s3, PRIVATE))
    second = storages["backups"].listdir("")[1][0]
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(_fetch(second, None, Path(tmp))) as tar:
        names = tar.getnames()
    assert "private/invoices/1/FV-2026-01-0001.pdf" in names
    assert not [n for n in names if n.startswith("private/backups")]


def _database_has_store(url: str, domain: str) -> bool:
    if url.startswith("sqlite"):
        import sqlite3

        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            return bool(con.execute("SELECT 1 FROM shop_store WHERE domain = ?", [domain]).fetchone())
        finally:
            con.close()
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://")) as con:
        return bool(con.execute("SELECT 1 FROM shop_store WHERE domain = %s", [domain]).fetchone())


def test_model_fields_keep_the_storage_their_migrations_name(settings):
    """The FileFields hold ``private_storage``, which deconstructs as the migrations say, so moving
    the files to a bucket needs no migration; on disk it refuses to build a URL."""
    from catalog.models import DigitalAsset
    from orders.models import Invoice
    from reports.models import ReportJob

    for field in (DigitalAsset._meta.get_field("file"), Invoice._meta.get_field("pdf")):
        assert field.storage is private_storage
        assert field.storage.deconstruct() == ("shop.storage.PrivateStorage", (), {})
    assert ReportJob._meta.get_field("file").storage == private_storage
    with pytest.raises(ValueError, match="no public URL"):
        private_storage.url("digital/a.pdf")
    assert private_storage.path("digital/a.pdf") == str(settings.PRIVATE_ROOT / "digital" / "a.pdf")


def test_on_disk_a_redirect_is_never_possible_so_the_file_is_streamed(client, store, settings):
    from catalog import downloads
    from tests.catalog.factories import DigitalAssetFactory, DownloadGrantFactory

    settings.PRIVATE_DOWNLOAD_REDIRECT = True
    grant = DownloadGrantFactory(asset=DigitalAssetFactory(variant__store=store), downloads_left=1)
    response = client.get(downloads.download_url(grant, absolute=False))
    assert response.status_code == 200 and "Location" not in response
    assert b"".join(response.streaming_content).startswith(b"%PDF")

from datetime import timedelta

import pytest
from django.core import signing
from django.db.models import F
from django.utils import timezone

from catalog import downloads
from catalog.models import DownloadGrant
from tests.catalog.factories import DigitalAssetFactory, DigitalVariantFactory, DownloadGrantFactory
from tests.shop.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_grant_downloads_is_idempotent_per_reference(store):
    variant = DigitalVariantFactory(store=store)
    DigitalAssetFactory(variant=variant, download_limit=2, link_valid_days=7)
    DigitalAssetFactory(variant=variant)
    grants = downloads.grant_downloads(variant=variant, email="anna@example.com", reference="order-line:1")
    assert len(grants) == 2
    assert grants[0].downloads_left == 2
    assert timezone.now() + timedelta(days=6) < grants[0].expires_at < timezone.now() + timedelta(days=8)
    again = downloads.grant_downloads(variant=variant, email="anna@example.com", reference="order-line:1")
    assert [g.pk for g in again] == [g.pk for g in grants]
    assert (
        downloads.grant_downloads(variant=DigitalVariantFactory(store=store), email="a@b.pl", reference="x")
        == []
    )


def test_download_url_streams_the_file_and_counts(client, store):
    grant = DownloadGrantFactory(asset=DigitalAssetFactory(variant__store=store), downloads_left=2)
    url = downloads.download_url(grant)
    assert url.startswith("http://localhost:8000/pobierz/")
    path = downloads.download_url(grant, absolute=False)
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="ebook')
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    grant.refresh_from_db()
    assert (grant.downloads_left, grant.download_count) == (1, 1)
    assert client.get(path).status_code == 200
    gone = client.get(path)
    assert gone.status_code == 410
    assert "wykorzystano już dozwoloną liczbę razy" in gone.content.decode()


def test_expired_link_is_a_friendly_410(client, store):
    grant = DownloadGrantFactory(
        asset=DigitalAssetFactory(variant__store=store), expires_at=timezone.now() - timedelta(minutes=1)
    )
    response = client.get(downloads.download_url(grant, absolute=False))
    assert response.status_code == 410
    assert "Ten link wygasł" in response.content.decode()
    grant.refresh_from_db()
    assert grant.download_count == 0


def test_forged_or_foreign_tokens_are_404(client, store):
    grant = DownloadGrantFactory(asset=DigitalAssetFactory(variant__store=store))
    token = downloads.make_token(grant)
    assert client.get(f"/pobierz/{token[:-2]}xx/").status_code == 404
    other_salt = signing.dumps({"g": grant.pk}, salt="something-else")
    assert client.get(f"/pobierz/{other_salt}/").status_code == 404
    assert client.get("/pobierz/../../etc/passwd/").status_code == 404
    foreign = DownloadGrantFactory(asset=DigitalAssetFactory(variant__store=StoreFactory()))
    assert client.get(downloads.download_url(foreign, absolute=False)).status_code == 404


def test_files_have_no_public_url(store):
    asset = DigitalAssetFactory(variant__store=store)
    with pytest.raises(ValueError):
        asset.file.url  # noqa: B018


def test_last_download_cannot_be_taken_twice(store):
    """The decrement is one conditional UPDATE: a second request that read the same row before
    the first one wrote finds nothing to update and is refused."""
    grant = DownloadGrantFactory(asset=DigitalAssetFactory(variant__store=store), downloads_left=1)
    stale = DownloadGrant.objects.get(pk=grant.pk)  # read by a concurrent request
    downloads.use_grant(grant)
    with pytest.raises(downloads.DownloadRefused) as refused:
        downloads.use_grant(stale)
    assert refused.value.reason == "used_up"
    assert DownloadGrant.objects.filter(pk=grant.pk).values_list("download_count", flat=True).get() == 1
    assert not DownloadGrant.objects.filter(downloads_left__lt=0).exists()
    DownloadGrant.objects.filter(pk=grant.pk).update(downloads_left=F("downloads_left"))


def test_missing_file_is_404_and_not_counted(client, store):
    grant = DownloadGrantFactory(asset=DigitalAssetFactory(variant__store=store))
    grant.asset.file.storage.delete(grant.asset.file.name)
    assert client.get(downloads.download_url(grant, absolute=False)).status_code == 404
    grant.refresh_from_db()
    assert grant.download_count == 0

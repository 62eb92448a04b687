"""A digital product's file is private: its admin page shows the file's name, never a link."""

import pytest
from django.urls import reverse

from tests.catalog.factories import DigitalAssetFactory
from tests.shop.factories import SuperuserFactory

pytestmark = pytest.mark.django_db


def test_digital_asset_change_page_shows_the_private_file_without_a_url(client, store):
    asset = DigitalAssetFactory(variant__store=store)
    client.force_login(SuperuserFactory())
    response = client.get(reverse("admin:catalog_digitalasset_change", args=[asset.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert asset.file.name in html
    assert f'href="{asset.file.name}' not in html and "/private/" not in html

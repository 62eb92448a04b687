"""The secret feed URL: 404 for anything but the right id, token and extension; HEAD; ETag and
Last-Modified with 304; gzip when asked; token rotation."""

from __future__ import annotations

import gzip

import pytest
from django.utils.http import http_date

from integrations.feeds import services
from tests.catalog.factories import ProductImageFactory, VariantFactory

from .factories import FeedFactory, GoogleTSVFeedFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed(store, generate_feed):
    ProductImageFactory(product=VariantFactory(store=store, sku="S-1", stock=2).product)
    feed = FeedFactory(store=store)
    generate_feed(feed)
    return feed


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_right_url_serves_the_file_with_validators(client, feed, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):  # the feed, and the store on a cold host cache
        response = client.get(feed.url_path())
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    assert response["ETag"] == f'"{feed.etag}"'
    assert response["Last-Modified"] == http_date(feed.last_generated_at.timestamp())
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert b"<g:id>S-1</g:id>" in body(response)
    assert int(response["Content-Length"]) == feed.last_size


@pytest.mark.parametrize(
    "mangle",
    [
        lambda f: f"/feeds/{f.pk}-{f.token[:-1]}x.xml",
        lambda f: f"/feeds/{f.pk}-{f.token}.tsv",
        lambda f: f"/feeds/{f.pk + 1000}-{f.token}.xml",
        lambda f: f"/feeds/{f.pk}-{'A' * 43}.xml",
        lambda f: f"/feeds/{f.pk}-{f.token}.xml/",
        lambda f: f"/feeds/{f.pk}-{f.token}{'x' * 5000}.xml",
        lambda f: f"/feeds/{f.pk}-%00{f.token}.xml",
        lambda f: f"/feeds/{'9' * 40}-{f.token}.xml",
    ],
)
def test_anything_else_is_404(client, feed, mangle):
    assert client.get(mangle(feed)).status_code == 404


def test_inactive_or_never_generated_is_404(client, store, feed):
    never = GoogleTSVFeedFactory(store=store)
    assert client.get(never.url_path()).status_code == 404
    feed.is_active = False
    services.save_feed(feed=feed)
    assert client.get(feed.url_path()).status_code == 404


def test_head_answers_headers_only(client, feed):
    response = client.head(feed.url_path())
    assert response.status_code == 200
    assert response["ETag"] == f'"{feed.etag}"'
    assert int(response["Content-Length"]) == feed.last_size
    assert body(response) == b""


def test_conditional_get_answers_304(client, feed):
    url = feed.url_path()
    assert client.get(url, headers={"If-None-Match": f'"{feed.etag}"'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": f'W/"{feed.etag}", "other"'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200
    since = http_date(feed.last_generated_at.timestamp())
    assert client.get(url, headers={"If-Modified-Since": since}).status_code == 304
    assert client.get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 200
    assert client.get(url, headers={"If-Modified-Since": "garbage ]]> \x01"}).status_code == 200
    response = client.head(url, headers={"If-None-Match": f'"{feed.etag}"'})
    assert response.status_code == 304 and response["ETag"] == f'"{feed.etag}"'


def test_gzip_when_asked(client, feed):
    plain = body(client.get(feed.url_path()))
    response = client.get(feed.url_path(), headers={"Accept-Encoding": "br, gzip;q=0.8"})
    assert response["Content-Encoding"] == "gzip"
    assert response["ETag"] == f'"{feed.etag}-gz"'
    assert "Accept-Encoding" in response["Vary"]
    assert gzip.decompress(body(response)) == plain
    refused = client.get(feed.url_path(), headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused
    assert (
        client.get(
            feed.url_path(), headers={"Accept-Encoding": "gzip", "If-None-Match": f'"{feed.etag}-gz"'}
        ).status_code
        == 304
    )


def test_rotating_the_token_retires_the_old_url(client, feed):
    old = feed.url_path()
    services.rotate_token(feed=feed)
    assert client.get(old).status_code == 404
    assert client.get(feed.url_path()).status_code == 200
    assert feed.url_path() != old


def test_other_methods_are_refused(client, feed):
    assert client.post(feed.url_path()).status_code == 405
    assert client.put(feed.url_path()).status_code == 405


@pytest.mark.parametrize(
    "header, gzipped",
    [
        ("gzip", True),
        ("GZIP;Q=1.0", True),
        ("deflate, gzip;q=0.5", True),
        ("gzip;q=0", False),
        ("gzip;q=0.000", False),
        ("gzip;q=abc", False),
        ("x-gzip-not", False),
        ("identity", False),
        ("", False),
        ("gzip;" * 5000, False),
        ("\x01gzip\x7f", False),
    ],
)
def test_accept_encoding_parsing(client, feed, header, gzipped):
    response = client.get(feed.url_path(), headers={"Accept-Encoding": header})
    assert response.status_code == 200
    assert ("Content-Encoding" in response) is gzipped


def test_oversized_and_garbage_validators_are_ignored(client, feed):
    for value in ('"' + "a" * 20_000 + '"', "W/", "*" * 3, ",,,", '"\x00"'):
        assert client.get(feed.url_path(), headers={"If-None-Match": value}).status_code in (200, 304)
    assert client.get(feed.url_path(), headers={"If-None-Match": "*"}).status_code == 304

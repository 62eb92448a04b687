"""Helpers for the feed tests: generate a feed and parse what it wrote."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from integrations.feeds import services
from integrations.feeds.models import Feed, FeedRun

G = "{http://base.google.com/ns/1.0}"


def generate(feed: Feed, **kwargs) -> tuple[FeedRun, bytes]:
    run = services.generate_feed(feed_id=feed.pk, **kwargs)
    feed.refresh_from_db()
    assert run.status == FeedRun.Status.SUCCEEDED, run.error
    return run, Path(services.feed_path(feed)).read_bytes()


def parse(content: bytes) -> etree._Element:
    """Parse like a partner would, with entities and network off."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    return etree.fromstring(content, parser)


def google_items(content: bytes) -> dict[str, dict[str, list[str]]]:
    """{g:id: {attribute: [values]}} of a Google RSS feed."""
    root = parse(content)
    assert root.tag == "rss" and root.get("version") == "2.0"
    assert root.nsmap.get("g") == "http://base.google.com/ns/1.0"
    items = {}
    for item in root.find("channel").iterfind("item"):
        fields: dict[str, list[str]] = {}
        for child in item:
            assert child.tag.startswith(G), child.tag
            fields.setdefault(child.tag[len(G) :], []).append(child.text or "")
        items[fields["id"][0]] = fields
    return items


def tsv_rows(content: bytes) -> list[dict[str, str]]:
    lines = content.decode("utf-8").split("\n")
    assert lines[-1] == ""
    header = lines[0].split("\t")
    rows = []
    for line in lines[1:-1]:
        cells = line.split("\t")
        assert len(cells) == len(header), line
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


@pytest.fixture
def generate_feed():
    return generate

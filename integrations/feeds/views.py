"""The secret feed URL a partner fetches: ``/feeds/<id>-<token>.<xml|tsv>``.

Wrong id, token or extension, an inactive feed or one never generated: 404, the same answer for
each, so a URL reveals nothing. The token is compared in constant time. Conditional requests
(``If-None-Match``, ``If-Modified-Since``) get 304; clients that accept gzip get the pre-compressed
twin written with the file; HEAD answers the headers only.
"""

from __future__ import annotations

import re

from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotModified
from django.utils.crypto import constant_time_compare
from django.utils.http import http_date, parse_etags, parse_http_date_safe
from django.views.decorators.http import require_http_methods

from . import services
from .models import Feed

_GZIP = re.compile(r"(?:^|,)\s*gzip\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*(?:,|$)", re.I)


def accepts_gzip(header: str) -> bool:
    match = _GZIP.search(header or "")
    if match is None:
        return False
    try:
        return match.group(1) is None or float(match.group(1)) > 0
    except ValueError:
        return False


def _not_modified(request, etags: set[str], last_modified: int | None) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match:
        wanted = {e.removeprefix("W/") for e in parse_etags(if_none_match)}
        return "*" in wanted or bool(wanted & etags)
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    return since is not None and last_modified is not None and last_modified <= since


@require_http_methods(["GET", "HEAD"])
def serve_feed(request, pk: int, token: str, ext: str):
    for _attempt in range(2):
        feed = (
            Feed.objects.filter(pk=pk, is_active=True)
            .only("pk", "token", "format", "file_name", "etag", "last_generated_at")
            .first()
        )
        if feed is None or not constant_time_compare(feed.token, token) or feed.extension != ext:
            raise Http404
        if not feed.file_name or feed.last_generated_at is None:
            raise Http404
        gzipped = accepts_gzip(request.headers.get("Accept-Encoding", ""))
        etag = f'"{feed.etag}-gz"' if gzipped else f'"{feed.etag}"'
        last_modified = int(feed.last_generated_at.timestamp())
        headers = {
            "ETag": etag,
            "Last-Modified": http_date(last_modified),
            "Cache-Control": "private, no-cache",
            "Vary": "Accept-Encoding",
            "X-Robots-Tag": "noindex, nofollow",
        }
        if _not_modified(request, {f'"{feed.etag}"', f'"{feed.etag}-gz"'}, last_modified):
            response = HttpResponseNotModified()
            for key, value in headers.items():
                response[key] = value
            return response
        path = services.feed_path(feed, gzipped=gzipped)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
        except FileNotFoundError:
            continue  # a new generation replaced it between the two reads: look again
        size = path.stat().st_size
        if request.method == "HEAD":
            handle.close()
            response = HttpResponse(content_type=feed.content_type)
        else:
            response = FileResponse(handle, content_type=feed.content_type)
        response["Content-Length"] = str(size)
        response["Content-Disposition"] = f'inline; filename="feed-{feed.pk}.{feed.extension}"'
        if gzipped:
            response["Content-Encoding"] = "gzip"
        for key, value in headers.items():
            response[key] = value
        return response
    raise Http404

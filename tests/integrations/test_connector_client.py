"""The connector HTTP client (integrations.connector_client on shop.outbound) against a local fake server: retries, Retry-After, breaker, rate
limit, timeouts, truncation, size limit, gzip, ETag and Basic auth."""

import gzip
import time
import tracemalloc
import uuid

import pytest

from integrations.connector_client import (
    CircuitBreaker,
    CircuitOpen,
    ConnectorClient,
    FeedTooLarge,
    IntegrationHTTPError,
    TruncatedDownload,
    retry_after_seconds,
)
from shop.outbound import RateLimiter
from tests.fakes.http_server import FakeHTTPServer, FakeResponse


@pytest.fixture
def server():
    with FakeHTTPServer() as s:
        yield s


def client(**kwargs):
    sleeps = []
    defaults = {
        "name": f"test-{uuid.uuid4().hex}",
        "retries": 3,
        "backoff": 0.01,
        "max_backoff": 5,
        "rate_per_second": 0,
        "sleep": sleeps.append,
    }
    defaults.update(kwargs)
    c = ConnectorClient(**defaults)
    c.sleeps = sleeps
    return c


def test_retries_5xx_with_exponential_backoff_then_succeeds(server):
    answers = iter([FakeResponse(503), FakeResponse(502), FakeResponse(200, b"ok")])
    server.route("GET", "/x", lambda req: next(answers))
    c = client(backoff=1, max_backoff=100)
    response = c.request("GET", server.url("/x"))
    assert response.status_code == 200 and response.text == "ok"
    assert len(server.requests) == 3
    assert 1 <= c.sleeps[0] < 2 and 2 <= c.sleeps[1] < 3  # 1 s, then 2 s (+ jitter < 1 s)


def test_429_honours_retry_after(server):
    answers = iter([FakeResponse(429, b"", {"Retry-After": "7"}), FakeResponse(200, b"ok")])
    server.route("GET", "/x", lambda req: next(answers))
    c = client(max_backoff=100)
    assert c.request("GET", server.url("/x")).status_code == 200
    assert c.sleeps == [7.0]


def test_retry_after_as_http_date():
    from email.utils import formatdate

    assert 8 <= retry_after_seconds(formatdate(time.time() + 10, usegmt=True)) <= 10
    assert retry_after_seconds("garbage") is None


def test_gives_up_after_retries_with_clear_message(server):
    server.route("GET", "/x", FakeResponse(500))
    with pytest.raises(IntegrationHTTPError, match="after 4 attempts: HTTP 500"):
        client().request("GET", server.url("/x"))
    assert len(server.requests) == 4


def test_4xx_is_not_retried(server):
    server.route("GET", "/x", FakeResponse(404))
    assert client().request("GET", server.url("/x")).status_code == 404
    assert len(server.requests) == 1


def test_slow_response_times_out(server):
    server.route("GET", "/slow", FakeResponse(200, b"late", delay=1.0))
    with pytest.raises(IntegrationHTTPError, match="timed out"):
        client(timeout=0.2, retries=1).request("GET", server.url("/slow"))


def test_circuit_breaker_opens_and_half_opens(server):
    state = {"ok": False}
    server.route("GET", "/x", lambda req: FakeResponse(200, b"ok") if state["ok"] else FakeResponse(503))
    c = client(retries=0, breaker_threshold=3, breaker_cooldown=0.3)
    for _ in range(3):
        with pytest.raises(IntegrationHTTPError):
            c.request("GET", server.url("/x"))
    assert c.breaker.state() == "open"
    with pytest.raises(CircuitOpen):
        c.request("GET", server.url("/x"))
    assert len(server.requests) == 3  # the open breaker sent nothing
    time.sleep(0.35)
    assert c.breaker.state() == "half-open"
    state["ok"] = True
    assert c.request("GET", server.url("/x")).status_code == 200
    assert c.breaker.state() == "closed"


def test_breaker_failed_trial_reopens():
    breaker = CircuitBreaker(f"t2-{uuid.uuid4().hex}", threshold=1, cooldown=0.1)
    breaker.failure()
    assert breaker.state() == "open"
    time.sleep(0.12)
    breaker.before_call()  # the trial call
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # only one trial at a time
    breaker.failure()
    assert breaker.state() == "open"


def test_rate_limiter_limits_rate():
    waits = []
    bucket = RateLimiter(f"rate-{uuid.uuid4().hex}", rate=2, burst=2, sleep=waits.append)
    assert bucket.take() == 0 and bucket.take() == 0
    # Both places of the 1-second window are taken: the third call waits for the first to age out
    # (a sliding window of `burst` calls over `burst / rate` seconds).
    bucket.sleep = lambda s: (waits.append(s), time.sleep(s))
    waited = bucket.take()
    assert 0.8 < waited <= 1.3


def test_rate_limiter_is_shared_through_the_cache():
    key = f"shared-{uuid.uuid4().hex}"
    a = RateLimiter(key, rate=1, burst=1, sleep=lambda s: None)
    b = RateLimiter(key, rate=1, burst=1, sleep=lambda s: None)
    assert a.take() == 0
    assert b.take(max_wait=0.5) > 0  # another process with the same key sees the place taken


def test_download_gzip_etag_and_basic_auth(tmp_path, wholesaler):
    c = client(auth=(wholesaler.username, wholesaler.password))
    dest = tmp_path / "full.xml"
    first = c.download(wholesaler.feed_url("full"), dest, max_bytes=10**6)
    assert dest.read_bytes() == wholesaler.files["full"]  # gzip was decoded
    assert first.etag and not first.not_modified
    sent = wholesaler.requests[-1].headers
    assert "gzip" in sent["accept-encoding"]
    second = c.download(wholesaler.feed_url("full"), dest, max_bytes=10**6, etag=first.etag)
    assert second.not_modified and second.status_code == 304


def test_download_wrong_password_is_refused_clearly(tmp_path, wholesaler):
    c = client(auth=(wholesaler.username, "wrong"))
    with pytest.raises(IntegrationHTTPError, match="refused the login"):
        c.download(wholesaler.feed_url("full"), tmp_path / "f", max_bytes=10**6)


def test_truncated_download_is_an_error_not_a_short_feed(tmp_path, wholesaler):
    wholesaler.gzip = False
    wholesaler.modes["full"] = "truncate"
    c = client(auth=(wholesaler.username, wholesaler.password), retries=1)
    with pytest.raises(TruncatedDownload, match="cut off"):
        c.download(wholesaler.feed_url("full"), tmp_path / "f", max_bytes=10**6)
    assert len([r for r in wholesaler.requests if r.path == "/feeds/full"]) == 2  # retried once


def test_truncated_gzip_download_is_an_error(tmp_path, wholesaler):
    wholesaler.modes["full"] = "truncate"
    c = client(auth=(wholesaler.username, wholesaler.password), retries=0)
    with pytest.raises(TruncatedDownload):
        c.download(wholesaler.feed_url("full"), tmp_path / "f", max_bytes=10**6)


def test_endless_download_is_cut_at_the_limit_with_flat_memory(tmp_path, wholesaler):
    wholesaler.modes["full"] = "huge"
    c = client(auth=(wholesaler.username, wholesaler.password), retries=0)
    tracemalloc.start()
    try:
        with pytest.raises(FeedTooLarge, match="larger than the limit"):
            c.download(wholesaler.feed_url("full"), tmp_path / "f", max_bytes=5 * 1024 * 1024)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024  # streamed in chunks, never the whole 5 MB in memory
    assert (tmp_path / "f").stat().st_size <= 5 * 1024 * 1024


def test_declared_content_length_over_limit_is_refused_before_reading(tmp_path, server):
    server.route("GET", "/big", FakeResponse(200, b"x" * 2048))
    with pytest.raises(FeedTooLarge, match="2048 bytes"):
        client().download(server.url("/big"), tmp_path / "f", max_bytes=1000)


def test_gzip_bomb_counts_decoded_bytes(tmp_path, server):
    bomb = gzip.compress(b"\0" * (3 * 1024 * 1024))
    server.route("GET", "/bomb", FakeResponse(200, bomb, {"Content-Encoding": "gzip"}))
    with pytest.raises(FeedTooLarge):
        client().download(server.url("/bomb"), tmp_path / "f", max_bytes=1024 * 1024)

"""shop.outbound against a local fake server: retries and Retry-After, the "may have been sent"
rule for non-idempotent requests, size caps, the rate limiter under threads and the shared pool."""

from __future__ import annotations

import gzip
import os
import socket
import threading
import time
import uuid
from email.utils import formatdate

import httpx
import pytest

from shop import outbound
from tests.fakes.http_server import FakeHTTPServer, FakeResponse


@pytest.fixture
def server():
    with FakeHTTPServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _local_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def partner(**kwargs) -> outbound.Partner:
    sleeps: list[float] = []
    defaults = {"retries": 3, "backoff": 0.01, "max_backoff": 60, "timeout": 2, "sleep": sleeps.append}
    p = outbound.Partner(f"test-{uuid.uuid4().hex}", **{**defaults, **kwargs})
    p.sleeps = sleeps
    return p


def sequence(*answers):
    queue = list(answers)
    return lambda req: queue.pop(0) if len(queue) > 1 else queue[0]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- Retries --------------------------------------------------------------------------------------


def test_503_with_retry_after_is_waited_out_then_succeeds(server):
    server.route(
        "GET", "/x", sequence(FakeResponse(503, b"", {"Retry-After": "7"}), FakeResponse(200, b"ok"))
    )
    p = partner()
    response = p.request("GET", server.url("/x"))
    assert response.status_code == 200 and response.text == "ok"
    assert p.sleeps == [7.0] and len(server.requests) == 2


def test_retry_after_as_an_http_date_and_garbage():
    assert 8 <= outbound.retry_after_seconds(formatdate(time.time() + 10, usegmt=True)) <= 10
    for garbage in ("garbage", "", None, "-5", "Mon, 99 Foo 2026", "1e9"):
        assert outbound.retry_after_seconds(garbage) is None


def test_backoff_grows_exponentially_without_retry_after(server):
    server.route("GET", "/x", sequence(FakeResponse(502), FakeResponse(500), FakeResponse(200, b"ok")))
    p = partner(backoff=1, max_backoff=100)
    assert p.request("GET", server.url("/x")).status_code == 200
    assert 1 <= p.sleeps[0] < 2 and 2 <= p.sleeps[1] < 3


def test_a_wait_longer_than_max_backoff_is_cut_short_and_reported(server):
    server.route("GET", "/x", FakeResponse(503, b"", {"Retry-After": "3600"}))
    p = partner(max_backoff=30, retries=2)
    with pytest.raises(outbound.OutboundError) as caught:
        p.request("GET", server.url("/x"))
    assert caught.value.retry_after == 3600 and caught.value.status == 503
    assert p.sleeps == [30, 30] and len(server.requests) == 3


def test_gives_up_after_the_retries_with_the_last_answer(server):
    server.route("GET", "/x", FakeResponse(500, b"broken"))
    with pytest.raises(outbound.OutboundError) as caught:
        partner(retries=2).request("GET", server.url("/x"))
    error = caught.value
    assert (error.kind, error.status, error.attempts, error.maybe_sent) == ("status", 500, 3, True)
    assert error.response.text == "broken" and len(server.requests) == 3


def test_a_4xx_is_returned_not_retried(server):
    server.route("GET", "/x", FakeResponse(404, b"nope"))
    response = partner().request("GET", server.url("/x"))
    assert response.status_code == 404 and response.text == "nope" and len(server.requests) == 1


# --- Was it sent? -----------------------------------------------------------------------------------


def test_a_post_that_reached_the_partner_is_not_sent_again(server):
    server.route("POST", "/pay", FakeResponse(503))
    p = partner()
    with pytest.raises(outbound.OutboundError) as caught:
        p.request("POST", server.url("/pay"), json={"amount": 100})
    assert caught.value.maybe_sent and caught.value.attempts == 1
    assert len(server.requests) == 1 and p.sleeps == []


def test_a_post_marked_idempotent_is_retried(server):
    server.route("POST", "/pay", sequence(FakeResponse(503), FakeResponse(201, b"{}")))
    response = partner().request("POST", server.url("/pay"), json={"amount": 100}, idempotent=True)
    assert response.status_code == 201 and len(server.requests) == 2
    assert [r.body for r in server.requests] == [b'{"amount":100}'] * 2


def test_a_post_with_an_idempotency_key_is_retried(server):
    server.route("POST", "/refund", sequence(FakeResponse(502), FakeResponse(200, b"{}")))
    p = partner()
    assert p.request("POST", server.url("/refund"), headers={"Idempotency-Key": "R-1"}).status_code == 200
    assert [r.headers["idempotency-key"] for r in server.requests] == ["R-1", "R-1"]


def test_a_post_that_timed_out_waiting_for_the_answer_may_have_been_sent(server):
    server.route("POST", "/pay", FakeResponse(200, b"late", delay=1.0))
    with pytest.raises(outbound.OutboundError) as caught:
        partner(timeout=0.2).request("POST", server.url("/pay"), content=b"x")
    assert caught.value.kind == "timeout" and caught.value.maybe_sent
    assert len(server.requests) == 1


def test_a_post_that_never_connected_is_retried_and_reported_unsent():
    p = partner(retries=2)
    with pytest.raises(outbound.OutboundError) as caught:
        p.request("POST", f"http://127.0.0.1:{closed_port()}/pay", content=b"x")
    assert caught.value.kind == "connect" and not caught.value.maybe_sent
    assert caught.value.attempts == 3 and len(p.sleeps) == 2


def test_a_post_refused_unread_with_429_is_retried(server):
    server.route(
        "POST", "/sms", sequence(FakeResponse(429, b"", {"Retry-After": "1"}), FakeResponse(200, b"{}"))
    )
    p = partner()
    assert p.request("POST", server.url("/sms"), data={"to": "48500"}).status_code == 200
    assert p.sleeps == [1.0] and len(server.requests) == 2


def test_the_caller_can_forbid_resending_even_a_get(server):
    server.route("GET", "/x", FakeResponse(502))
    with pytest.raises(outbound.OutboundError):
        partner().request("GET", server.url("/x"), idempotent=False)
    assert len(server.requests) == 1


@pytest.mark.parametrize("url", ["ftp://example.com/x", "http://", "not a url at all"])
def test_a_bad_address_fails_at_once(url):
    p = partner()
    with pytest.raises(outbound.OutboundError) as caught:
        p.request("GET", url)
    assert caught.value.kind == "invalid" and not caught.value.maybe_sent and p.sleeps == []


# --- Size caps and cut-off bodies ------------------------------------------------------------------


def test_a_declared_length_over_the_cap_is_refused_before_reading(server):
    server.route("GET", "/big", FakeResponse(200, b"x" * 2048))
    with pytest.raises(outbound.ResponseTooLarge, match="2048 bytes"):
        partner().request("GET", server.url("/big"), max_bytes=1000)
    assert len(server.requests) == 1  # never retried: the partner would send the same again


def test_a_streamed_body_is_cut_at_the_cap(server):
    endless = (b"x" * 65536 for _ in range(10_000))
    server.route("GET", "/endless", FakeResponse(200, endless))
    with pytest.raises(outbound.ResponseTooLarge, match="larger than the limit"):
        partner().request("GET", server.url("/endless"), max_bytes=200_000)


def test_a_gzip_bomb_counts_decoded_bytes(server):
    bomb = gzip.compress(b"\0" * (3 * 1024 * 1024))
    server.route("GET", "/bomb", FakeResponse(200, bomb, {"Content-Encoding": "gzip"}))
    with pytest.raises(outbound.ResponseTooLarge):
        partner().request("GET", server.url("/bomb"), max_bytes=1024 * 1024)


def test_gzip_is_decoded_within_the_cap(server):
    server.route("GET", "/z", FakeResponse(200, gzip.compress(b"hello" * 100), {"Content-Encoding": "gzip"}))
    response = partner().request("GET", server.url("/z"), max_bytes=1000)
    assert response.content == b"hello" * 100 and "content-encoding" not in response.headers


def test_a_cut_off_body_is_an_error_and_a_get_is_retried(server):
    server.route("GET", "/cut", FakeResponse(200, b"y" * 5000, truncate_after=100))
    with pytest.raises(outbound.TruncatedBody):
        partner(retries=1).request("GET", server.url("/cut"))
    assert len(server.requests) == 2


def test_a_2xx_body_streams_into_a_sink(server, tmp_path):
    server.route("GET", "/feed", FakeResponse(200, b"<offers/>" * 1000))
    dest = tmp_path / "feed.xml"
    response = partner().request("GET", server.url("/feed"), sink=lambda: open(dest, "wb"))  # noqa: SIM115 - the client closes it
    assert dest.read_bytes() == b"<offers/>" * 1000 and response.content == b""
    assert response.extensions["body_bytes"] == 9000


# --- Rate limit -----------------------------------------------------------------------------------


def test_the_rate_limit_holds_across_threads():
    limiter = outbound.RateLimiter(f"threads-{uuid.uuid4().hex}", rate=20, burst=2)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(3):
            limiter.take()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(6)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps.sort()
    assert len(stamps) == 18
    # 18 calls at 20 a second with a burst of 2 take at least (18 - 2) / 20 s.
    assert stamps[-1] - started >= 0.75
    # No window of burst / rate = 0.1 s ever held more than the burst (a little slack for clocks).
    for i in range(len(stamps) - 2):
        assert stamps[i + 2] - stamps[i] >= 0.09


def test_partners_with_one_name_share_one_limit():
    name = f"shared-{uuid.uuid4().hex}"
    waits: list[float] = []
    a = outbound.RateLimiter(name, rate=1, burst=1, sleep=waits.append)
    b = outbound.RateLimiter(name, rate=1, burst=1, sleep=waits.append)
    assert a.take() == 0
    assert b.take(max_wait=0.5) > 0 and waits  # the other "process" found no place left


def test_no_rate_means_no_wait():
    assert outbound.RateLimiter("free", rate=0).take() == 0


# --- The shared pool ------------------------------------------------------------------------------


def test_partners_share_one_pooled_client_and_reuse_its_connection(server):
    handled_by: list[int] = []

    def answer(req):
        handled_by.append(threading.get_ident())  # one server thread per TCP connection
        return FakeResponse(200, b"ok")

    server.route("GET", "/x", answer)
    a, b = partner(), partner(timeout=5, headers={"X-Other": "1"})
    assert a.client is b.client is outbound.shared_client()
    for p in (a, b, a, b, a):
        assert p.request("GET", server.url("/x")).status_code == 200
    assert len(handled_by) == 5 and len(set(handled_by)) == 1
    assert server.requests[1].headers["x-other"] == "1" and "x-other" not in server.requests[0].headers


def test_a_test_transport_gets_its_own_client():
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text=request.url.path))
    p = partner(transport=transport, base_url="https://partner.example/api/")
    assert p.client is not outbound.shared_client() and p.client is partner(transport=transport).client
    assert p.request("GET", "/v1/points").text == "/api/v1/points"


def test_truncate_keeps_an_excerpt_of_a_long_answer(server):
    server.route("POST", "/hook", FakeResponse(200, b"z" * 10_000))
    response = partner().request("POST", server.url("/hook"), max_bytes=100, truncate=True)
    assert response.status_code == 200 and response.content == b"z" * 100
    assert response.extensions["truncated"] is True


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_the_rate_limit_is_kept_in_redis_for_every_process(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "shop.cache.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "t",
        }
    }
    from shop import ratelimit

    ratelimit.reset_local()
    name = f"redis-{uuid.uuid4().hex}"
    # Two limiters stand for two worker processes: only the shared Redis log connects them.
    a = outbound.RateLimiter(name, rate=2, burst=2)
    b = outbound.RateLimiter(name, rate=2, burst=2, sleep=lambda s: None)
    assert a.take() == 0 and a.take() == 0
    assert b.take(max_wait=0.2) > 0
    assert ratelimit._redis_client() is not None  # it really went through Redis

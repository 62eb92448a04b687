"""The InPost points client against the fake points API: parameters sent, answers parsed
defensively, caching, retries, outages, hostile answers, the search parser and the point check."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from orders import pickup_points
from orders.pickup_points import (
    BadQuery,
    PickupPoint,
    PointRefused,
    PointsClient,
    PointsUnavailable,
    check_point,
    find_point,
    parse_query,
    search_points,
)
from tests.fakes.http_server import FakeResponse
from tests.fakes.inpost_points import FakeInPostPoints

pytestmark = pytest.mark.usefixtures("en")


@pytest.fixture
def points_api(settings):
    from tests.orders.gateway_checkout import isolate_cache

    isolate_cache(settings)
    with FakeInPostPoints() as api:
        settings.INPOST_POINTS_API_URL = api.url
        settings.INPOST_POINTS_VALIDATE = True
        settings.INPOST_POINTS_RETRIES = 1
        api.add_point("KRA01M", latitude=50.0690, longitude=19.9440)
        api.add_point("KRA02N", latitude=50.0800, longitude=19.9600, payment_available=False)
        api.add_point("KRA03X", status="NonOperating")
        api.add_point("KRA04P", functions=("parcel_send",))
        api.add_point("WAW10A", city="Warszawa", post_code="00-950", latitude=52.2300, longitude=21.0100)
        yield api


def params_of(request) -> dict:
    return {k: v[-1] for k, v in parse_qs(request.query).items()}


# --- the search parser ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("31-154", {"relative_post_code": "31-154"}),
        (" 31154 ", {"relative_post_code": "31-154"}),
        ("kra01m", {"name": "KRA01M"}),
        ("Kraków", {"city": "Kraków"}),
        ("Bielsko-Biała", {"city": "Bielsko-Biała"}),
        ("  Nowy   Targ ", {"city": "Nowy Targ"}),
    ],
)
def test_parse_query_routes_postcodes_codes_and_towns(text, expected):
    params = parse_query(text).api_params()
    assert {k: params[k] for k in expected} == expected
    assert params["type"] == "parcel_locker" and params["functions"] == "parcel_collect"
    assert params["status"] == "Operating"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "a",
        "<script>alert(1)</script>",
        "Kraków'; DROP TABLE x;--",
        "x" * 65,
        "x" * 10_000,
        "%00%0d%0a",
        "\x00\x01",
        "../../etc/passwd",
    ],
)
def test_parse_query_refuses_empty_hostile_and_oversized_searches(text):
    with pytest.raises(BadQuery) as exc:
        parse_query(text)
    assert exc.value.message


@pytest.mark.parametrize(
    ("lat", "lng"), [("abc", "1"), ("91", "20"), ("50", "181"), ("nan", "nan"), ("1e999", "1")]
)
def test_parse_query_refuses_bad_map_positions(lat, lng):
    with pytest.raises(BadQuery):
        parse_query(lat=lat, lng=lng)


def test_parse_query_map_position_cod_and_limit_cap(settings):
    settings.INPOST_POINTS_MAX_PER_PAGE = 5
    params = parse_query(lat="50.06", lng="19.94", cash_on_delivery=True, limit=500).api_params()
    assert params["relative_point"] == "50.060000,19.940000"
    assert params["payment_available"] == "true" and params["per_page"] == 5


# --- the client -----------------------------------------------------------------------------


def test_search_by_postcode_sends_documented_params_and_sorts_by_distance(points_api):
    points = search_points(parse_query("31-154"))
    # nearest first; closed and send-only lockers are filtered out by the API
    assert [p.name for p in points] == ["KRA01M", "KRA02N", "WAW10A"]
    assert points[0].distance < points[1].distance < points[2].distance
    sent = params_of(points_api.requests[0])
    assert points_api.requests[0].path == "/v1/points"
    assert sent == {
        "type": "parcel_locker",
        "functions": "parcel_collect",
        "status": "Operating",
        "per_page": "8",
        "relative_post_code": "31-154",
    }
    first = points[0]
    assert first.address == "Pawia 5, 31-154 Kraków" and first.hours == "24/7"
    assert first.is_operating and first.collects_parcels and first.payment_available
    assert first.as_dict()["distance_label"].endswith(" m")


def test_search_results_are_cached_and_fill_the_point_cache(points_api):
    search_points(parse_query("31-154"))
    search_points(parse_query("31154"))
    assert len(points_api.requests) == 1
    assert find_point("KRA01M").name == "KRA01M"  # from the search, no call
    assert len(points_api.requests) == 1


def test_search_with_cash_on_delivery_asks_for_payment_lockers(points_api):
    points = search_points(parse_query("31-154", cash_on_delivery=True))
    assert [p.name for p in points] == ["KRA01M", "WAW10A"]
    assert params_of(points_api.requests[0])["payment_available"] == "true"


def test_find_point_gets_one_point_and_caches_misses(points_api):
    assert find_point("kra01m").name == "KRA01M"
    assert points_api.requests[-1].path == "/v1/points/KRA01M"
    assert find_point("NOP99X") is None
    assert find_point("NOP99X") is None
    assert [r.path for r in points_api.requests].count("/v1/points/NOP99X") == 1
    assert find_point("../admin") is None and find_point("x" * 100) is None
    assert len(points_api.requests) == 2  # nonsense codes never reach the API


def test_retries_a_5xx_then_succeeds(points_api, settings):
    answers = [FakeResponse(503, b"busy"), None]

    def flaky(request):
        answer = answers.pop(0)
        return answer or points_api._one(request)

    points_api.server.route("GET", "/v1/points/", flaky)
    client = PointsClient(sleep=lambda s: None)
    assert client.get("KRA01M").name == "KRA01M"
    assert len(points_api.requests) == 2


@pytest.mark.parametrize(
    "answer",
    [
        FakeResponse(500, b"oops"),
        FakeResponse(429, b"slow down"),
        FakeResponse(200, b"<html>not json</html>", {"Content-Type": "text/html"}),
        FakeResponse(200, b'{"items": "nope"}', {"Content-Type": "application/json"}),
        FakeResponse(200, b"[1, 2, 3]", {"Content-Type": "application/json"}),
        FakeResponse(200, b'{"items": []' + b" " * 100, {"Content-Length": "500"}, truncate_after=20),
        FakeResponse(401, b"{}", {"Content-Type": "application/json"}),
        FakeResponse(302, b"", {"Location": "http://evil.example/"}),
    ],
)
def test_api_failures_become_points_unavailable(points_api, answer):
    points_api.fail_with = answer
    with pytest.raises(PointsUnavailable):
        PointsClient(sleep=lambda s: None).search({"name": "KRA01M"})


def test_slow_api_times_out(points_api, settings):
    points_api.fail_with = FakeResponse(200, b"{}", delay=2.0)
    with pytest.raises(PointsUnavailable):
        PointsClient(timeout=0.3, retries=0).search({"name": "KRA01M"})


def test_oversized_answer_is_refused(points_api, settings):
    settings.INPOST_POINTS_MAX_RESPONSE_BYTES = 1000
    points_api.fail_with = FakeResponse(
        200, json.dumps({"items": [{"name": "X" * 5000}]}).encode(), {"Content-Type": "application/json"}
    )
    with pytest.raises(PointsUnavailable):
        PointsClient(retries=0).search({})


def test_hostile_items_are_skipped_or_trimmed():
    assert PickupPoint.from_api("KRA01M") is None
    assert PickupPoint.from_api({"name": ""}) is None
    assert PickupPoint.from_api({"name": ["KRA01M"]}) is None
    point = PickupPoint.from_api(
        {
            "name": "kra01m" + "X" * 100,
            "status": {"x": 1},
            "functions": "parcel_collect",
            "type": [1, None, "parcel_locker"],
            "payment_available": "yes",
            "location": {"latitude": "50", "longitude": True},
            "address_details": ["not", "a", "dict"],
            "distance": "12",
            "opening_hours": "<b>24/7</b>" * 100,
        }
    )
    assert len(point.name) == 32 and point.status == "" and point.functions == ("parcel_collect",)
    assert point.types == ("parcel_locker",) and point.payment_available is False
    assert point.latitude is None and point.longitude is None and point.distance is None
    assert point.address == "" and len(point.opening_hours) == 120


def test_an_outage_is_remembered_so_checkout_does_not_wait_again(points_api, settings):
    settings.INPOST_POINTS_OUTAGE_SECONDS = 60
    points_api.fail_with = FakeResponse(503, b"down")
    with pytest.raises(PointsUnavailable):
        find_point("KRA01M")
    calls = len(points_api.requests)
    points_api.fail_with = None
    with pytest.raises(PointsUnavailable):
        search_points(parse_query("31-154"))
    assert len(points_api.requests) == calls  # not asked again during the outage window
    from django.core.cache import cache

    cache.delete(pickup_points.OUTAGE_KEY)
    assert find_point("KRA01M").name == "KRA01M"


# --- the check ------------------------------------------------------------------------------


def test_check_point_accepts_an_operating_collect_locker(points_api):
    check = check_point("KRA01M", cash_on_delivery=True)
    assert check.verified and check.point.name == "KRA01M"


@pytest.mark.parametrize(
    ("code", "cod", "message"),
    [
        ("NOP99X", False, "There is no parcel locker NOP99X"),
        ("KRA03X", False, "out of service"),
        ("KRA04P", False, "does not hand out parcels"),
        ("KRA02N", True, "cannot receive a cash on delivery parcel"),
    ],
)
def test_check_point_refuses_unknown_closed_send_only_and_cod_without_payments(
    points_api, code, cod, message
):
    with pytest.raises(PointRefused, match=message):
        check_point(code, cash_on_delivery=cod)


def test_check_point_falls_back_to_the_pattern_when_the_api_is_down(points_api, caplog):
    points_api.fail_with = FakeResponse(502, b"bad gateway")
    with caplog.at_level("WARNING"):
        check = check_point("KRA01M")
    assert not check.verified and check.point is None
    assert "accepted by its pattern only" in caplog.text


def test_check_point_is_skipped_when_switched_off(points_api, settings):
    settings.INPOST_POINTS_VALIDATE = False
    assert check_point("NOP99X").verified is False
    assert points_api.requests == []


def test_an_endless_answer_is_cut_off_at_the_size_cap(points_api, settings):
    settings.INPOST_POINTS_MAX_RESPONSE_BYTES = 64 * 1024

    def endless():
        yield b'{"items": ['
        while True:
            yield b'{"name": "KRA01M"},' * 512

    points_api.fail_with = FakeResponse(200, endless(), {"Content-Type": "application/json"})
    with pytest.raises(PointsUnavailable, match="too large"):
        PointsClient(retries=0).search({})


def test_every_lookup_shares_the_pooled_outbound_client():
    """No httpx client per checkout request: every PointsClient sends through the process's pool."""
    from shop import outbound

    assert PointsClient().partner.client is PointsClient().partner.client is outbound.shared_client()

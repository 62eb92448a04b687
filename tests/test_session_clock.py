"""KOSZYK_TEST_CLOCK (tests/conftest.py): the whole session, in every xdist worker, runs at the
moment it names, and a test's own time-machine travel still nests inside it."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from shop.models import User
from tests.conftest import TEST_CLOCK_ENV, session_clock_start

ROOT = Path(__file__).resolve().parent.parent


def test_the_session_runs_at_the_clock_asked_for():
    value = os.environ.get(TEST_CLOCK_ENV, "").strip()
    now = timezone.now()
    if value:
        start = session_clock_start(value)
        assert time_machine.escape_hatch.is_travelling()
        # Ticking from the start for as long as the session has run so far (well under 3 hours).
        assert start <= now < start + timedelta(hours=3), (now, start)
    else:
        assert not time_machine.escape_hatch.is_travelling()  # an ordinary run: the real clock


def test_a_tests_own_travel_nests_inside_the_session_clock():
    before = timezone.now()
    moment = datetime(2031, 7, 4, 12, 0, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        assert timezone.now() == moment
    after = timezone.now()
    assert before <= after < before + timedelta(minutes=5)  # back on the session's clock


def test_naive_datetimes_given_to_the_orm_are_errors():
    # pyproject's filterwarnings turns Django's "received a naive datetime" RuntimeWarning into an
    # error, so a test that passes one fails instead of storing a time an hour or two off.
    field = User._meta.get_field("email_verified_at")
    with pytest.raises(RuntimeWarning, match="received a naive datetime"):
        field.get_prep_value(datetime(2026, 1, 1, 12, 0))


def test_the_clock_variable_reaches_every_xdist_worker():
    if os.environ.get(TEST_CLOCK_ENV):
        pytest.skip("this session already runs on a moved clock (see the test above)")
    env = {**os.environ, TEST_CLOCK_ENV: "2026-10-25T02:30:00+01:00"}  # the repeated autumn hour
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "xdist",
            "-n",
            "2",
            "--dist",
            "each",
            f"{__file__}::test_the_session_runs_at_the_clock_asked_for",
            f"{__file__}::test_a_tests_own_travel_nests_inside_the_session_clock",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "4 passed" in result.stdout, result.stdout[-3000:]

"""The recovery dashboard's date filter and the step preview's HTML, as a browser reads them."""

from __future__ import annotations

import re
from datetime import datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse

from recovery import selectors, services
from recovery.models import Campaign
from tests.shop.factories import StaffFactory, SuperuserFactory

pytestmark = pytest.mark.django_db


class _Attrs(HTMLParser):
    """Every start tag's attributes, decoded the way a browser decodes them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(html: str, name: str) -> list[dict]:
    parser = _Attrs()
    parser.feed(html)
    return [attrs for tag, attrs in parser.tags if tag == name]


@pytest.fixture
def campaign(store):
    return services.ensure_default_campaign(store=store) or Campaign.objects.get(store=store)


@time_machine.travel(datetime(2026, 11, 8, 12, 0, tzinfo=ZoneInfo("Europe/Warsaw")), tick=False)
def test_dashboard_date_inputs_hold_iso_dates_a_browser_can_show_and_send_back(client, store, settings):
    settings.LANGUAGE_CODE = "pl"
    staff = StaffFactory(language="pl")
    staff.user_permissions.add(Permission.objects.get(codename="view_recovery_dashboard"))
    client.force_login(staff)
    url = reverse("admin:recovery_dashboard")
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="pl").content.decode()
    inputs = {a["name"]: a for a in tags(html, "input") if a.get("type") == "date"}
    start, end = selectors.default_range(store)
    assert inputs["start"]["value"] == start.isoformat()
    assert inputs["end"]["value"] == end.isoformat()
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", a["value"]) for a in inputs.values())
    # "Pokaż" with the dates as shown: the form accepts them.
    again = client.get(url, {"start": inputs["start"]["value"], "end": inputs["end"]["value"]})
    assert again.context["form"].is_valid()


def test_step_preview_iframe_carries_the_whole_email_html(client, store, campaign):
    client.force_login(SuperuserFactory())
    step = campaign.steps.get(position=1)
    response = client.get(reverse("admin:recovery_step_preview", args=[step.pk]), {"language": "pl"})
    message_html = response.context["message"].html
    assert "<" in message_html and '"' in message_html  # real markup with quoted attributes
    (iframe,) = tags(response.content.decode(), "iframe")
    assert iframe["srcdoc"] == str(message_html)  # the attribute round-trips the e-mail's HTML
    assert iframe["sandbox"] == ""  # no script, no same-origin access to the admin


def test_dashboard_names_the_channel_of_each_step(client, store, campaign, settings):
    from tests.recovery.factories import make_cart
    from tests.recovery.helpers import hours, run_due

    settings.LANGUAGE_CODE = "pl"
    make_cart(store)
    services.detect_abandoned()
    run_due(hours(1))
    client.force_login(SuperuserFactory(language="pl"))
    html = client.get(reverse("admin:recovery_dashboard"), HTTP_ACCEPT_LANGUAGE="pl").content.decode()
    assert "<td>e-mail</td>" in html and "<td>email</td>" not in html
    assert "(e-mail)" in html and "(email)" not in html  # the chart's row labels

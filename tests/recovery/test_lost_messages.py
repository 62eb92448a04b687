"""Messages lost when a worker died after the hand-off (status "unknown") are shown on the
dashboard and in the API, and the merchant resends them or writes them off."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from recovery import selectors, services
from recovery.models import Reminder, TrackedCart
from recovery.services import lost
from tests.api.conftest import error_of, merchant
from tests.recovery.factories import make_cart
from tests.recovery.helpers import hours, run_due
from tests.shop.factories import StoreFactory, SuperuserFactory

pytestmark = pytest.mark.django_db


def lost_reminder(store, email="anna@example.com", position=1):
    """A reminder whose worker died after handing it to the SMTP server: the reaper's verdict."""
    cart = make_cart(store, email=email)
    services.detect_abandoned()
    tracked = TrackedCart.objects.get(cart=cart)
    reminder = tracked.reminders.get(step__position=position)
    past = timezone.now() - timedelta(minutes=1)
    Reminder.objects.filter(pk=reminder.pk).update(
        status="sending", attempts=1, claimed_at=past, sending_until=past, handoff_at=past, recipient=email
    )
    assert services.reap_expired_leases()["unknown"] == 1
    reminder.refresh_from_db()
    assert reminder.status == "unknown"
    return reminder


def test_the_dashboard_shows_lost_messages_in_polish_with_resend_and_write_off(client, store):
    reminder = lost_reminder(store)
    client.force_login(SuperuserFactory())
    with translation.override("pl"):
        response = client.get(reverse("admin:recovery_dashboard"), HTTP_ACCEPT_LANGUAGE="pl")
    assert response.status_code == 200
    assert response.context["data"].lost_messages == 1
    html = response.content.decode()
    panel = html[html.index('data-testid="recovery-lost"') :]
    panel = panel[: panel.index("</section>")]
    assert "Utracone wiadomości" in panel
    assert "anna@example.com" in panel
    assert f'name="_selected_action" value="{reminder.pk}"' in panel
    assert 'value="resend_lost"' in panel and 'value="write_off_lost"' in panel
    assert "Wyślij ponownie" in panel and "Spisz na straty" in panel


def test_resend_from_the_dashboard_sends_it_again_after_every_check(client, store):
    reminder = lost_reminder(store)
    client.force_login(SuperuserFactory())
    response = client.post(
        reverse("admin:recovery_reminder_changelist"),
        {"action": "resend_lost", "_selected_action": [reminder.pk]},
    )
    assert response.status_code == 302
    reminder.refresh_from_db()
    assert reminder.status == "planned" and reminder.handoff_at is None
    assert selectors.lost_messages(store=store).count() == 0
    assert run_due(hours(2)) == ["sent"]
    assert [m.to for m in mail.outbox] == [["anna@example.com"]]
    reminder.refresh_from_db()
    assert reminder.status == "sent" and reminder.attempts == 2


def test_write_off_from_the_dashboard_never_sends_it(client, store):
    reminder = lost_reminder(store)
    client.force_login(SuperuserFactory())
    client.post(
        reverse("admin:recovery_reminder_changelist"),
        {"action": "write_off_lost", "_selected_action": [reminder.pk]},
    )
    reminder.refresh_from_db()
    assert (reminder.status, reminder.reason) == ("failed", "written_off")
    assert selectors.lost_messages(store=store).count() == 0
    run_due(hours(2))
    reminder.refresh_from_db()
    assert reminder.status == "failed" and reminder.sent_at is None
    assert mail.outbox == []  # the lost step is not sent; the next one is not due yet


def test_an_earlier_step_is_not_resent_after_a_later_one_went_out(store):
    reminder = lost_reminder(store)
    later = Reminder.objects.get(tracked=reminder.tracked, step__position=2)
    Reminder.objects.filter(pk=later.pk).update(status="sent", sent_at=timezone.now())
    result = lost.resend_lost(store=store, reminder_ids=[reminder.pk])
    assert result.done == [] and result.refused == {reminder.pk: lost.LATER_STEP_SENT}
    reminder.refresh_from_db()
    assert reminder.status == "unknown"


def test_another_stores_lost_message_cannot_be_touched(store):
    reminder = lost_reminder(store)
    other = StoreFactory(domain="inny.example.pl")
    assert lost.write_off_lost(store=other, reminder_ids=[reminder.pk]).refused == {
        reminder.pk: lost.NOT_LOST
    }
    reminder.refresh_from_db()
    assert reminder.status == "unknown"


def test_the_api_lists_counts_resends_and_writes_off(store):
    first = lost_reminder(store)
    second = lost_reminder(store, email="bartek@example.com")
    reader = merchant(store, ["recovery:read"])
    listing = reader.get("/api/v1/recovery/lost-messages/")
    assert listing.status_code == 200, listing.content
    rows = listing.json()["results"]
    assert {r["id"] for r in rows} == {first.pk, second.pk}
    row = next(r for r in rows if r["id"] == first.pk)
    assert row["email"] == "anna@example.com" and row["step"] == 1 and row["channel"] == "email"
    assert row["cart_id"] == first.tracked.cart_id and row["handoff_at"]
    stats = reader.get("/api/v1/recovery/stats/")
    assert stats.json()["lost_messages"] == 2
    # Reading is not enough to act.
    assert reader.post(f"/api/v1/recovery/lost-messages/{first.pk}/resend/").status_code == 403
    writer = merchant(store, ["recovery:write"])
    r = writer.post(f"/api/v1/recovery/lost-messages/{first.pk}/resend/")
    assert r.status_code == 200, r.content
    assert r.json() == {"id": first.pk, "status": "planned"}
    r = writer.post(f"/api/v1/recovery/lost-messages/{second.pk}/write-off/")
    assert r.json() == {"id": second.pk, "status": "failed"}
    again = writer.post(f"/api/v1/recovery/lost-messages/{second.pk}/write-off/")
    assert again.status_code == 404 and error_of(again)["code"] == "not_lost"
    assert reader.get("/api/v1/recovery/stats/").json()["lost_messages"] == 0

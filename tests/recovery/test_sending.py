import smtplib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from orders.models import Cart, ConsentRecord, Voucher
from recovery import services
from recovery.channels import AmbiguousError, TransientError
from recovery.models import Campaign, Reminder, Step, StepTemplate, Suppression, TrackedCart
from recovery.services.sending import quiet_hours_end
from tests.recovery.factories import make_cart, make_order
from tests.recovery.helpers import hours, run_due

pytestmark = pytest.mark.django_db


def abandoned(store, **kwargs):
    cart = make_cart(store, **kwargs)
    services.detect_abandoned()
    return cart, TrackedCart.objects.get(cart=cart)


def test_step_one_is_sent_when_due_and_not_before(store):
    _cart, tracked = abandoned(store)
    assert run_due(hours(0.5)) == []
    assert run_due(hours(1)) == ["sent"]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["anna@example.com"]
    assert message.from_email == store.sender
    reminder = tracked.reminders.get(step__position=1)
    assert reminder.status == "sent" and reminder.attempts == 1
    assert reminder.provider_message_id == message.extra_headers["Message-ID"]
    tracked.refresh_from_db()
    assert tracked.state == "reminded"


def test_email_has_rfc8058_headers_html_text_and_inline_image_urls(store):
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from catalog.models import ProductImage
    from tests.recovery.factories import make_variant

    variant = make_variant(store)
    buffer = BytesIO()
    Image.new("RGB", (4, 4), "blue").save(buffer, "JPEG")
    ProductImage.objects.create(
        product=variant.product, image=SimpleUploadedFile("kubek.jpg", buffer.getvalue()), alt="kubek"
    )
    abandoned(store, variants=[variant])
    run_due(hours(1))
    message = mail.outbox[0]
    unsubscribe = message.extra_headers["List-Unsubscribe"]
    # Only the one-click HTTPS link (RFC 8058): no mailto that nothing would read.
    assert unsubscribe.startswith("<http") and unsubscribe.endswith(">") and "/r/u/" in unsubscribe
    assert "mailto:" not in unsubscribe and "," not in unsubscribe
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = message.alternatives[0][0]
    assert f'src="http://localhost:8000/media/products/{variant.product_id}/kubek' in html  # absolute URL
    assert "/r/o/" in html  # open pixel
    assert "/r/restore/" in html and "/r/restore/" in message.body
    assert "Wróć do koszyka" in html  # Polish template for a Polish cart


def test_english_cart_gets_english_template(store):
    abandoned(store, language="en")
    run_due(hours(1))
    assert "your cart" in mail.outbox[0].subject


def test_never_after_a_purchase_by_the_same_email(store):
    _cart, tracked = abandoned(store)
    make_order(store, email="ANNA@example.com")  # another cart, same person, after abandonment
    assert run_due(hours(1)) == ["ordered_since"]
    assert mail.outbox == []
    tracked.refresh_from_db()
    assert tracked.state == "ordered"
    assert set(tracked.reminders.values_list("status", flat=True)) == {"skipped"}


def test_never_when_the_cart_itself_was_ordered(store):
    cart, _tracked = abandoned(store)
    Cart.objects.filter(pk=cart.pk).update(status="ordered")
    assert run_due(hours(1)) == ["cart_ordered"]
    assert mail.outbox == []


def test_never_twice_even_when_the_task_runs_twice(store):
    _cart, tracked = abandoned(store)
    reminder = tracked.reminders.get(step__position=1)
    at = hours(1)
    first = services.send_reminder(reminder_id=reminder.pk, now=at)
    second = services.send_reminder(reminder_id=reminder.pk, now=at)
    assert (first, second) == ("sent", "not_claimable")
    assert len(mail.outbox) == 1
    # A duplicated beat tick: dispatch twice, nothing more goes out.
    run_due(at)
    run_due(at)
    assert len(mail.outbox) == 1


def test_unsubscribed_address_is_honoured_at_once_store_wide(store):
    _c1, t1 = abandoned(store)
    services.suppress(store=store, email="Anna@Example.com")
    t1.refresh_from_db()
    assert t1.state == "opted_out"
    assert set(t1.reminders.values_list("status", "reason")) == {("skipped", "suppressed")}
    assert run_due(hours(100)) == []
    assert mail.outbox == []


def test_suppression_added_behind_the_services_back_is_rechecked_at_claim(store):
    _c, _tracked = abandoned(store)
    Suppression.objects.create(store=store, email="anna@example.com")
    assert run_due(hours(1)) == ["suppressed"]
    assert mail.outbox == []


def test_without_consent_nothing_is_sent(store):
    cart, _tracked = abandoned(store)
    ConsentRecord.objects.create(store=store, email=cart.email, granted=False, text="x", version="t1")
    assert run_due(hours(1)) == ["no_consent"]
    assert mail.outbox == []


def test_existing_customer_rule_switched_on_per_campaign(store):
    cart = make_cart(store, email="klient@example.com", consent=False)
    ConsentRecord.objects.filter(cart=cart).delete()  # never asked (e.g. an old checkout)
    Cart.objects.filter(pk=cart.pk).update(consent_at=None)
    make_order(store, email="klient@example.com", created_at=timezone.now() - timedelta(days=60))
    services.ensure_default_campaign(store=store)
    services.detect_abandoned()
    assert not TrackedCart.objects.get(cart=cart).is_reachable
    Campaign.objects.update(existing_customer_rule=True)
    services.reset_cart_activity(cart_id=cart.pk)
    Cart.objects.filter(pk=cart.pk).update(last_activity_at=timezone.now() - timedelta(minutes=40))
    services.detect_abandoned()
    assert TrackedCart.objects.get(cart=cart).is_reachable
    assert run_due(hours(1)) == ["sent"]
    # An explicit "no" always wins over the rule.
    ConsentRecord.objects.create(
        store=store, email="klient@example.com", granted=False, text="x", version="t1"
    )
    assert run_due(hours(25)) == ["no_consent"]


def test_quiet_hours_use_the_shoppers_zone_else_the_stores(store, settings):
    settings.RECOVERY_QUIET_HOURS = "21:00-08:00"
    import zoneinfo

    warsaw = zoneinfo.ZoneInfo("Europe/Warsaw")
    late = datetime(2026, 1, 10, 21, 30, tzinfo=UTC)  # 22:30 in Warsaw (winter, UTC+1)
    assert quiet_hours_end(late, warsaw) == datetime(2026, 1, 11, 7, 0, tzinfo=UTC)
    assert quiet_hours_end(datetime(2026, 1, 10, 12, 0, tzinfo=UTC), warsaw) is None
    early = datetime(2026, 7, 10, 3, 0, tzinfo=UTC)  # 05:00 in Warsaw (summer, UTC+2)
    assert quiet_hours_end(early, warsaw) == datetime(2026, 7, 10, 6, 0, tzinfo=UTC)
    _c, tracked = abandoned(store)
    reminder = tracked.reminders.get(step__position=1)
    assert services.send_reminder(reminder_id=reminder.pk, now=late) == "deferred:quiet_hours"
    reminder.refresh_from_db()
    assert reminder.next_attempt_at == datetime(2026, 1, 11, 7, 0, tzinfo=UTC)
    assert reminder.status == "planned" and mail.outbox == []
    # The same moment is mid-afternoon in New York: the shopper's zone wins when known.
    TrackedCart.objects.filter(pk=tracked.pk).update(shopper_timezone="America/New_York")
    assert services.send_reminder(reminder_id=reminder.pk, now=late) == "sent"


def test_frequency_cap_spans_carts_of_the_same_address(store):
    _c1, _t1 = abandoned(store)
    make_cart(store, email="anna@example.com", idle_minutes=40)
    services.detect_abandoned()
    at = hours(1)
    results = sorted(run_due(at))
    assert results == ["deferred:frequency_cap", "sent"]
    deferred = Reminder.objects.get(reason="frequency_cap")
    sent = Reminder.objects.get(status="sent")
    assert deferred.next_attempt_at == sent.claimed_at + timedelta(hours=24)
    assert len(mail.outbox) == 1


def test_max_steps_per_cart(store, settings):
    settings.RECOVERY_FREQUENCY_CAP_HOURS = 0
    services.ensure_default_campaign(store=store)
    Campaign.objects.update(max_steps=1)
    _c, tracked = abandoned(store)
    assert tracked.reminders.count() == 1  # planning already respects it
    run_due(hours(100))
    assert len(mail.outbox) == 1


def test_provider_outage_retries_with_backoff_keeps_sequence_and_never_duplicates(
    store, settings, monkeypatch
):
    settings.RECOVERY_FREQUENCY_CAP_HOURS = 0
    from recovery.channels import email as email_channel

    real_send = email_channel.EmailChannel.send
    down = {"on": True}

    def flaky(self, message):
        if down["on"]:
            raise TransientError("connection refused")
        return real_send(self, message)

    monkeypatch.setattr(email_channel.EmailChannel, "send", flaky)
    _c, tracked = abandoned(store)
    assert run_due(hours(1)) == ["retry"]
    first = tracked.reminders.get(step__position=1)
    assert first.status == "planned" and first.attempts == 1 and first.reason == "retry"
    assert first.next_attempt_at > timezone.now()
    # Step 2 falls due while step 1 is still waiting: it waits behind it.
    results = run_due(hours(25))
    assert "retry" in results and "deferred:waiting_previous_step" in results
    down["on"] = False
    run_due(hours(26))
    run_due(hours(27))
    statuses = dict(tracked.reminders.values_list("step__position", "status"))
    assert statuses[1] == "sent" and statuses[2] == "sent"
    assert [m.subject.startswith("-10%") for m in mail.outbox] == [False, True]


def test_too_many_failures_end_in_failed_not_a_loop(store, settings, monkeypatch):
    settings.RECOVERY_MAX_ATTEMPTS = 2
    from recovery.channels import email as email_channel

    monkeypatch.setattr(
        email_channel.EmailChannel, "send", lambda self, m: (_ for _ in ()).throw(TransientError("down"))
    )
    _c, tracked = abandoned(store)
    reminder = tracked.reminders.get(step__position=1)
    assert services.send_reminder(reminder_id=reminder.pk, now=hours(1)) == "retry"
    assert services.send_reminder(reminder_id=reminder.pk, now=hours(3)) == "failed"
    reminder.refresh_from_db()
    assert reminder.status == "failed" and reminder.reason == "too_many_attempts"


def test_connection_lost_mid_send_is_unknown_and_never_resent(store, monkeypatch):
    from recovery.channels import email as email_channel

    monkeypatch.setattr(
        email_channel.EmailChannel, "send", lambda self, m: (_ for _ in ()).throw(AmbiguousError("lost"))
    )
    _c, tracked = abandoned(store)
    assert run_due(hours(1)) == ["unknown"]
    assert run_due(hours(2)) == []
    assert tracked.reminders.get(step__position=1).status == "unknown"


def test_smtp_errors_are_classified(store, settings, monkeypatch):
    from recovery.channels import OutgoingMessage, PermanentError
    from recovery.channels import email as email_channel

    class Backend:
        connection = None

        def __init__(self, exc):
            self.exc = exc

        def open(self):
            return False

        def send_messages(self, messages):
            raise self.exc

        def close(self):
            pass

    msg = OutgoingMessage(to="a@example.com", subject="s", text="t", sender="Shop <s@example.com>")
    cases = [
        (smtplib.SMTPResponseException(451, b"try later"), TransientError),
        (smtplib.SMTPResponseException(550, b"no"), PermanentError),
        (smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no")}), PermanentError),
        (smtplib.SMTPServerDisconnected("gone"), AmbiguousError),
    ]
    for exc, expected in cases:
        monkeypatch.setattr(email_channel, "_connection", lambda exc=exc: Backend(exc))
        with pytest.raises(expected):
            email_channel.EmailChannel().send(msg)


def test_smtp_server_down_is_transient(settings):
    from recovery.channels import OutgoingMessage
    from recovery.channels import email as email_channel

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    email_channel.close_connection()
    with pytest.raises(TransientError):
        email_channel.EmailChannel().send(OutgoingMessage(to="a@example.com", subject="s", text="t"))


def test_a_broken_template_fails_the_reminder_once_never_loops(store):
    _c, tracked = abandoned(store)
    StepTemplate.objects.filter(step__position=1).update(text_body="{% for %}")  # bypasses validation
    assert run_due(hours(1)) == ["render_error"]
    reminder = tracked.reminders.get(step__position=1)
    assert reminder.status == "failed" and reminder.reason == "render_error"
    assert run_due(hours(2)) == []


def test_lease_reaper_decides_by_handoff(store, settings):
    _c, tracked = abandoned(store)
    r1 = tracked.reminders.get(step__position=1)
    r2 = tracked.reminders.get(step__position=2)
    past = timezone.now() - timedelta(minutes=1)
    Reminder.objects.filter(pk=r1.pk).update(status="sending", sending_until=past, handoff_at=None)
    Reminder.objects.filter(pk=r2.pk).update(status="sending", sending_until=past, handoff_at=past)
    assert services.reap_expired_leases() == {"replanned": 1, "unknown": 1}
    r1.refresh_from_db()
    r2.refresh_from_db()
    assert r1.status == "planned" and r1.reason == "lease_expired"
    assert r2.status == "unknown" and r2.reason == "worker_died_after_handoff"


def test_coupon_is_created_at_send_time_with_its_own_expiry(store, settings):
    settings.RECOVERY_FREQUENCY_CAP_HOURS = 0
    _c, tracked = abandoned(store)
    run_due(hours(1))
    at = hours(24)
    run_due(at)
    reminder = tracked.reminders.get(step__position=2)
    voucher = reminder.voucher
    assert voucher.kind == "percentage" and voucher.value == Decimal("10")
    assert voucher.is_single_use and voucher.source == "recovery" and voucher.usage_limit == 1
    assert abs((voucher.valid_until - (at + timedelta(days=3))).total_seconds()) < 5
    assert voucher.code in mail.outbox[1].body
    assert Voucher.objects.count() == 1


def test_step_without_channel_is_skipped_and_logged(store, settings):
    services.ensure_default_campaign(store=store)
    Step.objects.filter(position=1).update(channel="sms")
    settings.RECOVERY_SMS_PROVIDER = "console"
    cart, _tracked = abandoned(store, first_name="")
    for channel in ("sms", "push"):  # consent is per channel; here the channel itself is missing
        ConsentRecord.objects.create(
            store=store, email=cart.email, channel=channel, granted=True, text="t", version="1", cart=cart
        )
    assert run_due(hours(1)) == ["no_phone"]
    Step.objects.filter(position=2).update(channel="push")
    assert "no_push_subscription" in run_due(hours(25))


# --- Never after a purchase, never to an active shopper, never twice (issue 15) ------------------


def test_a_purchase_made_after_the_last_activity_but_before_abandonment_stops_the_claim(store):
    """The order of cart B (another device) committed only after detection tracked cart A; it was
    placed 9 s after cart A's last activity, long before cart A's abandonment moment."""
    cart, tracked = abandoned(store)
    make_order(store, email="anna@example.com", created_at=cart.last_activity_at + timedelta(seconds=9))
    assert run_due(hours(1)) == ["ordered_since"]
    assert mail.outbox == []
    tracked.refresh_from_db()
    assert tracked.state == "ordered"
    assert set(tracked.reminders.values_list("status", "reason")) == {("skipped", "ordered_since")}


def test_a_shopper_active_again_gets_nothing_even_before_cart_updated_is_handled(store):
    cart, tracked = abandoned(store)
    # The cart changed but its cart_updated event still waits in a queue: tracked says abandoned.
    Cart.objects.filter(pk=cart.pk).update(last_activity_at=timezone.now())
    assert TrackedCart.objects.get(pk=tracked.pk).state == "abandoned"
    assert run_due(hours(1)) == ["cart_changed"]
    assert mail.outbox == []
    tracked.refresh_from_db()
    assert tracked.state == "active"
    assert set(tracked.reminders.values_list("status", "reason")) == {("skipped", "cart_changed")}
    # Idle again later: the unsent steps are planned again from the new abandonment.
    services.detect_abandoned(now=hours(1))
    assert tracked.reminders.filter(status="planned").count() == 3


def test_a_cart_with_nothing_left_to_buy_gets_no_reminder(store):
    from catalog.models import StockItem
    from recovery import carts
    from tests.recovery.factories import make_variant

    a, b = make_variant(store, stock=0), make_variant(store, stock=0)
    cart, tracked = abandoned(store, variants=[a, b])
    assert not carts.has_anything_buyable(cart)
    assert run_due(hours(1)) == ["sold_out"]
    assert run_due(hours(25)) == ["sold_out"]
    assert mail.outbox == []
    # Back in stock before the last step: that one goes out.
    StockItem.objects.filter(variant=b).update(quantity=3)
    assert carts.has_anything_buyable(cart)
    assert carts.buyable_variant_ids(cart) == {b.pk}
    assert run_due(hours(73)) == ["sent"]
    assert len(mail.outbox) == 1
    tracked.refresh_from_db()
    assert tracked.state == "reminded"


def test_an_order_placed_between_the_claim_and_the_hand_off_stops_the_send(store, monkeypatch):
    from recovery.services import sending

    _cart, tracked = abandoned(store)
    real_compose = sending.compose

    def compose_while_the_shopper_buys(**kwargs):
        message = real_compose(**kwargs)
        make_order(store, email="anna@example.com")  # on another device, while we render
        return message

    monkeypatch.setattr(sending, "compose", compose_while_the_shopper_buys)
    assert run_due(hours(1)) == ["ordered_since"]
    assert mail.outbox == []
    reminder = tracked.reminders.get(step__position=1)
    assert reminder.status == "skipped" and reminder.handoff_at is None
    tracked.refresh_from_db()
    assert tracked.state == "ordered"


def test_a_lease_lost_before_the_hand_off_never_sends_twice(store, monkeypatch, settings):
    """Worker 1 claims, then stalls while rendering past its lease; the reaper gives the row back
    and worker 2 sends it. Worker 1 wakes up and must not send a second copy."""
    from recovery.services import sending

    _c, tracked = abandoned(store)
    reminder = tracked.reminders.get(step__position=1)
    at = hours(1)
    real_compose = sending.compose
    second = []

    def stalled_compose(**kwargs):
        monkeypatch.setattr(sending, "compose", real_compose)  # worker 2 renders normally
        later = at + timedelta(seconds=settings.RECOVERY_SEND_LEASE_SECONDS + 1)
        assert services.reap_expired_leases(now=later) == {"replanned": 1, "unknown": 0}
        second.append(services.send_reminder(reminder_id=reminder.pk, now=later))
        return real_compose(**kwargs)

    monkeypatch.setattr(sending, "compose", stalled_compose)
    first = services.send_reminder(reminder_id=reminder.pk, now=at)
    assert second == ["sent"]
    assert first == "lease_lost"
    assert len(mail.outbox) == 1
    reminder.refresh_from_db()
    assert reminder.status == "sent" and reminder.attempts == 2

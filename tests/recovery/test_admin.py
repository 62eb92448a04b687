from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from recovery import services
from recovery.models import Campaign, Step, StepTemplate, TrackedCart
from tests.recovery.factories import make_cart, make_order
from tests.recovery.helpers import hours, run_due
from tests.shop.factories import StaffFactory, SuperuserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(store):
    return services.ensure_default_campaign(store=store) or Campaign.objects.get(store=store)


def template(campaign, **fields):
    step = campaign.steps.get(position=1)
    t = StepTemplate(step=step, language="en", subject="s", html_body="<p>x</p>", text_body="x")
    t.language = "en"
    StepTemplate.objects.filter(step=step, language="en").delete()
    for k, v in fields.items():
        setattr(t, k, v)
    return t


def test_default_templates_in_both_languages_are_valid(campaign):
    templates = StepTemplate.objects.filter(step__campaign=campaign)
    assert sorted({t.language for t in templates}) == ["en", "pl"]
    assert templates.count() == 6
    for t in templates:
        t.full_clean()
    assert [s.delay for s in campaign.steps.all()] == [
        timedelta(hours=1),
        timedelta(hours=24),
        timedelta(hours=72),
    ]
    assert campaign.steps.get(position=2).incentive_kind == "percentage"


@pytest.mark.parametrize(
    "field,source,message",
    [
        ("html_body", "{% if %}", "Template error"),
        ("text_body", "{{ lines|nonsense }}", "Template error"),
        ("subject", "Hi {{ frist_name }}", "Unknown variable: frist_name"),
        ("html_body", "{% for l in lines %}{{ l.colour }}{% endfor %}", "Unknown variable: l.colour"),
        ("html_body", '{% include "email/base.html" %}', "Template error"),
    ],
)
def test_template_mistakes_are_clear_validation_errors(campaign, field, source, message):
    t = template(campaign, **{field: source})
    with pytest.raises(ValidationError) as error:
        t.full_clean()
    assert message in str(error.value.message_dict[field])


@pytest.mark.parametrize(
    "kind,value,days,field",
    [
        ("percentage", "0", 3, "incentive_value"),
        ("percentage", "150", 3, "incentive_value"),
        ("fixed", "-5", 3, "incentive_value"),
        ("fixed", "20", 0, "incentive_expiry_days"),
        ("free_shipping", "10", 3, "incentive_value"),
        ("", "10", None, "incentive_value"),
    ],
)
def test_nonsense_coupon_settings_are_refused(campaign, kind, value, days, field):
    from decimal import Decimal

    step = Step(
        campaign=campaign,
        position=9,
        incentive_kind=kind,
        incentive_value=Decimal(value),
        incentive_expiry_days=days,
    )
    with pytest.raises(ValidationError) as error:
        step.full_clean()
    assert field in error.value.message_dict


def test_sms_step_without_provider_is_an_admin_error(campaign, settings):
    settings.RECOVERY_SMS_PROVIDER = ""
    with pytest.raises(ValidationError) as error:
        Step(campaign=campaign, position=9, channel="sms").full_clean()
    assert "No SMS provider" in str(error.value.message_dict["channel"])
    settings.RECOVERY_SMS_PROVIDER, settings.SMSAPI_TOKEN = "smsapi", ""
    with pytest.raises(ValidationError):
        Step(campaign=campaign, position=9, channel="sms").full_clean()
    settings.VAPID_PUBLIC_KEY = ""
    with pytest.raises(ValidationError):
        Step(campaign=campaign, position=9, channel="push").full_clean()


def test_admin_step_form_shows_the_template_error(client, campaign):
    client.force_login(SuperuserFactory())
    step = campaign.steps.get(position=1)
    url = reverse("admin:recovery_step_change", args=[step.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert reverse("admin:recovery_step_preview", args=[step.pk]).encode() in page.content


def test_dashboard_needs_the_permission_and_counts_both_attributions(client, store, campaign):
    staff = StaffFactory()
    client.force_login(staff)
    url = reverse("admin:recovery_dashboard")
    assert client.get(url).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_recovery_dashboard"))
    staff = type(staff).objects.get(pk=staff.pk)
    client.force_login(staff)
    cart = make_cart(store)
    make_cart(store, email="b@example.com")
    services.detect_abandoned()
    run_due(hours(1))
    tracked = TrackedCart.objects.get(cart=cart)
    services.record_click(reminder_id=tracked.reminders.get(step__position=1).pk)
    order = make_order(store, email="anna@example.com", total="123.00")
    services.attribution.handle_order_placed(order_id=order.pk)
    response = client.get(url)
    assert response.status_code == 200
    data = response.context["data"]
    assert (data.abandoned, data.reachable, data.sent, data.after_click, data.via_link) == (2, 2, 2, 1, 0)
    assert str(data.after_click_revenue) == "123.00"
    assert data.recovery_rate == 0.5
    html = response.content.decode()
    assert "<svg" in html and 'data-kpi="after_click">1<' in html
    assert "123,00\xa0zł" in html  # revenue through the shop's one money formatter
    bad = client.get(url, {"start": "2026-02-01", "end": "2026-01-01"})
    assert bad.status_code == 200 and bad.context["form"].errors


def test_preview_with_sample_and_real_cart_and_test_send(client, store, campaign):
    client.force_login(SuperuserFactory())
    step = campaign.steps.get(position=2)
    url = reverse("admin:recovery_step_preview", args=[step.pk])
    sample = client.get(url, {"language": "en"})
    assert sample.status_code == 200
    assert "10% off" in sample.context["message"].subject
    cart = make_cart(store, first_name="Zofia")
    real = client.get(url, {"language": "pl", "cart": cart.pk})
    assert "Zofia" in real.context["message"].text
    sent = client.post(url, {"language": "pl", "cart": cart.pk, "email": "merchant@example.com"})
    assert sent.status_code == 200
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["merchant@example.com"]
    assert mail.outbox[0].subject.startswith("[TEST]")
    assert not TrackedCart.objects.exists()  # a test creates no reminder, no tracking


def test_tracked_cart_admin_lists_states_and_export_erase_actions(client, store, campaign):
    client.force_login(SuperuserFactory())
    cart = make_cart(store)
    services.detect_abandoned()
    tracked = TrackedCart.objects.get(cart=cart)
    changelist = reverse("admin:recovery_trackedcart_changelist")
    page = client.get(changelist)
    assert page.status_code == 200 and b"abandoned" in page.content.lower()
    assert client.get(reverse("admin:recovery_trackedcart_change", args=[tracked.pk])).status_code == 200
    export = client.post(changelist, {"action": "export_data", "_selected_action": [tracked.pk]})
    assert export["Content-Type"] == "application/json" and b"anna@example.com" in export.content
    client.post(changelist, {"action": "erase_data", "_selected_action": [tracked.pk]})
    tracked.refresh_from_db()
    assert tracked.email == ""
    for name in ("campaign", "reminder", "suppression", "step"):
        assert client.get(reverse(f"admin:recovery_{name}_changelist")).status_code == 200


def test_polish_admin_messages(campaign):
    from django.utils import translation

    with translation.override("pl"), pytest.raises(ValidationError) as error:
        template(campaign, subject="{{ nieznana }}").full_clean()
    assert "Nieznana zmienna: nieznana" in str(error.value.message_dict["subject"])

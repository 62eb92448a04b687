"""The default campaign, the admin's live preview and its "send a test message"."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import defaults, templating
from ..channels import OutgoingMessage, channel_for
from ..models import Campaign, Step, StepTemplate, StepVariant


@transaction.atomic
def ensure_default_campaign(*, store) -> Campaign | None:
    """Give ``store`` the default campaign if it never had one (a merchant who wants none pauses
    it; deleting every campaign brings the default back at the next scan)."""
    if Campaign.objects.filter(store=store).exists():
        return None
    campaign = Campaign.objects.create(store=store, name=_("Abandoned cart (default)"), is_default=True)
    for spec in defaults.STEPS:
        kind, value, days = spec["incentive"]
        step = Step.objects.create(
            campaign=campaign,
            position=spec["position"],
            delay=spec["delay"],
            channel="email",
            incentive_kind=kind,
            incentive_value=value,
            incentive_expiry_days=days,
        )
        for language in ("pl", "en"):
            StepTemplate.objects.create(
                step=step, language=language, **defaults.template_texts(spec, language)
            )
    return campaign


def preview_step(
    *, step: Step, language: str, cart=None, variant: StepVariant | None = None
) -> OutgoingMessage:
    """Render a step as a shopper would get it: with a real cart when given, else sample data.
    Nothing is recorded and no coupon is created."""
    from ..messages import compose, pick_template

    if cart is not None:
        return compose(
            step=step,
            variant=variant,
            cart=cart,
            tracked=getattr(cart, "recovery", None),
            reminder=None,
            voucher=None,
            language=language,
            to=cart.email or "preview@example.com",
        )
    store = step.campaign.store
    template = pick_template(
        step=step, variant=variant, language=language, fallback_language=store.default_language
    )
    from django.template.loader import render_to_string
    from django.utils import translation

    context = templating.sample_context(
        currency=store.currency, store_name=store.name, store_url=store.absolute_url("/")
    )
    with translation.override(template.language):
        subject = templating.render(template.subject, context, autoescape=False)
        text = templating.render(template.text_body, context, autoescape=False)
        html = ""
        if step.channel == "email":
            html = render_to_string(
                "recovery/email/layout.html",
                {
                    "store": store,
                    "subject": subject,
                    "content": templating.render(template.html_body, context, autoescape=True),
                    "pixel_url": "",
                    "unsubscribe_url": context["unsubscribe_url"],
                    "LANGUAGE_CODE": template.language,
                },
            )
    return OutgoingMessage(
        to="preview@example.com", subject=subject, text=text, html=html, sender=store.sender
    )


def send_test_message(*, step: Step, language: str, to: str, cart=None, variant=None) -> str:
    """Send the preview to ``to`` (marked as a test); no reminder row, no coupon, no tracking."""
    message = preview_step(step=step, language=language, cart=cart, variant=variant)
    message.to = to
    message.subject = f"[TEST] {message.subject}"
    message.idempotency_key = f"koszyk-test-{step.pk}-{int(timezone.now().timestamp())}"
    message.headers = {}
    channel = "email" if step.channel == "push" else step.channel
    return channel_for(channel).send(message)

"""Turning a step's template and a cart into the message a channel sends."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from . import templating, tokens
from .channels import OutgoingMessage
from .models import Step, StepTemplate, StepVariant
from .personalise import build_context


class NoTemplate(Exception):
    pass


def pick_template(
    *, step: Step, variant: StepVariant | None, language: str, fallback_language: str
) -> StepTemplate:
    templates = list(step.templates.all())
    variant_id = variant.pk if variant is not None else None
    for want_variant in [variant_id, None] if variant_id else [None]:
        for lang in (language, fallback_language):
            for t in templates:
                if t.variant_id == want_variant and t.language == lang:
                    return t
    for t in templates:
        if t.variant_id in (variant_id, None):
            return t
    raise NoTemplate(f"step {step.pk} has no template")


def compose(
    *,
    step: Step,
    variant: StepVariant | None,
    cart,
    tracked,
    reminder,
    voucher,
    language: str,
    to: str,
    push_subscription_id: int | None = None,
) -> OutgoingMessage:
    store = cart.store
    template = pick_template(
        step=step, variant=variant, language=language, fallback_language=store.default_language
    )
    with translation.override(template.language):
        context = build_context(
            cart=cart, tracked=tracked, reminder=reminder, voucher=voucher, step_position=step.position
        )
        subject = " ".join(templating.render(template.subject, context, autoescape=False).split())
        text = templating.render(template.text_body, context, autoescape=False).strip()
        headers: dict[str, str] = {}
        html = ""
        if step.channel == "email":
            content = templating.render(template.html_body, context, autoescape=True)
            pixel_url = ""
            if reminder is not None:
                pixel_url = store.absolute_url(
                    reverse("recovery:open", args=[tokens.open_token(reminder_id=reminder.pk)])
                )
            html = render_to_string(
                "recovery/email/layout.html",
                {
                    "store": store,
                    "subject": subject,
                    "content": content,
                    "pixel_url": pixel_url,
                    "unsubscribe_url": context["unsubscribe_url"],
                    "LANGUAGE_CODE": template.language,
                },
            )
            text = render_to_string(
                "recovery/email/layout.txt",
                {"store": store, "content": text, "unsubscribe_url": context["unsubscribe_url"]},
            ).strip()
            if context["unsubscribe_url"]:
                # The one-click HTTPS link only (RFC 8058); no mailto: nothing reads that mailbox
                # and an unsigned address in a subject is forgeable (docs/decisions.md).
                headers["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
                headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        elif step.channel == "sms" and context["unsubscribe_url"]:
            text = f"{text}\n{_('Stop')}: {context['unsubscribe_url']}"
    key = f"koszyk-r{reminder.pk}" if reminder is not None else ""
    return OutgoingMessage(
        to=to,
        subject=subject,
        text=text,
        html=html,
        sender=store.sender,
        headers=headers,
        idempotency_key=key,
        url=context["restore_url"] or context["store"]["url"],
        extra={"subscription_id": push_subscription_id},
    )

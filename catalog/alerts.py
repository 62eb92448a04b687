"""Back-in-stock alerts: double opt-in, one email when stock returns, then forgotten.

1. ``subscribe`` (storefront form on a sold-out variant) stores the wish unconfirmed and sends a
   confirmation email with a signed link.
2. The link opens a page (its GET changes nothing: mail-security scanners follow links) whose
   button POSTs to ``confirm``, which marks it confirmed.
3. Every ``stock.changed`` event (``catalog.apps``) queues ``tasks.send_back_in_stock_alerts``,
   which emails the confirmed subscribers of variants that can be bought again, once each, with
   an unsubscribe link, and deletes their rows: we keep no email address longer than needed.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import stock
from .models import BackInStockSubscription, SetComponent, Variant

log = logging.getLogger(__name__)

CONFIRM_SALT = "catalog.stock-alert.confirm.v1"
UNSUBSCRIBE_SALT = "catalog.stock-alert.unsubscribe.v1"


def send_mail_from_templates(
    *, store, to: str, subject: str, template: str, context: dict, headers=None
) -> None:
    """Send ``catalog/email/<template>.txt`` + ``.html`` (both extend the shop's email bases)."""
    context = {**context, "store": store, "subject": subject}
    text = render_to_string(f"catalog/email/{template}.txt", context)
    html = render_to_string(f"catalog/email/{template}.html", context)
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=store.sender, to=[to], headers=headers or {}
    )
    message.attach_alternative(html, "text/html")
    message.send()


def _token(sub: BackInStockSubscription, salt: str) -> str:
    return signing.dumps({"s": sub.pk, "e": sub.email}, salt=salt)


def _load(token: str, salt: str, max_age=None) -> BackInStockSubscription | None:
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
        sub_id, email = int(data["s"]), str(data["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    return (
        BackInStockSubscription.objects.select_related("variant__product", "variant__store")
        .filter(pk=sub_id, email=email)
        .first()
    )


def subscribe(*, variant: Variant, email: str, language: str = "pl") -> BackInStockSubscription:
    """Record the wish and (unless already confirmed) send the confirmation email."""
    email = email.strip().lower()
    sub, _created = BackInStockSubscription.objects.get_or_create(
        variant=variant, email=email, defaults={"language": language}
    )
    if sub.confirmed_at is None:
        store = variant.store
        link = store.absolute_url(
            reverse("catalog:alert-confirm", kwargs={"token": _token(sub, CONFIRM_SALT)})
        )
        with translation.override(sub.language):
            send_mail_from_templates(
                store=store,
                to=sub.email,
                subject=_("Confirm your back-in-stock alert: %(name)s") % {"name": variant},
                template="alert_confirm",
                context={"variant": variant, "product": variant.product, "link": link},
            )
    return sub


def subscription_for_confirm(token: str) -> BackInStockSubscription | None:
    """The wish a confirmation link points to, changing nothing (the link's GET: mail scanners
    follow links, so only the page's button, a POST, confirms)."""
    return _load(token, CONFIRM_SALT, max_age=settings.CATALOG_ALERT_CONFIRM_MAX_AGE_SECONDS)


def confirm(token: str) -> BackInStockSubscription | None:
    """Confirm the wish (the POST of the confirmation page's button). Safe to repeat."""
    sub = subscription_for_confirm(token)
    if sub is not None and sub.confirmed_at is None:
        BackInStockSubscription.objects.filter(pk=sub.pk, confirmed_at__isnull=True).update(
            confirmed_at=timezone.now()
        )
        sub.refresh_from_db(fields=["confirmed_at"])
    return sub


def subscription_for_unsubscribe(token: str) -> BackInStockSubscription | None:
    return _load(token, UNSUBSCRIBE_SALT)


def is_unsubscribe_token(token: str) -> bool:
    """Whether the link is one we signed (its wish may be gone: sent or cancelled already)."""
    try:
        signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return False
    return True


def unsubscribe(token: str) -> bool:
    sub = _load(token, UNSUBSCRIBE_SALT)
    if sub is None:
        return False
    sub.delete()
    return True


def variants_affected(variant_ids: list[int]) -> list[int]:
    """The variants themselves plus the variants of sets that use any of them."""
    set_products = SetComponent.objects.filter(variant_id__in=variant_ids).values("set_product_id")
    set_variants = Variant.objects.filter(product_id__in=set_products).values_list("pk", flat=True)
    return sorted(set(variant_ids) | set(set_variants))


def notify_back_in_stock(*, variant_ids: list[int]) -> int:
    """Email the confirmed subscribers of those variants that can be bought again; delete them.

    Safe to run twice or concurrently: each subscription is locked, mailed and deleted in one
    transaction, and a locked one is skipped by the other runner. Returns emails sent.
    """
    ids = variants_affected(list(variant_ids))
    waiting = list(
        Variant.objects.filter(pk__in=ids, stock_alerts__confirmed_at__isnull=False)
        .select_related("product", "store")
        .distinct()
    )
    if not waiting:
        return 0
    sellable = {
        pk for pk, a in stock.availability_map(waiting).items() if a.sellable and a.status != "backorder"
    }
    sent = 0
    for variant in waiting:
        if variant.pk not in sellable:
            continue
        while True:
            with transaction.atomic():
                sub = (
                    BackInStockSubscription.objects.select_for_update(skip_locked=True)
                    .filter(variant=variant, confirmed_at__isnull=False)
                    .order_by("pk")
                    .first()
                )
                if sub is None:
                    break
                _send_alert(sub, variant)
                sub.delete()
                sent += 1
    cutoff = timezone.now() - timedelta(days=settings.CATALOG_ALERT_UNCONFIRMED_DAYS)
    BackInStockSubscription.objects.filter(confirmed_at__isnull=True, created_at__lt=cutoff).delete()
    return sent


def _send_alert(sub: BackInStockSubscription, variant: Variant) -> None:
    store = variant.store
    product_url = store.absolute_url(variant.product.get_absolute_url() + f"?wariant={variant.pk}")
    unsubscribe_url = store.absolute_url(
        reverse("catalog:alert-unsubscribe", kwargs={"token": _token(sub, UNSUBSCRIBE_SALT)})
    )
    with translation.override(sub.language):
        send_mail_from_templates(
            store=store,
            to=sub.email,
            subject=_("Back in stock: %(name)s") % {"name": variant},
            template="alert_back_in_stock",
            context={
                "variant": variant,
                "product": variant.product,
                "link": product_url,
                "unsubscribe_url": unsubscribe_url,
            },
            headers={"List-Unsubscribe": f"<{unsubscribe_url}>"},
        )


def handle_stock_changed(event) -> None:
    """``stock.changed`` handler: queue the alert task after this transaction commits."""
    from shop.events import safe_delay

    from .tasks import send_back_in_stock_alerts

    variant_ids = [int(i) for i in event.payload.get("variant_ids", [])]
    if not variant_ids:
        return
    if not BackInStockSubscription.objects.filter(
        variant_id__in=variants_affected(variant_ids), confirmed_at__isnull=False
    ).exists():
        return
    transaction.on_commit(lambda: safe_delay(send_back_in_stock_alerts, variant_ids))

"""Customer accounts: registration and the address book (writes), and the reads the account
pages are made of. Views stay thin and call these."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import CharField, Count, Prefetch, Value
from django.db.models.functions import Cast, Concat
from django.template.loader import render_to_string
from django.utils import timezone, translation

from catalog.models import DownloadGrant
from shop import events

from .consent import EMAIL, wording
from .models import Address, ConsentRecord, Invoice, Order, OrderStatusChange, Return, ReturnLine


class AccountError(Exception):
    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


# --- Registration --------------------------------------------------------------------------------


@transaction.atomic
def register_customer(
    *,
    store,
    email: str,
    password: str,
    marketing_consent: bool = False,
    ip_address: str | None = None,
    language: str = "",
):
    """Create a shopper's account. A ticked marketing box is stored as a :class:`ConsentRecord`
    with the exact text and its version; an unticked box records nothing, so registering never
    withdraws a consent given earlier at checkout (withdrawal has its own link in every email)."""
    User = get_user_model()
    email = User.objects.normalize_email(email).strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise AccountError("exists", field="email")
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password, language=language or "")
    except IntegrityError:  # the same email registered in a parallel request
        raise AccountError("exists", field="email") from None
    if marketing_consent:
        shown = wording(store, EMAIL)  # the store's own e-mail consent text when it has one
        ConsentRecord.objects.create(
            store=store,
            email=email,
            purpose=ConsentRecord.Purpose.MARKETING,
            channel=EMAIL,
            granted=True,
            text=shown.text,
            version=shown.version,
            source="registration",
            user=user,
            ip_address=ip_address or None,
        )
    events.publish(type="account.registered", payload={"user_id": user.pk}, store=store)
    return user


# --- E-mail verification and guest orders ---------------------------------------------------------

VERIFY_SALT = "koszyk.account.verify-email"


def verification_max_age() -> int:
    """Seconds an e-mail verification link stays valid (``ACCOUNT_VERIFY_EMAIL_MAX_AGE``)."""
    return int(settings.ACCOUNT_VERIFY_EMAIL_MAX_AGE)


def verification_token(user) -> str:
    """A signed, timestamped token naming the account and the address it was sent to: opening it
    proves the address, and it proves nothing once the account's address has changed."""
    return signing.dumps({"u": user.pk, "e": user.email.lower()}, salt=VERIFY_SALT, compress=True)


def user_for_verification_token(token: str):
    """The account a still valid token was issued to, or None (bad, expired, or the account's
    address is no longer the one the link was sent to)."""
    if not token or len(token) > 300:
        return None
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=verification_max_age())
        pk, email = int(data["u"]), str(data["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    user = get_user_model().objects.filter(pk=pk, is_active=True).first()
    if user is None or user.email.lower() != email:
        return None
    return user


def send_verification_email(*, store, user, url: str) -> None:
    """E-mail ``user`` the link (``url``, absolute) that verifies their address, in their language."""
    days = max(1, verification_max_age() // 86400)
    context = {"store": store, "user": user, "url": url, "days": days}
    with translation.override(user.language or translation.get_language()):
        subject = " ".join(render_to_string("orders/account/email/verify_subject.txt", context).split())
        text = render_to_string("orders/account/email/verify.txt", context)
        html = render_to_string("orders/account/email/verify.html", context)
    message = EmailMultiAlternatives(subject, text, store.sender, [user.email])
    message.attach_alternative(html, "text/html")
    message.send()


def mark_email_verified(*, user, email: str | None = None) -> bool:
    """Record that the owner of ``user`` reads ``email`` (default: the account's address).
    Returns False when the account's address is not ``email`` (changed meanwhile)."""
    email = (email or user.email).lower()
    if user.email.lower() != email:
        return False
    if user.email_verified:
        return True
    user.verified_email = email
    user.email_verified_at = timezone.now()
    user.save(update_fields=["verified_email", "email_verified_at"])
    return True


def guest_orders_to_attach(*, store, user):
    """Orders placed in this store as a guest with the account's address: offered to the account
    only once that address is verified (before, anyone could register someone else's address and
    read their orders)."""
    if not user.is_authenticated or not user.email_verified:
        return Order.objects.none()
    return (
        Order.objects.filter(store=store, user__isnull=True, email__iexact=user.email)
        .annotate(items=Count("lines"))
        .only("pk", "number", "status", "payment_status", "total", "currency", "created_at", "store_id")
        .order_by("-created_at", "-pk")
    )


@transaction.atomic
def attach_guest_orders(*, store, user, order_ids) -> int:
    """Attach the chosen guest orders (only those :func:`guest_orders_to_attach` offers) to
    ``user``; returns how many were attached. Safe to repeat: an attached order is not offered."""
    if not user.email_verified:
        raise AccountError("unverified")
    ids = {int(i) for i in order_ids}
    if not ids:
        return 0
    offered = (
        Order.objects.select_for_update()
        .filter(store=store, user__isnull=True, email__iexact=user.email, pk__in=ids)
        .values_list("pk", flat=True)
    )
    return Order.objects.filter(pk__in=list(offered), user__isnull=True).update(
        user=user, updated_at=timezone.now()
    )


# --- Address book ----------------------------------------------------------------------------------


@transaction.atomic
def save_address(*, user, address: Address) -> Address:
    """Save ``address`` in ``user``'s book; a new default replaces the old one (one default
    shipping and one default billing address per customer, held by unique constraints)."""
    if address.pk and address.user_id != user.pk:
        raise AccountError("not yours")
    address.user = user
    others = Address.objects.select_for_update().filter(user=user).exclude(pk=address.pk)
    if address.is_default_shipping:
        others.filter(is_default_shipping=True).update(is_default_shipping=False)
    if address.is_default_billing:
        others.filter(is_default_billing=True).update(is_default_billing=False)
    address.save()
    return address


def delete_address(*, user, address: Address) -> None:
    if address.user_id != user.pk:
        raise AccountError("not yours")
    address.delete()


# --- Reads (selectors) ------------------------------------------------------------------------------


def customer_orders(*, store, user):
    """The customer's orders in this store, newest first, with what the list shows: one query."""
    return (
        Order.objects.filter(store=store, user=user)
        .annotate(items=Count("lines"))
        .only(
            "pk", "number", "token", "status", "payment_status", "total", "currency", "created_at", "store_id"
        )
        .order_by("-created_at", "-pk")
    )


def customer_order(*, store, user, number: str) -> Order | None:
    """One of the customer's orders with lines, history, invoice and returns; None if not theirs."""
    return (
        Order.objects.filter(store=store, user=user, number=number)
        .select_related("shipping_address", "billing_address", "store")
        .prefetch_related(
            "lines",
            Prefetch("status_changes", queryset=OrderStatusChange.objects.order_by("created_at", "pk")),
            Prefetch("invoices", queryset=Invoice.objects.filter(kind=Invoice.Kind.INVOICE)),
            Prefetch("returns", queryset=Return.objects.prefetch_related("lines__order_line")),
        )
        .first()
    )


def order_by_token(*, store, token: str) -> Order | None:
    if not token or len(token) > 64:
        return None
    return (
        Order.objects.filter(store=store, token=token)
        .select_related("store")
        .prefetch_related("lines")
        .first()
    )


def customer_returns(*, store, user):
    return (
        Return.objects.filter(order__store=store, order__user=user)
        .select_related("order")
        .prefetch_related(Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line")))
        .order_by("-created_at", "-pk")
    )


def customer_return(*, store, user, pk: int) -> Return | None:
    return customer_returns(store=store, user=user).filter(pk=pk).first()


def customer_downloads(*, store, user):
    """The download grants of digital goods the customer bought in this store (by order line, so
    a guest who used the same address does not reveal their purchases to a new account)."""
    references = (
        Order.objects.filter(store=store, user=user)
        .values("lines__pk")
        .annotate(ref=Concat(Value("order-line:"), Cast("lines__pk", CharField())))
        .filter(lines__pk__isnull=False)
        .values("ref")
    )
    return (
        DownloadGrant.objects.filter(asset__variant__store=store, reference__in=references)
        .select_related("asset__variant__product", "asset__variant__store")
        .order_by("-created_at", "-pk")
    )


def invoice_for(order: Order) -> Invoice | None:
    cache = getattr(order, "_prefetched_objects_cache", {})
    if "invoices" in cache:
        return next(iter(cache["invoices"]), None)
    return Invoice.objects.filter(order=order, kind=Invoice.Kind.INVOICE).first()

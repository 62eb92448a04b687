"""The "first steps" checklist on the admin home page: what a new shop still has to set up.

A small registry: an app adds an item with :func:`register` (a key, a label, where the step is
done, and whether it is done for a store); the home page asks :func:`checklist` for one store.
An item's ``done_fn`` answers ``True``/``False``, or a :class:`Status` with a sentence saying
what is missing. The shop's own items are registered below; the legal pages item only when the
``content`` app is installed, otherwise it stays undone and says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import FieldError, ValidationError
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Status:
    done: bool
    note: str = ""


@dataclass(frozen=True)
class Item:
    key: str
    label: object
    url_fn: Callable  # (store) -> str | None
    done_fn: Callable  # (store) -> bool | Status


@dataclass(frozen=True)
class Step:
    """One item's answer for one store, for the template."""

    key: str
    label: str
    url: str | None
    done: bool
    note: str


_REGISTRY: dict[str, Item] = {}


def register(key: str, label, url_fn: Callable, done_fn: Callable) -> None:
    """Add (or replace, by ``key``) a checklist item; items are shown in registration order."""
    _REGISTRY[key] = Item(key=key, label=label, url_fn=url_fn, done_fn=done_fn)


def unregister(key: str) -> None:
    _REGISTRY.pop(key, None)


def items() -> list[Item]:
    return list(_REGISTRY.values())


def checklist(store) -> list[Step]:
    """Every item's answer for ``store`` (one or no query per item)."""
    steps = []
    for item in _REGISTRY.values():
        answer = item.done_fn(store)
        status = answer if isinstance(answer, Status) else Status(bool(answer))
        try:
            url = item.url_fn(store)
        except NoReverseMatch:
            url = None
        steps.append(Step(item.key, str(item.label), url, status.done, str(status.note)))
    return steps


# --- The shop's own items ---------------------------------------------------------------------


def _store_url(store) -> str:
    return reverse("admin:shop_store_change", args=[store.pk])


def _company_done(store) -> Status:
    # What an invoice needs (orders.invoices.seller_problems), and a bank account for transfers.
    from orders.invoices import seller_problems
    from shop.identifiers import clean_bank_account

    problems = [str(p) for p in seller_problems(store)]
    if not (store.bank_account or "").strip():
        problems.append(str(_("the bank account is empty")))
    else:
        try:
            clean_bank_account(store.bank_account)
        except ValidationError:
            problems.append(str(_("the bank account number is not valid")))
    if problems:
        return Status(False, "; ".join(problems).capitalize() + ".")
    return Status(True)


def _legal_url(store) -> str | None:
    try:
        return reverse("admin:content_page_changelist")
    except NoReverseMatch:
        return None


LEGAL_KINDS = ("terms", "privacy")


def _legal_done(store) -> Status:
    if not apps.is_installed("content"):
        return Status(False, str(_("The legal pages module is not installed in this shop yet.")))
    try:
        page = apps.get_model("content", "Page")
    except LookupError:
        return Status(False, str(_("The legal pages module is not installed in this shop yet.")))
    try:
        kinds = set(
            page._default_manager.filter(store=store, kind__in=LEGAL_KINDS, status="published")
            .values_list("kind", flat=True)
            .distinct()
        )
    except FieldError:  # a Page of another shape than expected: say so rather than break home
        return Status(False, str(_("The legal pages could not be checked.")))
    missing = [k for k in LEGAL_KINDS if k not in kinds]
    if missing:
        names = {"terms": _("terms and conditions"), "privacy": _("privacy policy")}
        return Status(
            False, str(_("Not published: %(pages)s.")) % {"pages": ", ".join(str(names[k]) for k in missing)}
        )
    return Status(True)


def _gateway_done(store) -> Status:
    account = apps.get_model("orders", "GatewayAccount")
    active = account.objects.filter(store=store, is_active=True).values_list("is_sandbox", flat=True)
    modes = set(active)
    if False in modes:
        return Status(True)
    if True in modes:
        return Status(False, str(_("Only a test (sandbox) account is active.")))
    return Status(False)


def _shipping_done(store) -> bool:
    method = apps.get_model("orders", "ShippingMethod")
    return method.objects.filter(store=store, is_active=True).exists()


def is_placeholder_host(host: str) -> bool:
    host = (host or "").strip().lower().rstrip(".")
    return (
        not host
        or host in ("localhost", "127.0.0.1", "::1", "0.0.0.0")  # noqa: S104 (a name, not a bind)
        or host.endswith((".localhost", ".local", ".test", ".example", ".invalid"))
        or host in ("example.com", "example.pl", "example.org")
        or host.endswith((".example.com", ".example.pl", ".example.org"))
    )


def _sender_done(store) -> Status:
    domain = (store.sender_email or "").rpartition("@")[2]
    if is_placeholder_host(domain):
        return Status(
            False, str(_("Still %(email)s: shoppers' mail would not arrive.")) % {"email": store.sender_email}
        )
    return Status(True)


def _domain_done(store) -> Status:
    if is_placeholder_host(store.domain):
        return Status(
            False,
            str(_("The store answers on %(domain)s, not on its own domain.")) % {"domain": store.domain},
        )
    return Status(True)


def _changelist(name: str):
    return lambda store: reverse(f"admin:{name}_changelist")


register("company", _("Company data: name, address, NIP and bank account"), _store_url, _company_done)
register("legal", _("Legal pages: terms and conditions, privacy policy"), _legal_url, _legal_done)
register("gateway", _("Payment gateway"), _changelist("orders_gatewayaccount"), _gateway_done)
register("shipping", _("Shipping method"), _changelist("orders_shippingmethod"), _shipping_done)
register("sender", _("E-mail sender address"), _store_url, _sender_done)
register("domain", _("Own domain"), _store_url, _domain_done)

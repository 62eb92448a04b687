"""Digital goods: download grants and their signed, expiring links.

The orders app calls, once an order is paid::

    grants = grant_downloads(variant=line.variant, email=order.email, reference=f"order-line:{line.pk}")
    links = [download_url(g) for g in grants]   # absolute URLs for the email

A link carries a token signed with a purpose-specific salt that names the grant; the grant row
holds the expiry date and the number of downloads left, so a merchant can extend or revoke it in
the admin, and a link cannot be guessed or reused for another file. Files live in private
storage and have no URL of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core import signing
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from .models import DigitalAsset, DownloadGrant, Variant

SALT = "catalog.download.v1"


@transaction.atomic
def grant_downloads(*, variant: Variant, email: str, reference: str) -> list[DownloadGrant]:
    """Give ``email`` the right to download every digital asset of ``variant``.

    ``reference`` identifies the purchase (e.g. ``"order-line:123"``); calling again with the same
    reference returns the existing grants instead of adding downloads (safe to retry).
    Validity and the number of downloads come from each asset.
    """
    now = timezone.now()
    grants = []
    for asset in DigitalAsset.objects.filter(variant=variant).order_by("pk"):
        grant, _created = DownloadGrant.objects.get_or_create(
            asset=asset,
            reference=reference[:100],
            defaults={
                "email": email,
                "expires_at": now + timedelta(days=asset.link_valid_days),
                "downloads_left": asset.download_limit,
            },
        )
        grants.append(grant)
    return grants


def revoke_downloads(*, references: list[str]) -> int:
    """Close the grants of these purchases (a cancelled or refunded order): their links answer
    "expired" from now on. Returns how many grants were still open."""
    now = timezone.now()
    refs = [r[:100] for r in references]
    return (
        DownloadGrant.objects.filter(reference__in=refs)
        .exclude(expires_at__lte=now, downloads_left=0)
        .update(expires_at=now, downloads_left=0)
    )


def make_token(grant: DownloadGrant) -> str:
    return signing.dumps({"g": grant.pk}, salt=SALT)


def download_url(grant: DownloadGrant, *, absolute: bool = True) -> str:
    """The link to put in the buyer's email (absolute, on the grant's store, unless told not)."""
    path = reverse("catalog:download", kwargs={"token": make_token(grant)})
    if not absolute:
        return path
    store = grant.asset.variant.store
    return store.absolute_url(path)


class DownloadRefused(Exception):
    """The link is valid but cannot be used any more: ``reason`` is "expired" or "used_up"."""

    def __init__(self, reason: str, grant: DownloadGrant):
        self.reason = reason
        self.grant = grant
        super().__init__(reason)


@dataclass
class Download:
    grant: DownloadGrant
    asset: DigitalAsset


def grant_from_token(token: str, *, store) -> DownloadGrant | None:
    """The grant a token names (in ``store``), or None for a forged, altered or foreign token."""
    try:
        data = signing.loads(token, salt=SALT)
        grant_id = int(data["g"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    return (
        DownloadGrant.objects.select_related("asset__variant")
        .filter(pk=grant_id, asset__variant__store=store)
        .first()
    )


def use_grant(grant: DownloadGrant) -> Download:
    """Count one download, atomically: two simultaneous requests can never both take the last one.

    Raises :class:`DownloadRefused` when the grant has expired or no downloads are left.
    """
    now = timezone.now()
    if grant.expires_at <= now:
        raise DownloadRefused("expired", grant)
    updated = DownloadGrant.objects.filter(pk=grant.pk, downloads_left__gt=0, expires_at__gt=now).update(
        downloads_left=F("downloads_left") - 1,
        download_count=F("download_count") + 1,
        last_downloaded_at=now,
    )
    if not updated:
        grant.refresh_from_db()
        raise DownloadRefused("expired" if grant.expires_at <= now else "used_up", grant)
    grant.refresh_from_db()
    return Download(grant=grant, asset=grant.asset)

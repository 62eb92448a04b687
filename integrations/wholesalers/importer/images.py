"""Step 3 of a feed run, after the catalog was committed: download the products' images.

Each image URL is downloaded once per product, validated and re-encoded by
``catalog.services.add_product_image`` (which also deduplicates by checksum); a URL that is not
an image is logged and tried at most three times, never forever. URLs come from a third party,
so a host in a private network is refused (:func:`check_public_url`)."""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.utils.translation import gettext as _

from catalog import services as catalog_services
from catalog.models import (
    Product,
)

from ...models import ImageRecord, SourceRecord, StagedRow


def check_public_url(url: str) -> None:
    """Refuse an image URL whose host resolves into a private, loopback, link-local or reserved
    network: image URLs come from a third party's feed and must not reach the shop's own
    infrastructure (SSRF). ``INTEGRATIONS_IMAGE_ALLOW_PRIVATE_HOSTS`` turns this off (tests)."""
    from ...connector_client import IntegrationHTTPError

    if settings.INTEGRATIONS_IMAGE_ALLOW_PRIVATE_HOSTS:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IntegrationHTTPError(_("Not an http(s) URL."))
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise IntegrationHTTPError(
            _("The host %(host)s cannot be resolved.") % {"host": parts.hostname}
        ) from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise IntegrationHTTPError(
                _("The host %(host)s is in a private network; refused.") % {"host": parts.hostname}
            )


class Images:
    """Downloading the products' images (a step of :class:`FeedImporter`)."""

    def fetch_images(self) -> None:
        if self.mode != "full" or not self.options.download_images or self.client is None:
            return
        self.save_cursor(phase="images")
        after = self.run.cursor.get("images_after", "")
        limit = settings.MAX_IMAGE_UPLOAD_BYTES
        seen_groups: set[str] = set()
        qs = StagedRow.objects.filter(run=self.run, group_key__gt=after).order_by("group_key", "sku")
        last_group = after
        with tempfile.TemporaryDirectory(prefix="koszyk-img-") as tmp:
            for r in qs.iterator(chunk_size=self.batch):
                if r.group_key in seen_groups or not r.data.get("images"):
                    continue
                seen_groups.add(r.group_key)
                rec = (
                    SourceRecord.objects.filter(config=self.config, sku=r.sku)
                    .select_related("product")
                    .first()
                )
                if rec is None:
                    continue
                for position, url in enumerate(r.data["images"], start=1):
                    self._fetch_image(rec.product, url, position, r, Path(tmp), limit)
                if r.group_key != last_group:
                    last_group = r.group_key
                    if len(seen_groups) % 50 == 0:
                        self.flush_errors()
                        self.save_cursor(images_after=last_group)
        self.flush_errors()

    def _fetch_image(
        self, product: Product, url: str, position: int, row: StagedRow, tmp: Path, limit: int
    ) -> None:
        from ...connector_client import IntegrationHTTPError

        url_hash = hashlib.sha256(url.encode()).hexdigest()
        record = ImageRecord.objects.filter(config=self.config, product=product, url_hash=url_hash).first()
        if record is not None and (record.status == ImageRecord.Status.DONE or record.attempts >= 3):
            return
        dest = tmp / f"{url_hash}.img"
        try:
            check_public_url(url)
            self.client.download(url, dest, max_bytes=limit)
            with open(dest, "rb") as fh:
                image = catalog_services.add_product_image(
                    product=product,
                    upload=File(fh, name=url.rsplit("/", 1)[-1][:100] or "image"),
                    alt=product.name,
                    position=position,
                )
        except (IntegrationHTTPError, ValidationError, OSError) as exc:
            message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            self.error(
                row=row.row_number,
                key=row.sku,
                message=_("Image %(url)s: %(error)s") % {"url": url[:200], "error": message},
                count=False,
            )
            self.counts["images_failed"] += 1
            if record is None:
                ImageRecord.objects.create(
                    config=self.config,
                    product=product,
                    url=url,
                    url_hash=url_hash,
                    status=ImageRecord.Status.FAILED,
                    error=message[:255],
                )
            else:
                ImageRecord.objects.filter(pk=record.pk).update(
                    attempts=record.attempts + 1, error=message[:255]
                )
            return
        finally:
            dest.unlink(missing_ok=True)
        self.counts["images"] += 1
        ImageRecord.objects.update_or_create(
            config=self.config,
            product=product,
            url_hash=url_hash,
            defaults={
                "url": url,
                "image": image,
                "checksum": image.checksum,
                "status": ImageRecord.Status.DONE,
                "error": "",
            },
        )

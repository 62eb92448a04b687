"""The wholesaler feed connector: one class for every wholesaler, told apart by its profile.

Capabilities: product source (direction ``full``: the whole catalog, daily), stock/price source
(direction ``stock``: prices and stock, every few minutes) and order sink (purchase orders for
drop-shipped lines, by email with a CSV attachment or by HTTP POST to the wholesaler's API).
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import VatRate
from shop.spreadsheets import spreadsheet_text

from ..connector_client import IntegrationHTTPError
from ..connectors.base import Capability, ConfigField, Connector, RunContext, SendResult, register
from ..models import ConnectorConfig, PurchaseOrder
from .importer import VANISHED_POLICIES, FeedImporter, ImportOptions
from .profile import builtin_choices, builtin_profiles, load_profile


class PurchaseOrderRejected(Exception):
    """The wholesaler answered that it will not take this order (a 4xx): retrying cannot help."""


def run_dir(run_id: int) -> Path:
    """Per-run working directory for downloaded files: private storage, never served by URL."""
    path = Path(django_settings.PRIVATE_ROOT) / "integrations" / "runs" / str(run_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _local_copy(field_file, directory: Path) -> str:
    """A local path of an uploaded file kept in private storage (a bucket has no path of its own)."""
    target = directory / ("uploaded-" + Path(field_file.name).name)
    with field_file.storage.open(field_file.name, "rb") as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return str(target)


def remove_run_dir(run_id: int) -> None:
    shutil.rmtree(
        Path(django_settings.PRIVATE_ROOT) / "integrations" / "runs" / str(run_id), ignore_errors=True
    )


@register
class WholesalerFeedConnector(Connector):
    type = "wholesaler_feed"
    label = gettext_lazy("Wholesaler feed (XML/CSV)")
    capabilities = frozenset(
        {Capability.PRODUCT_SOURCE, Capability.STOCK_PRICE_SOURCE, Capability.ORDER_SINK}
    )
    config_schema = (
        ConfigField(
            "profile",
            gettext_lazy("Mapping profile"),
            "choice",
            required=True,
            default="idosell-iof",
            choices=builtin_choices,
        ),
        ConfigField(
            "source_urls",
            gettext_lazy("Feed URLs"),
            "json",
            default={},
            help=gettext_lazy(
                'One URL per source of the profile, e.g. {"full": "https://…/full.xml", "light": "https://…/light.xml"}.'
            ),
        ),
        ConfigField("username", gettext_lazy("User name (HTTP Basic)")),
        ConfigField("password", gettext_lazy("Password (HTTP Basic)"), secret=True),
        ConfigField("api_token", gettext_lazy("API token (orders)"), secret=True),
        ConfigField(
            "warehouse_code",
            gettext_lazy("Warehouse code"),
            help=gettext_lazy("Stock goes to this warehouse; created when missing."),
        ),
        ConfigField(
            "price_source",
            gettext_lazy("Price from"),
            "choice",
            default="markup",
            choices=(
                ("markup", gettext_lazy("cost price plus markup")),
                ("feed", gettext_lazy("the feed's retail price")),
            ),
        ),
        ConfigField("markup_percent", gettext_lazy("Markup (%)"), "decimal", default="30", min_value=-99),
        ConfigField("markup_fixed", gettext_lazy("Fixed markup (net)"), "decimal", default="0", min_value=0),
        ConfigField(
            "min_margin_percent",
            gettext_lazy("Minimum margin over cost (%)"),
            "decimal",
            default="0",
            min_value=0,
        ),
        ConfigField("round_99", gettext_lazy("Round prices up to .99"), "bool", default=False),
        ConfigField(
            "default_vat",
            gettext_lazy("VAT rate when the feed has none"),
            "choice",
            default="23",
            choices=tuple(VatRate.choices),
        ),
        ConfigField(
            "category_root",
            gettext_lazy("Put new categories under"),
            help=gettext_lazy("Name or slug of a category; empty: top level."),
        ),
        ConfigField(
            "category_map",
            gettext_lazy("Category mapping"),
            "json",
            default={},
            help=gettext_lazy(
                'Feed category path -> shop category slug, e.g. {"Odzież/Sukienki": "sukienki"}.'
            ),
        ),
        ConfigField(
            "vanished_policy",
            gettext_lazy("Products missing from the feed"),
            "choice",
            default="hide",
            choices=(
                ("hide", gettext_lazy("hide")),
                ("zero", gettext_lazy("set stock to zero")),
                ("keep", gettext_lazy("keep")),
            ),
        ),
        ConfigField(
            "max_vanish_percent",
            gettext_lazy("Refuse a feed missing more than (%) of the products"),
            "decimal",
            default="50",
            min_value=0,
            max_value=100,
        ),
        ConfigField("publish_new", gettext_lazy("Publish new products at once"), "bool", default=False),
        ConfigField(
            "adopt_existing", gettext_lazy("Take over shop products with the same SKU"), "bool", default=True
        ),
        ConfigField("download_images", gettext_lazy("Download images"), "bool", default=True),
        ConfigField(
            "batch_size",
            gettext_lazy("Batch size"),
            "int",
            default=0,
            min_value=0,
            help=gettext_lazy("0: the INTEGRATIONS_BATCH_SIZE setting."),
        ),
        ConfigField(
            "dropship",
            gettext_lazy("Order drop-shipped products from this wholesaler"),
            "bool",
            default=False,
        ),
        ConfigField(
            "order_method",
            gettext_lazy("Send purchase orders by"),
            "choice",
            default="email",
            choices=(("email", gettext_lazy("email with CSV")), ("http", gettext_lazy("HTTP API"))),
        ),
        ConfigField("order_email", gettext_lazy("Purchase order email"), "email"),
        ConfigField("order_api_url", gettext_lazy("Purchase order API URL"), "url"),
        ConfigField("customer_number", gettext_lazy("Our customer number at the wholesaler")),
    )

    @classmethod
    def validate_settings(cls, settings: dict[str, Any]) -> None:
        errors: dict[str, str] = {}
        urls = settings.get("source_urls") or {}
        if not isinstance(urls, dict):
            errors["source_urls"] = _("Give an object: source name -> URL.")
        else:
            profile = builtin_profiles().get(settings.get("profile") or "", {})
            known = set((profile.get("sources") or {}).keys())
            from django.core.validators import URLValidator

            for name, url in urls.items():
                if known and name not in known:
                    errors["source_urls"] = _("The profile has no source %(s)s (it has: %(known)s).") % {
                        "s": name,
                        "known": ", ".join(sorted(known)),
                    }
                    break
                try:
                    URLValidator(schemes=["http", "https"])(str(url))
                except ValidationError:
                    errors["source_urls"] = _("%(url)s is not an http(s) URL.") % {"url": str(url)[:100]}
                    break
        if settings.get("vanished_policy") not in VANISHED_POLICIES:
            errors["vanished_policy"] = _("Choose hide, zero or keep.")
        if settings.get("dropship"):
            if settings.get("order_method") == "email" and not settings.get("order_email"):
                errors["order_email"] = _("Purchase orders by email need an email address.")
            if settings.get("order_method") == "http" and not settings.get("order_api_url"):
                errors["order_api_url"] = _("Purchase orders by API need the API URL.")
        if errors:
            raise ValidationError(errors)

    # --- feeds ----------------------------------------------------------------------------------

    def profile(self):
        return load_profile(slug=self.options.get("profile") or "", custom=self.config.profile or None)

    def client(self):
        username = self.options.get("username") or ""
        password = self.secrets.get("password", "")
        return self.http_client(auth=(username, password) if username else None)

    def run(self, *, direction: str, context: RunContext) -> None:
        run = context.run
        profile = self.profile()
        options = ImportOptions.from_options(self.options, config=self.config)
        with self.client() as client:
            files = self._files(profile, direction, context, client)
            if files is None:  # every source answered 304 Not Modified
                run.summary = {**run.summary, "not_modified": True}
                return
            importer = FeedImporter(
                config=self.config,
                run=run,
                profile=profile,
                options=options,
                direction=direction,
                files=files,
                progress=context.progress,
                client=client,
            )
            phase = run.cursor.get("phase")
            try:
                if phase not in ("staged", "applying", "images"):
                    importer.stage()
                else:
                    run.rows_total = run.cursor.get("rows_total", run.rows_total)
                if phase != "images":
                    importer.apply(dry_run=run.dry_run)
                    run.created, run.updated = importer.counts["created"], importer.counts["updated"]
                    run.unchanged, run.skipped = importer.counts["unchanged"], importer.counts["skipped"]
                    run.failed, run.vanished = importer.counts["failed"], importer.counts["vanished"]
                    run.save(
                        update_fields=[
                            "rows_total",
                            "created",
                            "updated",
                            "unchanged",
                            "skipped",
                            "failed",
                            "vanished",
                        ]
                    )
                if not run.dry_run:
                    importer.fetch_images()
                    self._remember_validators(context)
            finally:
                run.failed = max(run.failed, importer.counts["failed"])
                run.summary = {
                    **run.summary,
                    "warnings": importer.warnings,
                    "changes": importer.preview,
                    "images": importer.counts["images"],
                    "images_failed": importer.counts["images_failed"],
                    "categories_created": importer.counts["categories_created"],
                }
                if not run.rows_total:
                    run.rows_total = importer.run.rows_total

    def _files(self, profile, direction: str, context: RunContext, client) -> dict[str, str] | None:
        """Local paths per source: given on the command line, kept from an interrupted run, the
        uploaded file, or downloaded now (conditionally, with the ETags of the last good run)."""
        run = context.run
        names = [s.name for s in profile.sources_for(direction)]
        given: dict[str, str] = dict(context.extra.get("files") or {})
        if context.file_path:
            given.setdefault(names[0], context.file_path)
        kept = {k: v for k, v in (run.cursor.get("files") or {}).items() if Path(v).is_file()}
        files: dict[str, str] = {}
        urls = self.options.get("source_urls") or {}
        validators = (self.config.state or {}).get("validators", {})
        pending: list[str] = []
        for name in names:
            if name in given:
                files[name] = given[name]
            elif name in kept:
                files[name] = kept[name]
            elif urls.get(name):
                pending.append(name)
            elif name == names[0] and self.config.feed_file:
                files[name] = _local_copy(self.config.feed_file, run_dir(run.pk))
        if not files and not pending:
            from .importer import RunAborted

            raise RunAborted(_("No feed: set the URLs of the profile's sources or upload a file."))
        new_validators: dict[str, dict[str, str]] = {}
        downloaded: dict[str, str] = {}
        not_modified: list[str] = []
        directory = run_dir(run.pk)
        for name in pending:
            url = urls[name]
            dest = directory / f"{name}.feed"
            old = validators.get(url, {}) if not given and not run.dry_run else {}
            result = client.download(
                url,
                dest,
                max_bytes=django_settings.INTEGRATIONS_MAX_FEED_BYTES,
                etag=old.get("etag", ""),
                last_modified=old.get("last_modified", ""),
            )
            if result.not_modified:
                not_modified.append(name)
                continue
            downloaded[name] = str(dest)
            new_validators[url] = {"etag": result.etag, "last_modified": result.last_modified}
            context.report(result.bytes, result.bytes, _("downloaded %(s)s") % {"s": name})
        if not_modified and len(not_modified) == len(pending) and not files:
            return None
        for name in not_modified:  # other files changed: we need this one too, unconditionally
            dest = directory / f"{name}.feed"
            result = client.download(urls[name], dest, max_bytes=django_settings.INTEGRATIONS_MAX_FEED_BYTES)
            downloaded[name] = str(dest)
            new_validators[urls[name]] = {"etag": result.etag, "last_modified": result.last_modified}
        files.update(downloaded)
        context.extra["validators"] = new_validators
        run.cursor = {**run.cursor, "files": {**files}}
        type(run).objects.filter(pk=run.pk).update(cursor=run.cursor)
        return files

    def _remember_validators(self, context: RunContext) -> None:
        """Store ETag/Last-Modified only after a good run: a failed run must fetch again."""
        new = context.extra.get("validators") or {}
        if not new:
            return
        config = ConnectorConfig.objects.get(pk=self.config.pk)
        state = dict(config.state or {})
        state["validators"] = {**state.get("validators", {}), **new}
        ConnectorConfig.objects.filter(pk=config.pk).update(state=state)
        self.config.state = state

    # --- purchase orders ------------------------------------------------------------------------

    def purchase_order_csv(self, purchase_order: PurchaseOrder) -> str:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";")
        writer.writerow(["kod_hurtowni", "sku", "ean", "nazwa", "ilosc", "cena_netto"])
        for line in purchase_order.lines.all():
            writer.writerow(
                [
                    # Feed text, opened in a spreadsheet by the wholesaler: inert (CSV injection).
                    spreadsheet_text(line.supplier_code),
                    spreadsheet_text(line.sku),
                    spreadsheet_text(line.ean),
                    spreadsheet_text(line.name),
                    line.quantity,
                    "" if line.unit_cost is None else line.unit_cost,
                ]
            )
        return out.getvalue()

    def purchase_order_payload(self, purchase_order: PurchaseOrder) -> dict[str, Any]:
        order = purchase_order.order
        address = order.shipping_address
        return {
            "number": purchase_order.number,
            "customer_number": self.options.get("customer_number") or "",
            "dropship": True,
            "shipping_address": {
                "name": f"{address.first_name} {address.last_name}".strip() if address else "",
                "company": address.company_name if address else "",
                "street": address.street if address else "",
                "postal_code": address.postal_code if address else "",
                "city": address.city if address else "",
                "country": address.country if address else "PL",
                "phone": (address.phone if address else "") or order.phone,
                "email": order.email,
                "pickup_point": order.pickup_point,
            },
            "lines": [
                {
                    "code": line.supplier_code,
                    "sku": line.sku,
                    "ean": line.ean,
                    "name": line.name,
                    "quantity": line.quantity,
                    "unit_cost_net": None if line.unit_cost is None else str(line.unit_cost),
                }
                for line in purchase_order.lines.all()
            ],
        }

    def send_purchase_order(self, purchase_order: PurchaseOrder) -> SendResult:
        method = purchase_order.method
        if method == PurchaseOrder.Method.HTTP:
            return self._send_http(purchase_order)
        payload = self.purchase_order_payload(purchase_order)
        address = payload["shipping_address"]
        body = "\n".join(
            [
                _("Purchase order %(number)s (drop-shipping).") % {"number": purchase_order.number},
                _("Customer number: %(n)s") % {"n": payload["customer_number"] or "-"},
                "",
                _("Ship to:"),
                address["name"],
                address["company"],
                address["street"],
                f"{address['postal_code']} {address['city']} {address['country']}",
                f"{address['phone']} {address['email']}",
                _("Pickup point: %(p)s") % {"p": address["pickup_point"]} if address["pickup_point"] else "",
                "",
                _("The lines are in the attached CSV file."),
            ]
        )
        store = purchase_order.store
        message = EmailMessage(
            subject=_("Purchase order %(number)s") % {"number": purchase_order.number},
            body=body,
            from_email=store.sender_email or django_settings.DEFAULT_FROM_EMAIL,
            to=[self.options.get("order_email")],
            reply_to=[store.support_email] if store.support_email else None,
        )
        message.attach(
            f"{purchase_order.number}.csv",
            self.purchase_order_csv(purchase_order).encode("utf-8-sig"),
            "text/csv",
        )
        message.send(fail_silently=False)
        return SendResult(confirmed=False)

    def _send_http(self, purchase_order: PurchaseOrder) -> SendResult:
        token = self.secrets.get("api_token", "")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers["Idempotency-Key"] = purchase_order.number
        with self.http_client(headers=headers) as client:
            response = client.request(
                "POST", self.options.get("order_api_url"), json=self.purchase_order_payload(purchase_order)
            )
        if 400 <= response.status_code < 500:
            raise PurchaseOrderRejected(
                _("The wholesaler refused the order (HTTP %(code)d): %(body)s")
                % {"code": response.status_code, "body": response.text[:300]}
            )
        if response.status_code >= 300:
            raise IntegrationHTTPError(_("HTTP %(code)d from the order API") % {"code": response.status_code})
        try:
            data = response.json()
        except ValueError:
            data = {}
        status = str(data.get("status", "")).lower()
        return SendResult(
            confirmed=status in ("confirmed", "accepted"),
            external_reference=str(data.get("id") or data.get("order_id") or "")[:100],
        )

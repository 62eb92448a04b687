"""Offers on Allegro from the shop's variants (``POST``/``PATCH /sale/product-offers``).

One :class:`ChannelListing` is one variant offered on Allegro; its ``external_id`` is the offer
id, ``data`` keeps what this module needs between runs:

- ``operation``: the asynchronous operation Allegro answered 202 for (its URL, when to ask next,
  when it started), polled by :func:`poll_operation` until the offer is ready or failed;
- ``sent``: the quantity and price the offer was created or updated with;
- ``create_started_at``: a create was sent but its answer never came (timeout, 5xx). Before
  sending it again the offer is looked up by ``external.id`` (our SKU), so a lost answer never
  makes a second offer.

Validation happens before anything is sent: a variant with no mapped category, no image, no
price or no delivery settings is reported on its listing and in the run log, and the rest go on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from catalog.models import Category, ProductImage, Variant
from integrations.channels.models import ChannelListing
from integrations.connector_client import IntegrationHTTPError
from shop.money import round_money

from . import gpsr
from .client import AllegroAPIError, AllegroAuthError, AllegroClient, AllegroError, ErrorItem

TITLE_MAX = 75
DESCRIPTION_MAX = 40000
IMAGES_MAX = 16

S = ChannelListing.Status


class OfferInvalid(Exception):
    """The variant cannot be offered as it is; the message says what to fix."""


@dataclass
class Outcome:
    """What happened to one listing in a step; ``error`` is for the run log."""

    listing: ChannelListing
    status: str
    error: str = ""


# --- building the offer --------------------------------------------------------------------------


def offer_title(product_name: str, variant_name: str = "") -> str:
    """Product and variant name, at most 75 characters, cut at a word boundary."""
    title = (
        " ".join(f"{product_name} {variant_name}".split()) if variant_name else " ".join(product_name.split())
    )
    if len(title) <= TITLE_MAX:
        return title
    cut = title[: TITLE_MAX + 1]
    space = cut.rfind(" ")
    cut = cut[:space] if space >= TITLE_MAX // 2 else title[:TITLE_MAX]
    return cut.rstrip(" ,;:-–/")


def description_sections(text: str) -> dict:
    """Allegro's standardized description: paragraphs of escaped text (Allegro accepts only a
    few tags, so the shop's HTML is flattened to text)."""
    plain = re.sub(r"<(br|/p|/li|/h\d)\s*/?>", "\n", text or "", flags=re.IGNORECASE)
    plain = html.unescape(re.sub(r"<[^>]+>", "", plain))
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n|\n", plain)]
    body = "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs if p)
    if len(body) > DESCRIPTION_MAX:
        body = body[: DESCRIPTION_MAX - 4].rsplit("<p>", 1)[0] or body[:DESCRIPTION_MAX]
    return {"sections": [{"items": [{"type": "TEXT", "content": body or "<p>-</p>"}]}]}


def allegro_price(price: Decimal, markup_percent: Decimal | None) -> Decimal:
    markup = markup_percent or Decimal("0")
    return round_money(price * (Decimal("100") + markup) / Decimal("100"))


def category_id_for(variant: Variant, options: dict, categories: dict[int, Category]) -> str:
    mapping = {str(k).strip(): str(v).strip() for k, v in (options.get("category_map") or {}).items()}
    category = categories.get(variant.product.category_id) if variant.product.category_id else None
    while category is not None:
        for key in (category.slug, str(category.pk)):
            if key in mapping:
                return mapping[key]
        category = categories.get(category.parent_id) if category.parent_id else None
    return (options.get("default_category_id") or "").strip()


def image_urls(variant: Variant, store) -> list[str]:
    """Absolute URLs Allegro can fetch: the variant's own images first, then the product's."""
    images = sorted(
        variant.product.images.all(),
        key=lambda i: (i.variant_id != variant.pk, i.variant_id is not None, i.position, i.pk),
    )
    urls = []
    for image in images:
        if image.variant_id not in (None, variant.pk) or not image.image:
            continue
        url = image.image.url
        if not urlsplit(url).scheme:
            url = store.absolute_url(url if url.startswith("/") else f"/{url}")
        if url not in urls:
            urls.append(url)
    return urls[:IMAGES_MAX]


def _parameters(category_id: str, variant: Variant, options: dict) -> tuple[list[dict], list[dict]]:
    """(product parameters, offer parameters) for ``variant`` in ``category_id``."""
    fixed = options.get("parameters") or {}
    product_params: list[dict] = []
    offer_params: list[dict] = []
    for item in [*(fixed.get("*") or []), *(fixed.get(category_id) or [])]:
        param = {k: v for k, v in item.items() if k in ("id", "values", "valuesIds", "rangeValue")}
        param["id"] = str(param["id"])
        (offer_params if item.get("offer") else product_params).append(param)
    by_attribute = {str(k): str(v) for k, v in (options.get("attribute_parameters") or {}).items()}
    if by_attribute:
        for value in variant.attribute_values.all():
            param_id = by_attribute.get(value.attribute.slug)
            if param_id:
                product_params.append({"id": param_id, "values": [value.value]})
    ean_param = (options.get("ean_parameter_id") or "").strip()
    if ean_param and variant.ean:
        product_params.append({"id": ean_param, "values": [variant.ean]})
    # One entry per parameter id: a category-specific or attribute value wins over "*".
    seen: dict[str, dict] = {}
    for p in product_params:
        seen[p["id"]] = p
    return list(seen.values()), offer_params


def build_offer(
    variant: Variant, *, options: dict, store, quantity: int, categories: dict[int, Category]
) -> dict[str, Any]:
    """The ``sale/product-offers`` body for ``variant``; raises :class:`OfferInvalid`."""
    problems = []
    product = variant.product
    title = offer_title(product.name, variant.name)
    if not title:
        problems.append(_("the product has no name"))
    category_id = category_id_for(variant, options, categories)
    if not category_id:
        problems.append(_("its category is not mapped to an Allegro category"))
    images = image_urls(variant, store)
    if not images:
        problems.append(_("it has no image"))
    if variant.price is None or variant.price <= 0:
        problems.append(_("it has no price"))
    for name, label in (
        ("shipping_rates_id", _("shipping rates id")),
        ("return_policy_id", _("return policy id")),
        ("implied_warranty_id", _("implied warranty id")),
    ):
        if not (options.get(name) or "").strip():
            problems.append(_("the connector has no %(setting)s") % {"setting": label})
    if not variant.sku:
        problems.append(_("it has no SKU"))
    if problems:
        raise OfferInvalid(
            _("Cannot offer %(sku)s on Allegro: %(problems)s.")
            % {"sku": variant.sku or variant.pk, "problems": "; ".join(problems)}
        )
    price = allegro_price(variant.price, options.get("price_markup_percent"))
    product_params, offer_params = _parameters(category_id, variant, options)
    product_body: dict[str, Any] = {
        "name": title,
        "category": {"id": category_id},
        "parameters": product_params,
        "images": images,
    }
    if variant.ean:
        product_body["id"] = variant.ean
        product_body["idType"] = "GTIN"
    after_sales = {
        "returnPolicy": {"id": options["return_policy_id"].strip()},
        "impliedWarranty": {"id": options["implied_warranty_id"].strip()},
    }
    if (options.get("warranty_id") or "").strip():
        after_sales["warranty"] = {"id": options["warranty_id"].strip()}
    body: dict[str, Any] = {
        "name": title,
        "productSet": [{"product": product_body, "quantity": {"value": 1}}],
        "category": {"id": category_id},
        "parameters": offer_params,
        "images": images,
        "description": description_sections(product.description),
        "sellingMode": {"format": "BUY_NOW", "price": {"amount": str(price), "currency": store.currency}},
        "stock": {"available": max(0, int(quantity)), "unit": "UNIT"},
        "external": {"id": variant.sku},
        "delivery": {
            "shippingRates": {"id": options["shipping_rates_id"].strip()},
            "handlingTime": options.get("handling_time") or "PT24H",
        },
        "afterSalesServices": after_sales,
        "publication": {"status": "ACTIVE" if options.get("publish", True) else "INACTIVE"},
        "language": "pl-PL",
    }
    location = {
        "city": (options.get("location_city") or "").strip(),
        "postCode": (options.get("location_post_code") or "").strip(),
        "province": (options.get("location_province") or "").strip(),
    }
    if any(location.values()):
        body["location"] = {**{k: v for k, v in location.items() if v}, "countryCode": "PL"}
    return body


def listings_for_offers(listing_ids: list[int]) -> list[ChannelListing]:
    """Listings with everything :func:`build_offer` reads, in a fixed number of queries."""
    from catalog.models import AttributeValue

    return list(
        ChannelListing.objects.filter(pk__in=listing_ids)
        .select_related(
            "variant__product__manufacturer", "variant__product__responsible_person", "config__store"
        )
        .prefetch_related(
            Prefetch("variant__product__images", queryset=ProductImage.objects.order_by("position", "pk")),
            Prefetch(
                "variant__attribute_values", queryset=AttributeValue.objects.select_related("attribute")
            ),
        )
        .order_by("pk")
    )


def store_categories(store) -> dict[int, Category]:
    return {c.pk: c for c in Category.objects.filter(store=store).only("pk", "slug", "parent_id")}


# --- sending -------------------------------------------------------------------------------------


def body_fingerprint(body: dict) -> str:
    """What an offer body looks like, to recognise one Allegro already refused."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _now_iso() -> str:
    return timezone.now().isoformat()


def _fail(listing: ChannelListing, message: str) -> Outcome:
    listing.status = S.ERROR
    listing.error = message[:5000]
    listing.save(update_fields=["status", "error", "data", "updated_at"])
    return Outcome(listing, S.ERROR, message)


def _error_text(items: list[ErrorItem]) -> str:
    return "; ".join(i.text() for i in items) or _("Allegro gave no reason.")


def find_offer_by_sku(client: AllegroClient, sku: str) -> str:
    """The id of an offer already carrying our SKU as ``external.id`` (empty if none)."""
    data = client.get("/sale/offers", params={"external.id": sku, "limit": 2})
    offers = data.get("offers") if isinstance(data, dict) else None
    if isinstance(offers, list):
        for offer in offers:
            if isinstance(offer, dict) and offer.get("id"):
                return str(offer["id"])
    return ""


def publish_listing(
    client: AllegroClient, listing: ChannelListing, *, shop_quantity: int, categories: dict[int, Category]
) -> Outcome:
    """Create the listing's offer, or update it when it has one. ``shop_quantity`` is what the
    channel layer would push (Allegro gets it minus the units kept back). Per-listing problems end
    in the listing's error; an auth failure is raised (no other listing could succeed either)."""
    variant = listing.variant
    options = client.options
    quantity = max(0, int(shop_quantity) - int(options.get("stock_reserve") or 0))
    try:
        body = build_offer(
            variant, options=options, store=listing.config.store, quantity=quantity, categories=categories
        )
    except OfferInvalid as exc:
        return _fail(listing, str(exc))
    try:
        body["productSet"][0].update(gpsr.product_set_entries(client, variant.product))
    except AllegroAuthError:
        raise
    except (AllegroError, IntegrationHTTPError) as exc:
        detail = _error_text(exc.items) if isinstance(exc, AllegroAPIError) else str(exc)
        return _fail(
            listing,
            _("Allegro refused the product safety data (GPSR) of %(sku)s: %(error)s")
            % {"sku": variant.sku, "error": detail},
        )
    data = dict(listing.data or {})
    if quantity <= 0:
        if not listing.external_id:
            # Allegro takes no offer without stock: it is created once there is some.
            data["waiting_for_stock"] = True
            listing.data = data
            listing.status = S.PENDING
            listing.error = ""
            listing.save(update_fields=["data", "status", "error", "updated_at"])
            return Outcome(listing, S.PENDING)
        body.pop("stock")  # an update leaves the stock to the batch commands (which end the offer)
    data.pop("waiting_for_stock", None)
    fingerprint = body_fingerprint(body)
    if data.get("refused") == fingerprint and listing.status == S.ERROR and listing.error:
        # Allegro refused exactly this offer before: sending it again would only repeat that.
        return Outcome(listing, S.ERROR, listing.error)
    data["sent"] = {
        "quantity": body["stock"]["available"] if "stock" in body else None,
        "price": body["sellingMode"]["price"]["amount"],
        "shop_quantity": int(shop_quantity) if "stock" in body else None,
        "shop_price": str(variant.price),
    }
    data.pop("operation", None)
    data.pop("refused", None)
    data["fingerprint"] = fingerprint
    listing.data = data
    try:
        if not listing.external_id and data.get("create_started_at"):
            # An earlier create got no answer: did Allegro make the offer anyway?
            found = find_offer_by_sku(client, variant.sku)
            if found:
                listing.external_id = found
        if listing.external_id:
            answer = client.patch(f"/sale/product-offers/{listing.external_id}", body, ok=(200, 201, 202))
        else:
            data["create_started_at"] = _now_iso()
            listing.save(update_fields=["data", "updated_at"])  # committed before the call
            answer = client.request("POST", "/sale/product-offers", body=body, ok=(200, 201, 202), once=True)
    except AllegroAuthError:
        raise
    except AllegroAPIError as exc:
        if exc.status >= 500 or exc.status == 429:
            listing.error = str(exc)[:5000]
            listing.save(update_fields=["error", "data", "updated_at"])
            return Outcome(listing, listing.status, str(exc))
        data.pop("create_started_at", None)
        data["refused"] = fingerprint
        return _fail(listing, _("Allegro refused the offer: %(errors)s") % {"errors": _error_text(exc.items)})
    except IntegrationHTTPError as exc:
        # Timeouts, 5xx after retries, a broken body: the create may or may not have happened;
        # create_started_at makes the next attempt look the offer up first.
        listing.error = str(exc)[:5000]
        listing.save(update_fields=["error", "data", "updated_at"])
        return Outcome(listing, listing.status, str(exc))
    data.pop("create_started_at", None)
    offer = answer.data if isinstance(answer.data, dict) else {}
    if offer.get("id"):
        listing.external_id = str(offer["id"])[:100]
    if answer.status == 202:
        location = answer.location
        if not location and listing.external_id:
            location = f"/sale/product-offers/{listing.external_id}"
        wait = (
            answer.retry_after if answer.retry_after is not None else settings.ALLEGRO_OPERATION_POLL_SECONDS
        )
        data["operation"] = {
            "url": location,
            "started_at": _now_iso(),
            "next_poll_at": (timezone.now() + dt.timedelta(seconds=wait)).isoformat(),
        }
        listing.status = S.PENDING
        listing.error = ""
        listing.save(update_fields=["external_id", "status", "error", "data", "updated_at"])
        return Outcome(listing, S.PENDING)
    return _apply_offer(listing, offer)


def _apply_offer(listing: ChannelListing, offer: dict) -> Outcome:
    """The offer as Allegro finished it: active, or failed validation with field errors."""
    data = dict(listing.data or {})
    data.pop("operation", None)
    listing.data = data
    if offer.get("id") and not listing.external_id:
        listing.external_id = str(offer["id"])[:100]
    validation = offer.get("validation") if isinstance(offer.get("validation"), dict) else {}
    errors = validation.get("errors") if isinstance(validation.get("errors"), list) else []
    from .client import parse_errors

    items = parse_errors({"errors": errors})
    if items:
        if data.get("fingerprint"):
            data["refused"] = data["fingerprint"]
        return _fail(listing, _("Allegro refused the offer: %(errors)s") % {"errors": _error_text(items)})
    publication = offer.get("publication") if isinstance(offer.get("publication"), dict) else {}
    sent = data.get("sent") or {}
    if publication.get("status") == "ENDED":
        listing.status = S.ENDED
    else:
        listing.status = S.ACTIVE
    listing.error = ""
    if sent.get("shop_price") is not None:
        # The channel layer compares these with the shop's quantity and price (before the
        # Allegro markup and the kept-back units), so that is what they hold.
        if sent.get("shop_quantity") is not None:
            listing.last_pushed_quantity = int(sent["shop_quantity"])
        listing.last_pushed_price = Decimal(str(sent["shop_price"]))
        listing.last_pushed_at = timezone.now()
    listing.save(
        update_fields=[
            "external_id",
            "status",
            "error",
            "data",
            "last_pushed_quantity",
            "last_pushed_price",
            "last_pushed_at",
            "updated_at",
        ]
    )
    return Outcome(listing, listing.status)


def _same_host(url: str, base: str) -> bool:
    u, b = urlsplit(url), urlsplit(base)
    return not u.scheme or (u.scheme, u.netloc) == (b.scheme, b.netloc)


def operation_due(listing: ChannelListing, now: dt.datetime | None = None) -> bool:
    op = (listing.data or {}).get("operation") or {}
    when = parse_datetime(op.get("next_poll_at") or "")
    return bool(op) and (when is None or when <= (now or timezone.now()))


def poll_operation(client: AllegroClient, listing: ChannelListing) -> Outcome:
    """Ask once about the listing's pending operation (202: not yet; 303: the offer is ready)."""
    data = dict(listing.data or {})
    op = dict(data.get("operation") or {})
    if not op:
        return Outcome(listing, listing.status)
    started = parse_datetime(op.get("started_at") or "") or timezone.now()
    if (timezone.now() - started).total_seconds() > settings.ALLEGRO_OPERATION_GIVE_UP_SECONDS:
        data.pop("operation", None)
        listing.data = data
        return _fail(listing, _("Allegro did not finish processing the offer in time; send it again."))
    url = op.get("url") or ""
    if not url or not _same_host(url, client.base_url):
        data.pop("operation", None)
        listing.data = data
        return _fail(
            listing, _("Allegro's operation address %(url)s is not on its API host.") % {"url": url[:200]}
        )
    try:
        answer = client.request("GET", url, ok=(200, 201, 202, 303), follow_redirects=False)
        if answer.status == 202:
            wait = (
                answer.retry_after
                if answer.retry_after is not None
                else settings.ALLEGRO_OPERATION_POLL_SECONDS
            )
            op["next_poll_at"] = (timezone.now() + dt.timedelta(seconds=wait)).isoformat()
            data["operation"] = op
            listing.data = data
            listing.save(update_fields=["data", "updated_at"])
            return Outcome(listing, S.PENDING)
        offer = answer.data if isinstance(answer.data, dict) else {}
        if answer.status == 303 or not offer.get("id"):
            target = answer.location or f"/sale/product-offers/{listing.external_id}"
            if not _same_host(target, client.base_url):
                target = f"/sale/product-offers/{listing.external_id}"
            offer = client.get(target)
            offer = offer if isinstance(offer, dict) else {}
    except AllegroAuthError:
        raise
    except AllegroAPIError as exc:
        if exc.status == 404:
            data.pop("operation", None)
            listing.data = data
            return _fail(listing, _("Allegro no longer knows this offer operation: %(e)s") % {"e": exc})
        listing.error = str(exc)[:5000]
        listing.save(update_fields=["error", "updated_at"])
        return Outcome(listing, S.PENDING, str(exc))
    except IntegrationHTTPError as exc:
        listing.error = str(exc)[:5000]
        listing.save(update_fields=["error", "updated_at"])
        return Outcome(listing, S.PENDING, str(exc))
    return _apply_offer(listing, offer)


def next_poll_delay(listings: list[ChannelListing]) -> float | None:
    """Seconds until the earliest pending operation may be asked about again (None: none pending)."""
    now = timezone.now()
    waits = []
    for listing in listings:
        op = (listing.data or {}).get("operation") or {}
        if op:
            when = parse_datetime(op.get("next_poll_at") or "") or now
            waits.append(max(0.0, (when - now).total_seconds()))
    return min(waits) if waits else None

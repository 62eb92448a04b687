"""Stock and prices of many offers at once: Allegro's batch change commands.

``PUT /sale/offer-quantity-change-commands/{commandId}`` sets one quantity (``changeType FIXED``)
on a list of offers, ``PUT /sale/offer-price-change-commands/{commandId}`` one price
(``FIXED_PRICE``). So the changed listings are grouped by the value they need, and each group is
sent as commands of at most ``ALLEGRO_COMMAND_BATCH_SIZE`` offers. ``GET .../{commandId}/tasks``
then reports per offer: SUCCESS, FAIL (with errors) or NEW (still being processed).

The command id is a UUID we generate and write on every listing of the group *before* the PUT.
A run that dies after the PUT leaves those ids behind; the next run first asks for their tasks
(404: the PUT never arrived, so the same command is sent again under the same id). Allegro treats
a repeated PUT of one id as the same command, so a retry never applies a change twice and a
crash never loses one.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.channels.models import ChannelListing
from integrations.connector_client import IntegrationHTTPError

from .client import AllegroAPIError, AllegroAuthError, AllegroClient, AllegroMalformedResponse, parse_errors

KINDS = {
    "quantity": "/sale/offer-quantity-change-commands",
    "price": "/sale/offer-price-change-commands",
    "publication": "/sale/offer-publication-commands",
}
END, ACTIVATE = "END", "ACTIVATE"


@dataclass
class CommandItem:
    """One offer to change: the quantity and/or price it must get (None: leave it), and whether it
    must be ended (no stock: Allegro takes no quantity below 1) or activated again (stock is back)."""

    listing: ChannelListing
    quantity: int | None = None
    price: Decimal | None = None
    publication: str | None = None


@dataclass
class ItemResult:
    ok: bool = True
    waiting: bool = False
    error: str = ""


def command_body(kind: str, value, offer_ids: list[str], currency: str) -> dict:
    criteria = [{"type": "CONTAINS_OFFERS", "offers": [{"id": i} for i in offer_ids]}]
    if kind == "quantity":
        return {"modification": {"changeType": "FIXED", "value": int(value)}, "offerCriteria": criteria}
    if kind == "publication":
        return {"publication": {"action": value}, "offerCriteria": criteria}
    return {
        "modification": {"type": "FIXED_PRICE", "price": {"amount": str(value), "currency": currency}},
        "offerCriteria": criteria,
    }


def pending_command(listing: ChannelListing, kind: str) -> dict:
    return ((listing.data or {}).get("commands") or {}).get(kind) or {}


def _set_pending(listing: ChannelListing, kind: str, command: dict | None) -> None:
    data = dict(listing.data or {})
    commands = dict(data.get("commands") or {})
    if command is None:
        commands.pop(kind, None)
    else:
        commands[kind] = command
    data["commands"] = commands  # kept (maybe empty) so a merge of old and new data clears it
    listing.data = data


def fetch_tasks(client: AllegroClient, kind: str, command_id: str) -> dict[str, dict] | None:
    """Per-offer results of a command, asked until none is NEW or the attempts run out
    (None: Allegro does not know the command)."""
    url = f"{KINDS[kind]}/{command_id}/tasks"
    results: dict[str, dict] = {}
    attempts = max(1, settings.ALLEGRO_COMMAND_POLL_ATTEMPTS)
    for attempt in range(attempts):
        try:
            data = client.get(url, params={"limit": 1000})
        except AllegroAPIError as exc:
            if exc.status == 404:
                return None
            raise
        tasks = data.get("tasks") if isinstance(data, dict) else None
        if not isinstance(tasks, list):
            raise AllegroMalformedResponse(_("Allegro's command report has no task list."))
        results = {}
        for task in tasks:
            offer = (
                task.get("offer") if isinstance(task, dict) and isinstance(task.get("offer"), dict) else {}
            )
            if offer.get("id"):
                results[str(offer["id"])] = task
        if results and all(t.get("status") in ("SUCCESS", "FAIL") for t in results.values()):
            return results
        if attempt < attempts - 1:
            client.sleep(settings.ALLEGRO_COMMAND_POLL_SECONDS)
    return results


def _apply(kind: str, listings: list[ChannelListing], value, tasks: dict[str, dict], out: dict) -> None:
    now = timezone.now()
    for listing in listings:
        result = out.setdefault(listing.pk, ItemResult())
        task = tasks.get(listing.external_id) or {}
        status = task.get("status")
        if status == "SUCCESS":
            _set_pending(listing, kind, None)
            listing.last_pushed_at = now
            if kind == "publication":
                data = dict(listing.data or {})
                data["ended"] = value == END
                listing.data = data
        elif status == "FAIL":
            items = parse_errors({"errors": task.get("errors") or []})
            reason = "; ".join(i.text() for i in items) or str(task.get("message") or _("no reason given"))
            _set_pending(listing, kind, None)
            result.ok = False
            refused = {
                "quantity": _("Allegro refused the stock change of offer %(offer)s: %(reason)s"),
                "price": _("Allegro refused the price change of offer %(offer)s: %(reason)s"),
                "publication": _("Allegro refused to end or renew offer %(offer)s: %(reason)s"),
            }[kind]
            result.error = refused % {"offer": listing.external_id, "reason": reason}
        else:
            # NEW, or no task yet: the command id stays and the next run asks again.
            result.ok = False
            result.waiting = True
            waiting = {
                "quantity": _(
                    "Allegro is still applying the stock change of offer %(offer)s; checked again next run."
                ),
                "price": _(
                    "Allegro is still applying the price change of offer %(offer)s; checked again next run."
                ),
                "publication": _(
                    "Allegro is still ending or renewing offer %(offer)s; checked again next run."
                ),
            }[kind]
            result.error = waiting % {"offer": listing.external_id}
    ChannelListing.objects.bulk_update(listings, ["data", "last_pushed_at"], batch_size=500)


def _failed(listings: list[ChannelListing], message: str, out: dict) -> None:
    for listing in listings:
        result = out.setdefault(listing.pk, ItemResult())
        result.ok = False
        result.error = message


def push(client: AllegroClient, items: list[CommandItem], *, currency: str) -> dict[int, ItemResult]:
    """Bring the offers of ``items`` to their wanted quantity and price; result per listing pk.

    Per-offer refusals, and a command whose outcome stays unknown, are results of their items; the
    other commands go on. An authorisation failure is raised (nothing else could work either).
    """
    out: dict[int, ItemResult] = {}
    batch = max(1, settings.ALLEGRO_COMMAND_BATCH_SIZE)
    items = [i for i in items if i.listing.external_id]
    by_pk = {i.listing.pk: i for i in items}
    for kind in ("quantity", "price", "publication"):
        done: set[int] = set()
        # 1. Commands an earlier run started: their outcome, or the same command sent again.
        started: dict[str, list[ChannelListing]] = defaultdict(list)
        for item in items:
            command = pending_command(item.listing, kind)
            if command.get("id"):
                started[command["id"]].append(item.listing)
        for command_id, group in started.items():
            value = pending_command(group[0], kind).get("value")
            try:
                tasks = fetch_tasks(client, kind, command_id)
                if tasks is None:
                    client.put(
                        f"{KINDS[kind]}/{command_id}",
                        command_body(kind, value, [li.external_id for li in group], currency),
                    )
                    tasks = fetch_tasks(client, kind, command_id) or {}
            except AllegroAuthError:
                raise
            except IntegrationHTTPError as exc:
                _failed(group, str(exc), out)
                done.update(li.pk for li in group)
                continue
            _apply(kind, group, value, tasks, out)
            for listing in group:
                if str(getattr(by_pk[listing.pk], kind)) == str(value) or pending_command(listing, kind):
                    done.add(listing.pk)
        # 2. New commands for what still differs, grouped by the value they need.
        wanted: dict[str, list[ChannelListing]] = defaultdict(list)
        for item in items:
            value = getattr(item, kind)
            if value is None or item.listing.pk in done:
                continue
            if kind == "publication" and value == ACTIVATE and not out.get(item.listing.pk, ItemResult()).ok:
                continue  # its stock did not arrive: activating it would fail (or sell what is not there)
            wanted[str(value)].append(item.listing)
        for value, group in sorted(wanted.items()):
            for start in range(0, len(group), batch):
                chunk = group[start : start + batch]
                command_id = str(uuid.uuid4())
                command = {"id": command_id, "value": value, "at": timezone.now().isoformat()}
                for listing in chunk:
                    _set_pending(listing, kind, command)
                ChannelListing.objects.bulk_update(chunk, ["data"], batch_size=500)  # before the PUT
                try:
                    client.put(
                        f"{KINDS[kind]}/{command_id}",
                        command_body(kind, value, [li.external_id for li in chunk], currency),
                    )
                    tasks = fetch_tasks(client, kind, command_id) or {}
                except AllegroAuthError:
                    raise
                except AllegroAPIError as exc:
                    if exc.status < 500 and exc.status != 429:
                        # The command as a whole was refused: nothing was applied, forget it.
                        for listing in chunk:
                            _set_pending(listing, kind, None)
                        ChannelListing.objects.bulk_update(chunk, ["data"])
                    _failed(chunk, str(exc), out)
                    continue
                except IntegrationHTTPError as exc:
                    # Unknown outcome: the command id stays, the next run asks Allegro about it.
                    _failed(chunk, str(exc), out)
                    continue
                _apply(kind, chunk, value, tasks, out)
    for item in items:
        out.setdefault(item.listing.pk, ItemResult())
    return out

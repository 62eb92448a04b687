"""Shipments through carriers: create, send, confirm, print, follow, cancel.

- :func:`create_shipments` (admin action / order button) checks each order, writes a
  ``pending`` :class:`Shipment` (one active per order and carrier: a database constraint) and
  queues :func:`submit_shipment` after commit.
- :func:`submit_shipment` claims the row with a conditional UPDATE (two workers never both send
  it), looks the parcel up by our reference when an earlier attempt may have reached the carrier,
  otherwise marks ``submitted_at`` (committed before the call) and creates it.
- :func:`poll_shipment` asks until the carrier confirms (InPost prepares labels asynchronously);
  then the tracking number goes to the order and the order is packed.
- :func:`track_shipment` follows the parcel and moves the order to shipped and delivered through
  ``change_status`` -- one allowed step at a time, never around the workflow's rules.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from shop import events

from .. import external_accounts
from ..models import (
    Carrier,
    CarrierAccount,
    Order,
    OrderNote,
    PaymentMethod,
    Shipment,
    ShipmentEvent,
    ShippingMethod,
)
from ..services.errors import InvalidTransition
from ..services.fulfilment import InvalidTrackingNumber, set_tracking_number
from ..services.workflow import add_note, allowed_transitions, change_status
from . import get_carrier
from .base import CarrierError, CarrierShipment, LabelDocument, Parcel, Party, ShipmentRequest, TrackingInfo
from .labels import merge_labels

log = logging.getLogger("orders.carriers")

S = Shipment.Status
O = Order.Status  # noqa: E741 - the order statuses, beside S for the shipment's

# How far each status has come; the tracking job never moves a shipment backwards.
PROGRESS = {S.SUBMITTED: 1, S.CONFIRMED: 2, S.IN_TRANSIT: 3, S.DELIVERED: 4}
ORDER_PROGRESS = [O.NEW, O.AWAITING_PAYMENT, O.PAID, O.PACKED, O.SHIPPED, O.DELIVERED]


class ShipmentRefused(Exception):
    """A shipment cannot be created, printed or cancelled; ``message`` says why (for the admin)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class ParcelChoice:
    """What the merchant chose for one order's parcel (defaults from the shipping method)."""

    service: str = ""
    template: str = ""
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None
    weight_grams: int | None = None
    insurance_amount: Decimal | None = None


# --- defaults -------------------------------------------------------------------------------------


def default_service(method: ShippingMethod) -> str:
    if method.carrier_service:
        return method.carrier_service
    if method.carrier == Carrier.INPOST:
        if method.kind == ShippingMethod.Kind.PARCEL_LOCKER:
            return "inpost_locker_standard"
        return "inpost_courier_standard"
    return ""


def is_locker_service(service: str) -> bool:
    from .inpost import LOCKER_SERVICES

    return service in LOCKER_SERVICES


def is_cash_on_delivery(order: Order) -> bool:
    return order.payment_provider == PaymentMethod.Provider.CASH_ON_DELIVERY


def goods_value(order: Order) -> Decimal:
    return max(Decimal("0"), order.total - order.shipping_total - order.payment_fee)


def default_parcel(order: Order) -> ParcelChoice:
    method = order.shipping_method
    service = default_service(method) if method else ""
    weight = method.parcel_weight_grams if method else None
    if not weight:
        weight = sum(line.weight_grams * line.quantity for line in order.lines.all()) or None
    insurance = None
    if method is not None and method.carrier == Carrier.INPOST and not is_locker_service(service):
        insurance = goods_value(order)  # InPost insures courier parcels always
    elif method is not None and method.carrier == Carrier.APACZKA:
        insurance = goods_value(order)
    return ParcelChoice(
        service=service,
        template=(method.parcel_template if method else "") or "",
        length_mm=method.parcel_length_mm if method else None,
        width_mm=method.parcel_width_mm if method else None,
        height_mm=method.parcel_height_mm if method else None,
        weight_grams=weight,
        insurance_amount=insurance,
    )


def account_for(order: Order) -> CarrierAccount | None:
    method = order.shipping_method
    if method is None or not method.carrier:
        return None
    return CarrierAccount.objects.filter(
        store_id=order.store_id, carrier=method.carrier, is_active=True
    ).first()


def shipment_problem(order: Order, account: CarrierAccount | None) -> str | None:
    """Why ``order`` cannot get a shipment now (None: it can)."""
    method = order.shipping_method
    if method is None or not method.carrier:
        return _("Its shipping method (%(method)s) has no carrier.") % {
            "method": order.shipping_method_name or "-"
        }
    if order.status not in (O.PAID, O.PACKED) and not (order.status == O.NEW and is_cash_on_delivery(order)):
        return _("An order that is “%(status)s” cannot be shipped.") % {"status": O(order.status).label}
    if account is None:
        return _("The store has no active %(carrier)s account.") % {"carrier": Carrier(method.carrier).label}
    service = default_service(method)
    if method.kind == ShippingMethod.Kind.PARCEL_LOCKER or is_locker_service(service):
        if not order.pickup_point:
            return _("The order has no parcel locker chosen.")
    elif order.shipping_address_id is None:
        return _("The order has no shipping address.")
    return None


def validate_choice(choice: ParcelChoice, *, carrier: str) -> str | None:
    if not choice.service:
        return _("Choose the carrier service.")
    if carrier == Carrier.INPOST and is_locker_service(choice.service):
        if not choice.template:
            return _("Choose the parcel size (small, medium or large) for a parcel locker.")
        return None
    if not (choice.length_mm and choice.width_mm and choice.height_mm and choice.weight_grams):
        return _("Enter the parcel's length, width, height and weight.")
    if carrier == Carrier.INPOST and not choice.insurance_amount:
        return _("InPost courier parcels must be insured: enter the insurance amount.")
    if carrier == Carrier.APACZKA and not choice.service.isdigit():
        return _("The Apaczka service must be its numeric id (see the service list).")
    return None


# --- creating -------------------------------------------------------------------------------------


def create_shipments(
    *, orders, user=None, choices: dict[int, ParcelChoice] | None = None
) -> tuple[list[Shipment], list[tuple[Order, str]]]:
    """One shipment per order (with the merchant's parcel choices), each queued for sending after
    commit. Returns the shipments created and, for the others, the reason."""
    created: list[Shipment] = []
    refused: list[tuple[Order, str]] = []
    accounts: dict[tuple, CarrierAccount | None] = {}
    for order in orders:
        key = (order.store_id, order.shipping_method.carrier if order.shipping_method else "")
        if key not in accounts:
            accounts[key] = account_for(order)
        account = accounts[key]
        problem = shipment_problem(order, account)
        choice = (choices or {}).get(order.pk) or default_parcel(order)
        if problem is None:
            problem = validate_choice(choice, carrier=account.carrier)
        if (
            problem is None
            and Shipment.objects.filter(order=order, carrier=account.carrier)
            .exclude(status=S.CANCELLED)
            .exists()
        ):
            problem = _("It already has an active %(carrier)s shipment.") % {
                "carrier": account.get_carrier_display()
            }
        if problem is not None:
            refused.append((order, problem))
            continue
        locker = is_locker_service(choice.service)
        cod = order.amount_due if is_cash_on_delivery(order) and order.amount_due > 0 else None
        try:
            with transaction.atomic():
                shipment = Shipment.objects.create(
                    order=order,
                    account=account,
                    carrier=account.carrier,
                    service=choice.service,
                    parcel_template=choice.template if locker else "",
                    length_mm=None if locker else choice.length_mm,
                    width_mm=None if locker else choice.width_mm,
                    height_mm=None if locker else choice.height_mm,
                    weight_grams=choice.weight_grams,
                    target_point=order.pickup_point if (locker or order.pickup_point) else "",
                    cod_amount=cod,
                    insurance_amount=choice.insurance_amount,
                    currency=order.currency,
                    created_by=user if getattr(user, "pk", None) else None,
                )
                add_note(
                    order=order,
                    user=user if getattr(user, "pk", None) else None,
                    text=_("Shipment %(ref)s requested at %(carrier)s.")
                    % {"ref": shipment.reference, "carrier": account.get_carrier_display()},
                )
                _after_commit("submit_shipment", shipment.pk)
        except IntegrityError:
            # Two clerks (or a double click) at once: the constraint let only one through.
            refused.append((order, _("It already has an active shipment at this carrier.")))
            continue
        created.append(shipment)
    return created, refused


def _after_commit(task_name: str, shipment_id: int) -> None:
    from . import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: events.safe_delay(task, shipment_id))


def build_request(shipment: Shipment) -> ShipmentRequest:
    order = shipment.order
    address = order.shipping_address or order.billing_address
    receiver = Party(email=order.email, phone=order.phone)
    if address is not None:
        receiver = Party(
            first_name=address.first_name,
            last_name=address.last_name,
            company=address.company_name,
            email=order.email,
            phone=address.phone or order.phone,
            street=address.street,
            postal_code=address.postal_code,
            city=address.city,
            country=address.country or "PL",
        )
    account = shipment.account
    sender = None
    if account.sender_name or account.sender_company or account.has_sender_address:
        first, _sep, last = account.sender_name.partition(" ")
        sender = Party(
            first_name=first,
            last_name=last,
            company=account.sender_company,
            email=account.sender_email,
            phone=account.sender_phone,
            street=account.sender_street,
            postal_code=account.sender_postal_code,
            city=account.sender_city,
            country=account.sender_country or "PL",
        )
    return ShipmentRequest(
        reference=shipment.reference,
        order_number=order.number,
        service=shipment.service,
        receiver=receiver,
        sender=sender,
        parcel=Parcel(
            template=shipment.parcel_template,
            length_mm=shipment.length_mm,
            width_mm=shipment.width_mm,
            height_mm=shipment.height_mm,
            weight_grams=shipment.weight_grams,
        ),
        currency=shipment.currency,
        target_point=shipment.target_point,
        cod_amount=shipment.cod_amount,
        insurance_amount=shipment.insurance_amount,
        account_config=dict(account.config or {}),
    )


def _load(shipment_id: int) -> Shipment:
    return Shipment.objects.select_related(
        "account", "order__store", "order__shipping_address", "order__billing_address"
    ).get(pk=shipment_id)


def _record_error(shipment: Shipment, exc: CarrierError, *, retrying: bool) -> None:
    message = exc.message
    if retrying:
        message = f"{message} " + _("(attempt %(n)d of %(max)d; trying again automatically)") % {
            "n": shipment.submit_attempts,
            "max": settings.CARRIER_SUBMIT_MAX_ATTEMPTS,
        }
    Shipment.objects.filter(pk=shipment.pk).update(
        status=S.ERROR,
        error_message=message[:2000],
        error_details=exc.details or {},
        updated_at=timezone.now(),
    )
    shipment.status, shipment.error_message = S.ERROR, message
    log.warning(
        "Shipment %s (%s, order %s): %s %s",
        shipment.reference,
        shipment.carrier,
        shipment.order_id,
        exc.message,
        exc.details or "",
    )


def submit_shipment(shipment_id: int) -> str:
    """Send one shipment to its carrier. Returns "done" (label ready), "poll" (waiting for the
    carrier's confirmation), "retry" (transient fault, try later), "failed" or "skipped"."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.CARRIER_STALE_SENDING_SECONDS)
    claimed = Shipment.objects.filter(
        Q(status__in=[S.PENDING, S.ERROR]) | Q(status=S.SENDING, updated_at__lt=stale), pk=shipment_id
    ).update(status=S.SENDING, submit_attempts=F("submit_attempts") + 1, updated_at=now)
    if not claimed:
        return "skipped"
    shipment = _load(shipment_id)
    backend = get_carrier(shipment.carrier)
    try:
        result = None
        if shipment.submitted_at is not None:
            # An earlier attempt may have reached the carrier (timeout, crash): find it first.
            result = backend.find_by_reference(shipment.account, shipment.reference)
            if result is not None:
                log.info("Shipment %s found at %s by reference", shipment.reference, shipment.carrier)
        if result is None:
            request = build_request(shipment)
            backend.validate(request)
            # Committed before the call: whatever happens next, a retry looks the parcel up.
            Shipment.objects.filter(pk=shipment.pk).update(submitted_at=Coalesce(F("submitted_at"), now))
            result = backend.create(shipment.account, request)
    except CarrierError as exc:
        retry = exc.retryable and shipment.submit_attempts < settings.CARRIER_SUBMIT_MAX_ATTEMPTS
        _record_error(shipment, exc, retrying=retry)
        return "retry" if retry else "failed"
    apply_result(shipment, result)
    return "poll" if shipment.status == S.SUBMITTED else "done"


def apply_result(shipment: Shipment, result: CarrierShipment) -> None:
    status = result.status or S.SUBMITTED
    if status not in PROGRESS and status not in (S.RETURNED, S.CANCELLED):
        status = S.SUBMITTED
    fields = {
        "carrier_shipment_id": result.carrier_id[:64],
        "carrier_status": result.carrier_status[:64],
        "status": status,
        "error_message": "",
        "error_details": {},
        "updated_at": timezone.now(),
    }
    if result.tracking_number:
        fields["tracking_number"] = result.tracking_number[:64]
    if result.tracking_url:
        fields["tracking_url"] = result.tracking_url[:500]
    Shipment.objects.filter(pk=shipment.pk).update(**fields)
    for name, value in fields.items():
        setattr(shipment, name, value)
    if PROGRESS.get(status, 0) >= PROGRESS[S.CONFIRMED]:
        _on_confirmed(shipment)
    if status in (S.IN_TRANSIT, S.DELIVERED):
        # Found by reference after the parcel already left (a retry long after a timeout).
        order = Order.objects.get(pk=shipment.order_id)
        target = O.SHIPPED if status == S.IN_TRANSIT else O.DELIVERED
        _advance_order(order, target, reason=_("Parcel %(n)s on its way") % {"n": shipment.tracking_number})


def _on_confirmed(shipment: Shipment) -> None:
    """The label exists: the tracking number goes to the order and the order is packed."""
    with transaction.atomic():
        locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
        if locked.confirmed_at is not None:
            return
        locked.confirmed_at = timezone.now()
        locked.save(update_fields=["confirmed_at", "updated_at"])
        shipment.confirmed_at = locked.confirmed_at
        order = Order.objects.get(pk=shipment.order_id)
        if shipment.tracking_number:
            # A number the shop would not accept stays only in the note below.
            with contextlib.suppress(InvalidTrackingNumber):
                set_tracking_number(order=order, tracking_number=shipment.tracking_number)
        add_note(
            order=order,
            text=_("Shipment %(ref)s confirmed by the carrier; tracking number %(number)s.")
            % {"ref": shipment.reference, "number": shipment.tracking_number or "-"},
        )
        _advance_order(order, O.PACKED, reason=_("Shipment label created"))


def poll_shipment(shipment_id: int) -> str:
    """Ask the carrier once whether it confirmed the shipment: "done", "poll" (ask again later),
    "failed" (gave up, the shipment shows why) or "skipped"."""
    updated = Shipment.objects.filter(pk=shipment_id, status=S.SUBMITTED).update(
        poll_attempts=F("poll_attempts") + 1, updated_at=timezone.now()
    )
    if not updated:
        return "skipped"
    shipment = _load(shipment_id)
    try:
        result = get_carrier(shipment.carrier).fetch(shipment.account, shipment.carrier_shipment_id)
    except CarrierError as exc:
        if exc.retryable and shipment.poll_attempts < settings.CARRIER_CONFIRM_MAX_POLLS:
            return "poll"
        _record_error(shipment, exc, retrying=False)
        return "failed"
    if (result.status or S.SUBMITTED) == S.SUBMITTED:
        if shipment.poll_attempts >= settings.CARRIER_CONFIRM_MAX_POLLS:
            _record_error(
                shipment,
                CarrierError(
                    _(
                        "The carrier has not confirmed the shipment after %(n)d checks (its status: "
                        "%(status)s). Check it in the carrier's panel, then retry."
                    )
                    % {"n": shipment.poll_attempts, "status": result.carrier_status or "-"}
                ),
                retrying=False,
            )
            return "failed"
        Shipment.objects.filter(pk=shipment.pk).update(carrier_status=result.carrier_status[:64])
        return "poll"
    apply_result(shipment, result)
    return "done"


def poll_delay(attempt: int) -> int:
    """Seconds before confirmation check ``attempt`` (0-based): exponential, capped."""
    delay = settings.CARRIER_CONFIRM_POLL_SECONDS * (2 ** min(attempt, 16))
    return int(min(delay, settings.CARRIER_CONFIRM_MAX_BACKOFF_SECONDS))


def submit_delay(attempt: int) -> int:
    return int(min(settings.CARRIER_SUBMIT_RETRY_SECONDS * (2 ** min(attempt, 10)), 3600))


# --- orders follow the parcel -----------------------------------------------------------------------


def _note_once(order: Order, text: str) -> None:
    if not OrderNote.objects.filter(order=order, text=text).exists():
        add_note(order=order, text=text)


def _advance_order(order: Order, target: str, *, reason: str) -> None:
    """Move ``order`` towards ``target`` through every status in between, each step through
    ``change_status``; a step the workflow refuses stops the walk with a note for the merchant."""
    if order.status in (O.CANCELLED, O.RETURNED):
        _note_once(
            order,
            _("The carrier reports “%(reason)s” but the order is “%(status)s”: check the parcel.")
            % {"reason": reason, "status": O(order.status).label},
        )
        return
    for step in ORDER_PROGRESS[ORDER_PROGRESS.index(O.PACKED) : ORDER_PROGRESS.index(target) + 1]:
        if ORDER_PROGRESS.index(order.status) >= ORDER_PROGRESS.index(step):
            continue
        if step not in allowed_transitions(order):
            _note_once(
                order,
                _("The carrier reports “%(reason)s” but the order cannot go from “%(from)s” to “%(to)s”.")
                % {"reason": reason, "from": O(order.status).label, "to": O(step).label},
            )
            return
        try:
            change_status(order=order, status=step, note=reason)
        except InvalidTransition as exc:
            _note_once(order, exc.message)
            return


def track_shipment(shipment_id: int) -> str:
    """Follow one parcel: store new tracking events, move the shipment (never backwards) and its
    order. Returns the shipment's status, or "skipped"/"error"."""
    shipment = _load(shipment_id)
    if shipment.status not in (S.CONFIRMED, S.IN_TRANSIT, S.SUBMITTED):
        return "skipped"
    if shipment.status == S.SUBMITTED:
        return poll_shipment(shipment_id)
    now = timezone.now()
    try:
        info = get_carrier(shipment.carrier).track(shipment.account, shipment)
    except CarrierError as exc:
        log.warning("Tracking %s failed: %s", shipment.reference, exc.message)
        Shipment.objects.filter(pk=shipment.pk).update(
            last_tracked_at=now, error_message=(_("Tracking failed: %(e)s") % {"e": exc.message})[:2000]
        )
        return "error"
    apply_tracking(shipment, info, now=now)
    return shipment.status


def queue_tracking(shipment_id: int) -> None:
    """Check one shipment with its carrier soon (after the current transaction commits)."""
    _after_commit("track_shipment", shipment_id)


def apply_tracking(shipment: Shipment, info: TrackingInfo, *, now=None) -> None:
    now = now or timezone.now()
    if info.events:
        ShipmentEvent.objects.bulk_create(
            [
                ShipmentEvent(
                    shipment=shipment,
                    status=e.status,
                    carrier_status=e.carrier_status[:64],
                    description=e.description[:255],
                    occurred_at=e.occurred_at,
                )
                for e in info.events
            ],
            ignore_conflicts=True,
        )
    fields: dict = {"last_tracked_at": now, "error_message": ""}
    if info.carrier_status:
        fields["carrier_status"] = info.carrier_status[:64]
    new = info.status
    moves_on = new in PROGRESS and PROGRESS[new] > PROGRESS.get(shipment.status, 0)
    if moves_on or (new in (S.RETURNED, S.CANCELLED) and new != shipment.status):
        fields["status"] = new
        if new == S.DELIVERED:
            fields["delivered_at"] = max((e.occurred_at for e in info.events), default=now)
    Shipment.objects.filter(pk=shipment.pk).update(**fields)
    for name, value in fields.items():
        setattr(shipment, name, value)
    if "status" not in fields:
        return
    order = Order.objects.get(pk=shipment.order_id)
    if new == S.IN_TRANSIT:
        _advance_order(
            order, O.SHIPPED, reason=_("Parcel %(n)s on its way") % {"n": shipment.tracking_number}
        )
    elif new == S.DELIVERED:
        _advance_order(
            order, O.DELIVERED, reason=_("Parcel %(n)s delivered") % {"n": shipment.tracking_number}
        )
    elif new == S.RETURNED:
        _note_once(order, _("Parcel %(n)s is going back to the store.") % {"n": shipment.tracking_number})
    elif new == S.CANCELLED:
        _note_once(order, _("The carrier cancelled parcel %(n)s.") % {"n": shipment.tracking_number})


def due_for_tracking(*, now=None) -> dict[str, list[int]]:
    """What the periodic job should do now: parcels to track, shipments whose send was lost
    (broker outage, dead worker) and confirmations nobody is waiting for any more."""
    now = now or timezone.now()
    age = now - timedelta(seconds=settings.CARRIER_TRACKING_MIN_AGE_SECONDS)
    stale = now - timedelta(seconds=settings.CARRIER_STALE_SENDING_SECONDS)
    batch = settings.CARRIER_TRACKING_BATCH
    track = list(
        Shipment.objects.filter(status__in=Shipment.TRACKED_STATUSES)
        .filter(Q(last_tracked_at__isnull=True) | Q(last_tracked_at__lt=age))
        .order_by(F("last_tracked_at").asc(nulls_first=True), "pk")
        .values_list("pk", flat=True)[:batch]
    )
    resend = list(
        Shipment.objects.filter(status__in=[S.PENDING, S.SENDING], updated_at__lt=stale)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch]
    )
    repoll = list(
        Shipment.objects.filter(status=S.SUBMITTED, updated_at__lt=stale)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch]
    )
    return {"track": track, "resend": resend, "repoll": repoll}


# --- merchant actions ----------------------------------------------------------------------------


def retry_shipment(*, shipment: Shipment, user=None) -> None:
    """Try a failed shipment again: ask for the confirmation when the carrier already has it,
    otherwise send it again (looking it up by reference first)."""
    if shipment.status != S.ERROR:
        raise ShipmentRefused(_("Only a shipment with an error can be retried."))
    with transaction.atomic():
        if shipment.carrier_shipment_id:
            Shipment.objects.filter(pk=shipment.pk, status=S.ERROR).update(
                status=S.SUBMITTED, poll_attempts=0, updated_at=timezone.now()
            )
            _after_commit("poll_shipment", shipment.pk)
        else:
            Shipment.objects.filter(pk=shipment.pk, status=S.ERROR).update(
                status=S.PENDING, submit_attempts=0, updated_at=timezone.now()
            )
            _after_commit("submit_shipment", shipment.pk)


def cancel_shipment(*, shipment: Shipment, user=None) -> None:
    if not shipment.can_cancel:
        raise ShipmentRefused(
            _("A shipment that is “%(status)s” cannot be cancelled.") % {"status": S(shipment.status).label}
        )
    if shipment.carrier_shipment_id:
        try:
            get_carrier(shipment.carrier).cancel(shipment.account, shipment.carrier_shipment_id)
        except CarrierError as exc:
            raise ShipmentRefused(
                _("The carrier did not cancel the shipment: %(e)s") % {"e": exc.message}
            ) from exc
    with transaction.atomic():
        Shipment.objects.filter(pk=shipment.pk).update(status=S.CANCELLED, updated_at=timezone.now())
        shipment.status = S.CANCELLED
        if shipment.tracking_number:
            Order.objects.filter(pk=shipment.order_id, tracking_number=shipment.tracking_number).update(
                tracking_number=""
            )
        add_note(
            order=Order.objects.get(pk=shipment.order_id),
            user=user if getattr(user, "pk", None) else None,
            text=_("Shipment %(ref)s cancelled.") % {"ref": shipment.reference},
        )


def label_document(
    *, shipments: list[Shipment], fmt: str
) -> tuple[LabelDocument, list[tuple[Shipment, str]]]:
    """All printable labels of ``shipments`` in one document (one request per carrier account and
    batch), in the order given. Returns the document and the shipments left out, with why."""
    skipped: list[tuple[Shipment, str]] = []
    groups: dict[int, list[Shipment]] = {}
    for shipment in shipments:
        backend = get_carrier(shipment.carrier)
        if not shipment.has_label:
            skipped.append((shipment, _("no label yet (%(status)s)") % {"status": S(shipment.status).label}))
        elif fmt not in backend.label_formats:
            skipped.append(
                (
                    shipment,
                    _("%(carrier)s has no %(format)s labels")
                    % {"carrier": Carrier(shipment.carrier).label, "format": fmt.upper()},
                )
            )
        else:
            groups.setdefault(shipment.account_id, []).append(shipment)
    if not groups:
        reasons = "; ".join(f"{s.reference}: {reason}" for s, reason in skipped[:5])
        raise ShipmentRefused(
            _("None of the selected shipments has a label to print (%(reasons)s).") % {"reasons": reasons}
        )
    documents: list[bytes] = []
    for group in groups.values():
        account = group[0].account
        try:
            document = get_carrier(account.carrier).labels(
                account, [s.carrier_shipment_id for s in group], fmt
            )
        except CarrierError as exc:
            raise ShipmentRefused(_("Labels could not be fetched: %(e)s") % {"e": exc.message}) from exc
        documents.append(document.content)
    try:
        return merge_labels(documents, fmt), skipped
    except CarrierError as exc:
        raise ShipmentRefused(exc.message) from exc


def handover_document(*, shipments: list[Shipment]) -> LabelDocument:
    """The handover list for parcels of one carrier account that have labels (Apaczka)."""
    ready = [s for s in shipments if s.has_label]
    accounts = {s.account_id for s in ready}
    if not ready:
        raise ShipmentRefused(_("None of the selected shipments has a label yet."))
    if len(accounts) > 1:
        raise ShipmentRefused(_("Choose shipments of one carrier account for a handover list."))
    account = ready[0].account
    backend = get_carrier(account.carrier)
    if not backend.supports_handover:
        raise ShipmentRefused(
            _("%(carrier)s has no handover list.") % {"carrier": Carrier(account.carrier).label}
        )
    try:
        return backend.handover(account, [s.carrier_shipment_id for s in ready])
    except CarrierError as exc:
        raise ShipmentRefused(
            _("The handover list could not be fetched: %(e)s") % {"e": exc.message}
        ) from exc


def test_connection(account: CarrierAccount):
    """Check the account's credentials at its carrier; the outcome is recorded on the account."""
    return external_accounts.test_connection(account, get_carrier(account.carrier))

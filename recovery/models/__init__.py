"""The recovery data model, split by concept: campaigns (what to send), tracking (which carts
are followed and what was sent), contacts (suppression list and web-push subscriptions)."""

from .campaigns import Campaign, Step, StepTemplate, StepVariant
from .contacts import PushSubscription, Suppression
from .tracking import DetectionCursor, Reminder, Restore, TrackedCart, TrackingEvent

__all__ = [
    "Campaign",
    "DetectionCursor",
    "PushSubscription",
    "Reminder",
    "Restore",
    "Step",
    "StepTemplate",
    "StepVariant",
    "Suppression",
    "TrackedCart",
    "TrackingEvent",
]

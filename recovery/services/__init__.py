"""Cart recovery's use cases, as keyword-only functions (docs/architecture.md, "Where a rule
lives"):

- detection: finding abandoned carts, planning their reminders, resetting on activity;
- sending: dispatching due reminders, the claim with its re-checks, the send, the lease reaper;
- attribution: restores, clicks, opens and orders;
- campaigns: the default campaign, previews and test messages;
- privacy: suppression, retention purge, export and erasure.
"""

from .attribution import (
    RestoreResult,
    handle_order_event,
    handle_order_refunded,
    handle_order_status_changed,
    handle_refund_event,
    record_click,
    record_open,
    restore_cart,
    restore_problem,
)
from .campaigns import ensure_default_campaign, preview_step, send_test_message
from .detection import detect_abandoned, expire_stale, handle_cart_updated, reset_cart_activity
from .privacy import erase_shopper, export_shopper, purge_expired, suppress
from .sending import dispatch_due, reap_expired_leases, send_reminder

__all__ = [
    "RestoreResult",
    "detect_abandoned",
    "dispatch_due",
    "ensure_default_campaign",
    "erase_shopper",
    "expire_stale",
    "export_shopper",
    "handle_cart_updated",
    "handle_order_event",
    "handle_order_refunded",
    "handle_order_status_changed",
    "handle_refund_event",
    "preview_step",
    "purge_expired",
    "reap_expired_leases",
    "record_click",
    "record_open",
    "reset_cart_activity",
    "restore_cart",
    "restore_problem",
    "send_reminder",
    "send_test_message",
    "suppress",
]

"""The orders app's use cases, as keyword-only functions (docs/architecture.md, "Where a rule
lives"): carts and codes, checkout, the status workflow, payments, marketplace orders. Concepts with
a module of their own (returns, invoices, refunds, accounts, carriers) own their writes there.

Views, the admin, tasks, other apps (recovery) and commands call these; none repeats a rule.
"""

from .carts import (
    CART_UPDATED,
    add_to_cart,
    cart_for_login,
    find_cart,
    get_or_create_cart,
    issue_checkout_token,
    merge_carts,
    remove_line,
    save_checkout_email,
    set_checkout_choices,
    touch,
    update_line,
)
from .checkout import LoadedCart, checkout_problems, load_for_checkout, place_order
from .codes import (
    apply_code,
    create_single_use_voucher,
    customer_uses,
    format_gift_card_code,
    issue_gift_card,
    issue_gift_cards,
    refund_gift_cards,
    remove_code,
)
from .errors import (
    CartError,
    CheckoutError,
    InvalidTransition,
    OrdersError,
    OutOfStock,
    RateLimited,
    TotalChanged,
)
from .payments import (
    expire_unpaid_orders,
    extend_payment_hold,
    open_payment,
    payment_failed,
    payment_succeeded,
    retry_payment,
    start_payment,
)
from .recording import next_order_number, record_order
from .workflow import TRANSITIONS, add_note, allowed_transitions, change_status, plan_email

__all__ = [
    "CART_UPDATED",
    "TRANSITIONS",
    "CartError",
    "CheckoutError",
    "InvalidTransition",
    "LoadedCart",
    "OrdersError",
    "OutOfStock",
    "RateLimited",
    "TotalChanged",
    "add_note",
    "add_to_cart",
    "allowed_transitions",
    "apply_code",
    "cart_for_login",
    "change_status",
    "checkout_problems",
    "create_single_use_voucher",
    "customer_uses",
    "expire_unpaid_orders",
    "extend_payment_hold",
    "find_cart",
    "format_gift_card_code",
    "get_or_create_cart",
    "issue_checkout_token",
    "issue_gift_card",
    "issue_gift_cards",
    "load_for_checkout",
    "merge_carts",
    "next_order_number",
    "open_payment",
    "payment_failed",
    "payment_succeeded",
    "place_order",
    "plan_email",
    "record_order",
    "refund_gift_cards",
    "remove_code",
    "remove_line",
    "retry_payment",
    "save_checkout_email",
    "set_checkout_choices",
    "start_payment",
    "touch",
    "update_line",
]

"""The one order in which every path of the shop takes its row locks.

Two transactions deadlock when each holds a row the other one wants next. They cannot when every
path takes its locks in the same global order, skipping the levels it does not need:

    1. Cart            (checkout; the shopper's advisory lock, ``lock_shopper``, right after it)
    2. Order           (the order being paid, cancelled, refunded, returned, invoiced)
    3. Return          (an order's return requests)
    4. Payment         (the order's payments, in primary-key order)
    5. PaymentRefund
    6. Voucher
    7. GiftCard        (spent, refunded or bought cards, in primary-key order)
    8. Variant         (pre-order counters and the variants a checkout holds, primary-key order)
    9. StockItem       (shelves, primary-key order)
   10. StockReservation

Within one table rows are locked in primary-key order. An ``UPDATE`` locks its row as surely as
``select_for_update()``, so an update of a row of a lower level (giving a voucher use back,
counting a pre-order) must come before locks of a higher level are taken.

Rules that follow:

* **Never lock a joined row.** ``select_for_update()`` with ``select_related`` locks every
  joined row too -- the store row among them, which each insert of an order or an outbox event
  of that store needs (a foreign key takes a share lock on its target). Always name the rows
  meant: ``select_for_update(of=("self",))``.
* **Cart → Voucher → GiftCard → Variant → StockItem** is checkout (``place_order``).
* **Order → Payment → Voucher → GiftCard → Variant → StockItem** is cancellation
  (``workflow._on_cancelled``): payments first, then the voucher use and the gift cards go back,
  then the stock.
* **Order → Payment → Variant → StockItem** is paying (``payment_succeeded`` locks the order
  before its payment; ``catalog.stock.commit_sale`` locks the pre-order variants before the
  shelves).
* **Order → Return → Payment → PaymentRefund** is a refund (``refund_settled`` locks the order
  first).
* Stock reservations of one reference are written only by whoever holds that reference's cart
  or order; the sweep of expired holds locks nothing else. They come last.

``catalog.stock`` follows the Variant → StockItem → StockReservation part of this order (its
module docstring says so); the catalog cannot import this module, which is why the whole order is
written here, where the paths that span both apps live. ``tests/orders/test_lock_order.py``
races each pair of paths (checkout × cancel, checkout × pay, pay × cancel) on PostgreSQL.
"""

ORDER = (
    "orders.Cart",
    "orders.Order",
    "orders.Return",
    "orders.Payment",
    "orders.PaymentRefund",
    "orders.Voucher",
    "orders.GiftCard",
    "catalog.Variant",
    "catalog.StockItem",
    "catalog.StockReservation",
)

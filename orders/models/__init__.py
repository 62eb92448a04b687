"""The orders data model, split by concept (docs/architecture.md, "Where a rule lives"): cart,
shipping and payment methods, vouchers and gift cards, orders, payments, and after-sales (returns,
invoices)."""

from .after_sales import Invoice, InvoiceCounter, Return, ReturnLine
from .cart import Cart, CartLine, ConsentRecord
from .common import MONEY, money
from .consent import ConsentChannel, ConsentText
from .email_templates import OrderEmailTemplate
from .gateways import GatewayAccount, GatewaySession, PaymentRefund
from .ksef import KsefSettings, KsefSubmission
from .order import (
    Address,
    Order,
    OrderCounter,
    OrderEmail,
    OrderLine,
    OrderNote,
    OrderStatusChange,
)
from .payment import Payment, PaymentNotification
from .shipments import Carrier, CarrierAccount, ParcelTemplate, Shipment, ShipmentEvent
from .shipping import PaymentMethod, ShippingMethod, ShippingRate
from .vouchers import GiftCard, GiftCardTransaction, Voucher, VoucherBatch, VoucherRedemption

__all__ = [
    "MONEY",
    "Address",
    "Carrier",
    "CarrierAccount",
    "Cart",
    "CartLine",
    "ConsentChannel",
    "ConsentRecord",
    "ConsentText",
    "GatewayAccount",
    "GatewaySession",
    "GiftCard",
    "GiftCardTransaction",
    "Invoice",
    "InvoiceCounter",
    "KsefSettings",
    "KsefSubmission",
    "Order",
    "OrderCounter",
    "OrderEmail",
    "OrderEmailTemplate",
    "OrderLine",
    "OrderNote",
    "OrderStatusChange",
    "ParcelTemplate",
    "Payment",
    "PaymentMethod",
    "PaymentNotification",
    "PaymentRefund",
    "Return",
    "ReturnLine",
    "Shipment",
    "ShipmentEvent",
    "ShippingMethod",
    "ShippingRate",
    "Voucher",
    "VoucherBatch",
    "VoucherRedemption",
    "money",
]

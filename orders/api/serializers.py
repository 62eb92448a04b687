"""Input and output serializers of the orders API (shapes only; the services hold the rules)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.stock import UNLIMITED
from shop import phones
from shop.api.views import StrictSerializer

from ..models import Address, Order, Return

MONEY = {"max_digits": 12, "decimal_places": 2}


# --- Carts ---------------------------------------------------------------------------------------


class CheckoutAnswersInput(StrictSerializer):
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    street = serializers.CharField(max_length=200, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=10, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    pickup_point = serializers.CharField(max_length=32, required=False, allow_blank=True)
    wants_invoice = serializers.BooleanField(required=False)
    company_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    tax_id = serializers.CharField(max_length=20, required=False, allow_blank=True)
    billing_street = serializers.CharField(max_length=200, required=False, allow_blank=True)
    billing_postal_code = serializers.CharField(max_length=10, required=False, allow_blank=True)
    billing_city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    customer_note = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    def validate_phone(self, value):
        # E.164 when it is a number; anything else is kept so that the delivery step's check
        # (checkout_problems, place_order) names it, as for every other unfinished answer.
        return phones.normalise_lenient(value)


class CartUpdateInput(StrictSerializer):
    email = serializers.EmailField(max_length=254, required=False)
    marketing_consent = serializers.BooleanField(
        required=False, help_text="The shopper's answer to the consent text shown (see consent_text)."
    )
    shipping_method = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    payment_method = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    answers = CheckoutAnswersInput(required=False, help_text="Addresses, phone, pickup point, invoice data.")


class CheckoutInput(CartUpdateInput):
    expected_total = serializers.DecimalField(
        **MONEY,
        required=False,
        allow_null=True,
        help_text="The total the shopper confirmed; a different total now answers 409 total_changed.",
    )
    expected_amount_due = serializers.DecimalField(
        **MONEY,
        required=False,
        allow_null=True,
        help_text=(
            "What the shopper confirmed was left to pay after the gift card; when another order "
            "spent the card meanwhile this answers 409 total_changed."
        ),
    )


class LineInput(StrictSerializer):
    variant_id = serializers.IntegerField(min_value=1, max_value=2**62)
    quantity = serializers.IntegerField(min_value=1, required=False, default=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _cap_quantity(self.fields["quantity"])


class LineUpdateInput(StrictSerializer):
    quantity = serializers.IntegerField(min_value=0, help_text="0 removes the line.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _cap_quantity(self.fields["quantity"])


def _cap_quantity(field) -> None:
    """At most ``CART_MAX_LINE_QUANTITY`` of one item (read per request; the schema says it)."""
    from django.core.validators import MaxValueValidator

    field.max_value = settings.CART_MAX_LINE_QUANTITY
    field.validators.append(
        MaxValueValidator(
            field.max_value, message=field.error_messages["max_value"].format(max_value=field.max_value)
        )
    )


class CodeInput(StrictSerializer):
    code = serializers.CharField(max_length=40)


class AvailabilityOutput(serializers.Serializer):
    status = serializers.CharField()
    sellable = serializers.BooleanField()
    quantity = serializers.IntegerField(allow_null=True)


def availability_data(a) -> dict:
    return {
        "status": a.status,
        "sellable": a.sellable,
        "quantity": None if a.available >= UNLIMITED else a.available,
    }


class CartLineOutput(serializers.Serializer):
    id = serializers.IntegerField(source="line.pk")
    variant_id = serializers.IntegerField(source="line.variant_id")
    product_id = serializers.IntegerField(source="line.variant.product_id")
    sku = serializers.CharField(source="line.variant.sku")
    product_name = serializers.CharField(source="line.variant.product.name")
    variant_name = serializers.CharField(source="line.variant.name")
    quantity = serializers.IntegerField(source="line.quantity")
    unit_price = serializers.DecimalField(**MONEY, source="priced.unit_price")
    total = serializers.DecimalField(**MONEY, source="priced.total")
    discount = serializers.DecimalField(**MONEY, source="priced.discount")
    availability = serializers.SerializerMethodField()
    notices = serializers.ListField(child=serializers.CharField())

    @extend_schema_field(AvailabilityOutput)
    def get_availability(self, row):
        return availability_data(row.availability)


class CartTotalsOutput(serializers.Serializer):
    subtotal = serializers.DecimalField(**MONEY)
    discount = serializers.DecimalField(**MONEY)
    shipping = serializers.DecimalField(**MONEY)
    payment_fee = serializers.DecimalField(**MONEY)
    gift_card = serializers.DecimalField(**MONEY, source="gift_card_amount")
    total = serializers.DecimalField(**MONEY)
    total_net = serializers.DecimalField(**MONEY)
    amount_due = serializers.DecimalField(**MONEY)


class ProblemOutput(serializers.Serializer):
    step = serializers.CharField()
    message = serializers.CharField()


class CartOrderRef(serializers.Serializer):
    number = serializers.CharField()
    token = serializers.CharField()


class CartOutput(serializers.Serializer):
    """Built from ``orders.selectors.cart_page`` plus ``checkout_problems``."""

    token = serializers.CharField(help_text="The cart's secret: keep it like a password.")
    status = serializers.CharField()
    currency = serializers.CharField()
    email = serializers.CharField()
    marketing_consent = serializers.BooleanField()
    consent_text = serializers.CharField(help_text="Show this text next to the consent checkbox.")
    shipping_method = serializers.IntegerField(allow_null=True)
    payment_method = serializers.IntegerField(allow_null=True)
    voucher_code = serializers.CharField(allow_null=True)
    voucher_problem = serializers.CharField()
    gift_card = serializers.CharField(allow_null=True)
    answers = serializers.DictField()
    needs_shipping = serializers.BooleanField()
    lines = CartLineOutput(many=True)
    totals = CartTotalsOutput()
    problems = ProblemOutput(many=True, help_text="What still stops checkout (empty: ready).")
    order = CartOrderRef(allow_null=True)


class ShippingOptionOutput(serializers.Serializer):
    id = serializers.IntegerField(source="method.pk")
    name = serializers.CharField(source="method.name")
    kind = serializers.CharField(source="method.kind")
    description = serializers.CharField(source="method.description")
    price = serializers.DecimalField(**MONEY)
    available = serializers.BooleanField()
    reason = serializers.CharField()
    missing_for_free = serializers.DecimalField(**MONEY, allow_null=True)
    cash_on_delivery = serializers.CharField(source="method.cash_on_delivery")
    needs_address = serializers.BooleanField(source="method.needs_address")
    needs_pickup_point = serializers.BooleanField(source="method.needs_pickup_point")
    delivery_days_min = serializers.IntegerField(source="method.delivery_days_min")
    delivery_days_max = serializers.IntegerField(source="method.delivery_days_max")


class PaymentMethodOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    provider = serializers.CharField()
    description = serializers.CharField()
    fee = serializers.DecimalField(**MONEY)


class ShippingChoicesOutput(serializers.Serializer):
    shipping_methods = ShippingOptionOutput(many=True)
    payment_methods = PaymentMethodOutput(many=True, help_text="For the cart's chosen shipping method.")


# --- Orders --------------------------------------------------------------------------------------


class AddressOutput(serializers.ModelSerializer):
    class Meta:
        model = Address
        fields = [
            "id",
            "first_name",
            "last_name",
            "company_name",
            "tax_id",
            "street",
            "postal_code",
            "city",
            "country",
            "phone",
            "is_default_shipping",
            "is_default_billing",
        ]
        read_only_fields = fields


class AddressInput(StrictSerializer):
    """The storefront address book's rules: street, postal code and city are required; in Poland
    (the default country) the postal code is NN-NNN and a tax id must be a valid NIP (stored as
    10 digits). On PATCH the address's current values fill in what the request leaves out
    (``context["current"]``)."""

    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    company_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    tax_id = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        help_text="NIP for Polish addresses, e.g. 526-000-12-46.",
    )
    street = serializers.CharField(max_length=200)
    postal_code = serializers.CharField(max_length=10, help_text="NN-NNN in Poland.")
    city = serializers.CharField(max_length=100)
    country = serializers.RegexField(r"^[A-Z]{2}$", required=False)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    is_default_shipping = serializers.BooleanField(required=False)
    is_default_billing = serializers.BooleanField(required=False)

    def validate_country(self, value):
        from django.core.exceptions import ValidationError

        from ..services.validation import clean_country

        try:
            return clean_country(value)  # a real ISO 3166-1 code, the storefront form's rule
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None

    def validate(self, attrs):
        from django.core.exceptions import ValidationError

        from shop.identifiers import clean_nip

        from ..services.validation import clean_postal_code

        merged = {**self.context.get("current", {}), **attrs}
        if attrs.get("phone"):
            try:
                attrs["phone"] = phones.normalise(attrs["phone"], country=merged.get("country"))
            except ValidationError as exc:
                raise serializers.ValidationError({"phone": exc.messages}) from None
        if (merged.get("country") or "PL") != "PL":
            return attrs
        errors = {}
        for name, clean in (("postal_code", clean_postal_code), ("tax_id", clean_nip)):
            value = (merged.get(name) or "").strip()
            if not value or (name not in attrs and "country" not in attrs):
                continue  # an untouched stored value is not re-judged
            try:
                cleaned = clean(value)
            except ValidationError as exc:
                errors[name] = exc.messages
                continue
            if name in attrs:
                attrs[name] = cleaned
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class OrderLineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    product_name = serializers.CharField()
    variant_name = serializers.CharField()
    variant_id = serializers.IntegerField(allow_null=True)
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(**MONEY)
    total = serializers.DecimalField(**MONEY)
    discount = serializers.DecimalField(**MONEY)
    vat_rate = serializers.CharField()


class OrderOutput(serializers.ModelSerializer):
    lines = OrderLineOutput(many=True, read_only=True)
    shipping_address = AddressOutput(read_only=True, allow_null=True)
    billing_address = AddressOutput(read_only=True, allow_null=True)
    amount_due = serializers.DecimalField(**MONEY, read_only=True)
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "token",
            "status",
            "payment_status",
            "channel",
            "email",
            "phone",
            "currency",
            "subtotal",
            "discount_total",
            "shipping_total",
            "payment_fee",
            "gift_card_total",
            "total",
            "total_net",
            "amount_due",
            "voucher_code",
            "shipping_method_name",
            "pickup_point",
            "payment_method_name",
            "shipping_address",
            "billing_address",
            "tracking_number",
            "created_at",
            "paid_at",
            "shipped_at",
            "delivered_at",
            "cancelled_at",
            "lines",
            "status_url",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField())
    def get_status_url(self, order):
        return self.context["request"].build_absolute_uri(order.get_absolute_url())


class OrderSummaryOutput(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.CharField()
    payment_status = serializers.CharField()
    total = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    items = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class PaymentStartOutput(serializers.Serializer):
    provider = serializers.CharField()
    redirect_url = serializers.CharField(help_text="Send the shopper here to pay (online payments).")
    instructions = serializers.CharField(help_text="Show these (bank transfer, cash on delivery).")


class CheckoutOutput(serializers.Serializer):
    order = OrderOutput()
    payment = PaymentStartOutput(allow_null=True)


class ManageOrderOutput(OrderOutput):
    customer_note = serializers.CharField(read_only=True)
    allowed_transitions = serializers.SerializerMethodField()

    class Meta(OrderOutput.Meta):
        fields = [*OrderOutput.Meta.fields, "customer_note", "allowed_transitions"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_transitions(self, order):
        from ..services import allowed_transitions

        return allowed_transitions(order)


class StatusChangeInput(StrictSerializer):
    status = serializers.ChoiceField(choices=Order.Status.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


# --- Customer ------------------------------------------------------------------------------------


class MeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    phone = serializers.CharField()
    language = serializers.CharField()


class DownloadOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField(source="asset.title")
    product = serializers.CharField(source="asset.variant.product.name")
    downloads_left = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.URLField())
    def get_url(self, grant):
        from catalog.downloads import download_url

        return self.context["request"].build_absolute_uri(download_url(grant, absolute=False))


class ReturnLineOutput(serializers.Serializer):
    order_line_id = serializers.IntegerField()
    sku = serializers.CharField(source="order_line.sku")
    quantity = serializers.IntegerField()
    refund_amount = serializers.DecimalField(**MONEY)


class ReturnOutput(serializers.ModelSerializer):
    order_number = serializers.CharField(source="order.number", read_only=True)
    lines = ReturnLineOutput(many=True, read_only=True)

    class Meta:
        model = Return
        fields = ["id", "order_number", "status", "reason", "comment", "refund_amount", "created_at", "lines"]
        read_only_fields = fields


class ReturnLineInput(StrictSerializer):
    order_line_id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)


class ReturnInput(StrictSerializer):
    order_number = serializers.CharField(max_length=32)
    reason = serializers.ChoiceField(choices=Return.Reason.choices)
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    bank_account = serializers.CharField(
        max_length=64, required=False, allow_blank=True
    )  # an IBAN with spaces
    lines = ReturnLineInput(many=True, allow_empty=False, max_length=settings.CART_MAX_LINES)

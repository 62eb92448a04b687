"""Output and input serializers of the catalog API (thin: shapes only, no rules)."""

from __future__ import annotations

from decimal import Decimal

from django.core.files.storage import default_storage
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from shop.api.views import StrictSerializer

from ..models import Product, Variant, VatRate
from ..services import money
from ..stock import UNLIMITED


def net_of(gross: Decimal | None, vat_rate: str) -> Decimal | None:
    """Net of a gross price at a VAT rate, half-up to 0.01 (display only; orders price baskets)."""
    if gross is None:
        return None
    return money(Decimal(gross) / (1 + VatRate.percent(vat_rate) / 100))


def media_url(request, name: str | None) -> str | None:
    if not name:
        return None
    return request.build_absolute_uri(default_storage.url(name))


class PriceSerializer(serializers.Serializer):
    gross = serializers.DecimalField(max_digits=12, decimal_places=2)
    net = serializers.DecimalField(max_digits=12, decimal_places=2)
    vat_rate = serializers.CharField(help_text="23, 8, 5, 0 or zw (exempt).")
    currency = serializers.CharField()
    compare_at = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    lowest_30_days = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        help_text="EU Omnibus: the lowest price in the 30 days before the discount (discounted only).",
    )


def price_data(*, gross, compare_at, omnibus, vat_rate: str, currency: str) -> dict:
    discounted = compare_at is not None and gross is not None and compare_at > gross
    return {
        "gross": gross,
        "net": net_of(gross, vat_rate),
        "vat_rate": vat_rate,
        "currency": currency,
        "compare_at": compare_at if discounted else None,
        "lowest_30_days": omnibus if discounted else None,
    }


def price_output(**kwargs) -> dict:
    return PriceSerializer(price_data(**kwargs)).data


class ProductCardSerializer(serializers.Serializer):
    """A product in a listing (annotated by ``catalog.selectors.with_card_data``)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    brand = serializers.CharField()
    kind = serializers.CharField()
    category_id = serializers.IntegerField(allow_null=True)
    price = serializers.SerializerMethodField()
    image = serializers.SerializerMethodField()
    available = serializers.BooleanField(source="is_available")
    is_preorder = serializers.BooleanField()
    variant_count = serializers.IntegerField(source="card_variant_count")
    url = serializers.SerializerMethodField()

    @extend_schema_field(PriceSerializer)
    def get_price(self, obj):
        return price_output(
            gross=obj.min_price,
            compare_at=obj.card_compare_at,
            omnibus=getattr(obj, "omnibus_price", None),
            vat_rate=obj.vat_rate,
            currency=self.context["currency"],
        )

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_image(self, obj):
        return media_url(self.context["request"], obj.card_image)

    @extend_schema_field(serializers.CharField())
    def get_url(self, obj):
        return self.context["request"].build_absolute_uri(obj.get_absolute_url())


class AvailabilitySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["in_stock", "low_stock", "out_of_stock", "preorder", "backorder"]
    )
    sellable = serializers.BooleanField()
    quantity = serializers.IntegerField(allow_null=True, help_text="Units available; null when not tracked.")


class AttributeValueOutput(serializers.Serializer):
    attribute = serializers.CharField(source="attribute.name")
    attribute_slug = serializers.CharField(source="attribute.slug")
    value = serializers.CharField()
    slug = serializers.CharField()
    color = serializers.CharField()


class VariantOutput(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    ean = serializers.CharField()
    name = serializers.CharField()
    attributes = AttributeValueOutput(many=True, source="attribute_values.all")
    price = serializers.SerializerMethodField()
    availability = serializers.SerializerMethodField()
    is_preorder = serializers.BooleanField()
    release_date = serializers.DateField(allow_null=True)
    weight_grams = serializers.IntegerField()

    @extend_schema_field(PriceSerializer)
    def get_price(self, obj):
        return price_output(
            gross=obj.price,
            compare_at=obj.compare_at_price,
            omnibus=self.context["omnibus"].get(obj.pk),
            vat_rate=obj.product.vat_rate,
            currency=self.context["currency"],
        )

    @extend_schema_field(AvailabilitySerializer)
    def get_availability(self, obj):
        a = self.context["availability"].get(obj.pk)
        if a is None:
            return {"status": "out_of_stock", "sellable": False, "quantity": 0}
        return {
            "status": a.status,
            "sellable": a.sellable,
            "quantity": None if a.available >= UNLIMITED else a.available,
        }


class ImageOutput(serializers.Serializer):
    url = serializers.SerializerMethodField()
    alt = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    variant_id = serializers.IntegerField(allow_null=True)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_url(self, obj):
        return media_url(self.context["request"], obj.image.name)


class CategoryRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class ComponentOutput(serializers.Serializer):
    variant_id = serializers.IntegerField()
    sku = serializers.CharField(source="variant.sku")
    name = serializers.CharField(source="variant.__str__")
    quantity = serializers.IntegerField()


class ProductDetailSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="product.id")
    name = serializers.CharField(source="product.name")
    slug = serializers.CharField(source="product.slug")
    description = serializers.CharField(source="product.description")
    brand = serializers.CharField(source="product.brand")
    kind = serializers.CharField(source="product.kind")
    vat_rate = serializers.CharField(source="product.vat_rate")
    currency = serializers.SerializerMethodField()
    breadcrumbs = CategoryRefSerializer(many=True)
    variants = serializers.SerializerMethodField()
    images = serializers.SerializerMethodField()
    components = ComponentOutput(many=True)
    related = serializers.SerializerMethodField()
    recommended = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField())
    def get_currency(self, page):
        return self.context["currency"]

    def _ctx(self, page):
        return {**self.context, "availability": page.availability, "omnibus": page.omnibus}

    @extend_schema_field(VariantOutput(many=True))
    def get_variants(self, page):
        return VariantOutput(page.variants, many=True, context=self._ctx(page)).data

    @extend_schema_field(ImageOutput(many=True))
    def get_images(self, page):
        return ImageOutput(page.images, many=True, context=self.context).data

    @extend_schema_field(ProductCardSerializer(many=True))
    def get_related(self, page):
        return ProductCardSerializer(page.related, many=True, context=self.context).data

    @extend_schema_field(ProductCardSerializer(many=True))
    def get_recommended(self, page):
        return ProductCardSerializer(page.recommended, many=True, context=self.context).data

    @extend_schema_field(serializers.CharField())
    def get_url(self, page):
        return self.context["request"].build_absolute_uri(page.product.get_absolute_url())


class CategoryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    parent_id = serializers.IntegerField(allow_null=True)
    depth = serializers.IntegerField()


class GroupOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    description = serializers.CharField()
    kind = serializers.CharField()


# --- Merchant ------------------------------------------------------------------------------------


class ManageVariantOutput(serializers.ModelSerializer):
    attribute_values = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Variant
        fields = [
            "id",
            "product",
            "sku",
            "ean",
            "name",
            "price",
            "compare_at_price",
            "cost_price",
            "weight_grams",
            "position",
            "is_active",
            "track_stock",
            "backorder",
            "low_stock_threshold",
            "is_preorder",
            "release_date",
            "preorder_limit",
            "attribute_values",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ManageProductOutput(serializers.ModelSerializer):
    variants = ManageVariantOutput(many=True, read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "kind",
            "name",
            "slug",
            "description",
            "brand",
            "category",
            "vat_rate",
            "is_published",
            "published_at",
            "min_price",
            "created_at",
            "updated_at",
            "variants",
        ]
        read_only_fields = fields


class ProductInput(StrictSerializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=220, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=Product.Kind.choices, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=50_000)
    brand = serializers.CharField(required=False, allow_blank=True, max_length=120)
    category = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    vat_rate = serializers.ChoiceField(choices=VatRate.choices, required=False)
    is_published = serializers.BooleanField(required=False)


MONEY_FIELD = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0")}


class VariantInput(StrictSerializer):
    product = serializers.IntegerField(min_value=1)
    sku = serializers.CharField(max_length=64)
    ean = serializers.CharField(max_length=14, required=False, allow_blank=True)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    price = serializers.DecimalField(**MONEY_FIELD)
    compare_at_price = serializers.DecimalField(**MONEY_FIELD, required=False, allow_null=True)
    cost_price = serializers.DecimalField(**MONEY_FIELD, required=False, allow_null=True)
    weight_grams = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False)
    position = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)
    is_active = serializers.BooleanField(required=False)
    track_stock = serializers.BooleanField(required=False)
    backorder = serializers.ChoiceField(choices=Variant.Backorder.choices, required=False)
    low_stock_threshold = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)
    is_preorder = serializers.BooleanField(required=False)
    release_date = serializers.DateField(required=False, allow_null=True)
    preorder_limit = serializers.IntegerField(min_value=0, max_value=10**9, required=False, allow_null=True)
    attribute_values = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=50
    )


class VariantUpdateInput(VariantInput):
    product = None
    sku = serializers.CharField(max_length=64, required=False)
    price = serializers.DecimalField(**MONEY_FIELD, required=False)


class StockRowInput(StrictSerializer):
    sku = serializers.CharField(max_length=64, required=False)
    variant_id = serializers.IntegerField(min_value=1, required=False)
    warehouse = serializers.CharField(
        max_length=40, required=False, help_text="Warehouse code; default: the first."
    )
    quantity = serializers.IntegerField(
        min_value=0, max_value=10**9, required=False, help_text="Set on hand to."
    )
    delta = serializers.IntegerField(
        min_value=-(10**9), max_value=10**9, required=False, help_text="Add (or remove)."
    )
    note = serializers.CharField(max_length=255, required=False, allow_blank=True)

    def validate(self, attrs):
        if ("sku" in attrs) == ("variant_id" in attrs):
            raise serializers.ValidationError({"sku": ["Give exactly one of sku or variant_id."]})
        if ("quantity" in attrs) == ("delta" in attrs):
            raise serializers.ValidationError({"quantity": ["Give exactly one of quantity or delta."]})
        return attrs


class PriceRowInput(StrictSerializer):
    sku = serializers.CharField(max_length=64, required=False)
    variant_id = serializers.IntegerField(min_value=1, required=False)
    price = serializers.DecimalField(**MONEY_FIELD)
    compare_at_price = serializers.DecimalField(**MONEY_FIELD, required=False, allow_null=True)

    def validate(self, attrs):
        if ("sku" in attrs) == ("variant_id" in attrs):
            raise serializers.ValidationError({"sku": ["Give exactly one of sku or variant_id."]})
        return attrs


def bulk_input(row_serializer):
    from django.conf import settings

    class BulkInput(StrictSerializer):
        rows = row_serializer(many=True, allow_empty=False, max_length=settings.API_BULK_MAX_ROWS)

    BulkInput.__name__ = f"Bulk{row_serializer.__name__}"
    return BulkInput


class BulkResultSerializer(serializers.Serializer):
    updated = serializers.IntegerField()
    rows = serializers.ListField(child=serializers.DictField())

"""OpenAPI: security schemes for our authentication classes and the error shape on every
operation (so generated clients and schemathesis know what a refusal looks like)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

ERROR_CODES = {
    "400": "Malformed request or invalid fields.",
    "401": "Missing or invalid credentials.",
    "403": "Authenticated but not allowed (e.g. the API key lacks the scope).",
    "404": "Not found (or not yours).",
    "405": "Method not allowed.",
    "406": "Not acceptable.",
    "409": "Conflicts with the current state (e.g. sold out meanwhile, request still running).",
    "413": "Body too large.",
    "415": "Unsupported media type: send application/json.",
    "422": "Refused by a business rule, or Idempotency-Key reused for a different request.",
    "429": "Rate limited: see the Retry-After header.",
}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string", "example": "invalid"},
                "message": {"type": "string", "example": "Some fields are invalid."},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "example": {"quantity": ["The quantity must be at least 1."]},
                },
            },
        }
    },
}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "shop.api.authentication.ApiKeyAuthentication"
    name = "merchantApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "ksk_<prefix>_<secret>",
            "description": "A merchant API key created in the admin, with scopes.",
        }


class CustomerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "shop.api.authentication.CustomerTokenAuthentication"
    name = "customerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "kct_<prefix>_<secret>",
            "description": "A shopper's token from POST /api/v1/auth/token/.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "shop.api.authentication.SessionAuthentication"
    name = "storefrontSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: the Error component and every error status on every operation."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path in result.get("paths", {}).values():
        for _method, operation in path.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for code, description in ERROR_CODES.items():
                operation["responses"].setdefault(
                    code, {"description": description, "content": {"application/json": {"schema": ref}}}
                )
            operation["responses"].setdefault(
                "500", {"description": "Server error.", "content": {"application/json": {"schema": ref}}}
            )
    return result


# --- Exactness: what the implementation enforces, the schema says ------------------------------

#: The Idempotency-Key header: 1 to 255 visible ASCII characters, spaces only inside
#: (``shop.api.idempotency`` refuses anything else with 400 invalid_idempotency_key).
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]{0,253}[!-~])?$"
IDEMPOTENCY_KEY_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": IDEMPOTENCY_KEY_PATTERN,
}


def _request_components(result) -> set[str]:
    """Names of the components reachable from a request body (the input serializers)."""
    components = result.get("components", {}).get("schemas", {})
    todo: list = []
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict):
                todo.extend(operation.get("requestBody", {}).get("content", {}).values())
    seen: set[str] = set()
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in seen:
                    seen.add(name)
                    todo.append(components.get(name))
            todo.extend(v for k, v in node.items() if k != "$ref")
        elif isinstance(node, list):
            todo.extend(node)
    return seen


#: Money in a request body: a JSON string, non-negative, at most 10 + 2 digits
#: (``shop.api.views.StrictInputMixin`` refuses anything else).
AMOUNT_PATTERN = r"^\d{1,10}(\.\d{1,2})?$"
#: Text fields refuse NUL characters (DRF) and, unless blank is allowed, text that is only
#: whitespace (DRF trims it to ""); Python's ``\s`` is the one DRF's ``strip()`` removes.
TEXT_PATTERN = r"^[^\x00]*$"
NON_BLANK_TEXT_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
#: Query parameters: what their parsers accept (``shop.api.views.query_int``, the pagination, the
#: report and recovery forms' ``YYYY-MM-DD``).
QUERY_MINIMUM_ONE = {"page", "page_size", "product", "campaign"}
QUERY_DATES = {"date_from", "date_to"}
QUERY_AMOUNTS = {"total_min", "total_max", "price_min", "price_max"}  # empty: no bound
#: Bulk rows name their variant by exactly one of sku / variant_id, and a stock row gives exactly
#: one of quantity / delta (``catalog.api.serializers``' ``validate``).
EXACTLY_ONE_OF = {
    "StockRowInputRequest": [("sku", "variant_id"), ("quantity", "delta")],
    "PriceRowInputRequest": [("sku", "variant_id")],
}


#: Polish addresses (``orders.api.serializers.AddressInput``, the address book's form): with
#: ``country`` PL or left out, the postal code is NN-NNN and a tax id is a NIP: 10 digits,
#: optionally after ``PL``, spaces and hyphens anywhere (stored compact). The NIP's check digit is
#: beyond a pattern: a wrong one is 400 like a wrong format, and the descriptions say so. OAS 3.0
#: has no ``if``/``then``: "country given and not PL, or the Polish formats" says the same thing.
PL_POSTAL_CODE_PATTERN = r"^\s*\d{2}-\d{3}\s*$"
PL_NIP_PATTERN = r"^(\s*|[\s-]*([Pp][Ll])?[\s-]*([0-9][\s-]*){10})$"
POLISH_ADDRESS_COMPONENTS = {"AddressInputRequest", "PatchedAddressInputRequest"}
POLISH_ADDRESS_DESCRIPTIONS = {
    "postal_code": "When country is PL (the default): NN-NNN, e.g. 00-950 (pattern in the schema's anyOf).",
    "tax_id": "When country is PL (the default) and not blank: a NIP, 10 digits with a valid check "
    "digit, optionally after PL, spaces and hyphens allowed (526-000-12-46); stored as 10 digits. "
    "A wrong check digit is refused with 400 invalid like a wrong format.",
    "country": "ISO 3166-1 alpha-2, upper case; left out means PL.",
}
POLISH_PATCH_NOTE = (
    " On PATCH the Polish formats apply when the address's country (sent or stored) is PL and the "
    "field or the country is sent."
)


def _polish_address_rules(components: dict) -> None:
    for name in POLISH_ADDRESS_COMPONENTS:
        component = components.get(name)
        if not component:
            continue
        properties = component.get("properties", {})
        for field, text in POLISH_ADDRESS_DESCRIPTIONS.items():
            if field in properties:
                properties[field]["description"] = text + (
                    POLISH_PATCH_NOTE if name.startswith("Patched") else ""
                )
        if name.startswith("Patched"):
            continue  # the stored address decides: not a property of the request alone
        component.setdefault("allOf", []).append(
            {
                "anyOf": [
                    {"required": ["country"], "properties": {"country": {"not": {"enum": ["PL"]}}}},
                    {
                        "properties": {
                            "postal_code": {"pattern": PL_POSTAL_CODE_PATTERN},
                            "tax_id": {"pattern": PL_NIP_PATTERN},
                        }
                    },
                ]
            }
        )


def _exact_property(prop: dict) -> None:
    if prop.get("type") != "string" or "enum" in prop or prop.get("readOnly"):
        return
    if prop.get("format") == "decimal":
        prop["pattern"] = AMOUNT_PATTERN
    elif "format" not in prop and "pattern" not in prop:
        prop["pattern"] = NON_BLANK_TEXT_PATTERN if prop.get("minLength", 0) >= 1 else TEXT_PATTERN


def exact_requests(result, generator, request, public):
    """Postprocessing hook: request bodies refuse unknown fields (``StrictInputMixin``), so every
    object schema reachable from a request body says ``additionalProperties: false``, and their
    money and text fields the format the serializers enforce, Polish addresses their postal code
    and NIP; the Idempotency-Key header and the query parameters say theirs."""
    components = result.get("components", {}).get("schemas", {})
    for name in _request_components(result):
        component = components.get(name) or {}
        if component.get("type") == "object" and "properties" in component:
            component.setdefault("additionalProperties", False)
            for prop in component["properties"].values():
                _exact_property(prop)
                if prop.get("type") == "array" and isinstance(prop.get("items"), dict):
                    _exact_property(prop["items"])
    for name, groups in EXACTLY_ONE_OF.items():
        if name in components:
            components[name]["allOf"] = [
                {"oneOf": [{"required": [field]} for field in group]} for group in groups
            ]
    _polish_address_rules(components)
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header" and parameter.get("name") == "Idempotency-Key":
                    parameter["schema"] = dict(IDEMPOTENCY_KEY_SCHEMA)
                if parameter.get("in") != "query":
                    continue
                schema = parameter.setdefault("schema", {})
                if parameter["name"] in QUERY_MINIMUM_ONE and schema.get("type") == "integer":
                    schema["minimum"] = 1
                if parameter["name"] in QUERY_DATES and schema.get("type") == "string":
                    schema["format"] = "date"
                if parameter["name"] in QUERY_AMOUNTS and schema.get("type") == "string":
                    schema["pattern"] = r"^(\d{1,10}(\.\d{1,2})?)?$"
    return result


class ExactAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus what it leaves out: a nested list of rows
    (``rows = Row(many=True, allow_empty=False, max_length=1000)``) says ``minItems`` and
    ``maxItems``, as DRF enforces them."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.ListSerializer) and schema.get("type") == "array":
            if not field.allow_empty:
                schema["minItems"] = max(1, field.min_length or 1)
            elif field.min_length:
                schema["minItems"] = field.min_length
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
        return schema

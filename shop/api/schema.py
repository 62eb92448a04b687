"""OpenAPI: security schemes for our authentication classes and the error shape on every
operation (so generated clients and schemathesis know what a refusal looks like)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension

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

"""How the API describes itself (the OpenAPI schema at /api/schema/), for every view at once.

- Component names come from the serializer's full class path, so each API's nested
  InputSerializer/OutputSerializer gets its own component (MemberListApiInput…).
- Operation ids are made from the path after /api/v1/ and the method: `members_list`,
  `members_get`, `members_create`, `members_update` (PATCH), `points_settings_set` (PUT),
  `tiers_delete`; a POST to an action of a resource is named after it (`members_merge`,
  `points_rewards_redeem`). A view may name an operation itself with
  `@extend_schema(operation_id=...)`.
- Every operation lists the refusals it can give, all with the one error body `Error`
  (see clinic_loyalty.api_errors): 401 and 403 always; 400 unless it is a GET with no parameter;
  404 where the path names a record; 400 and 422 where it takes an Idempotency-Key. Other
  refusals (409, a 404 for an id in the body, 429) are declared by the view as
  `responses={409: OpenApiResponse(description=...)}`: a 4xx declared without a body gets the
  error body.
- Money fields (decimal strings) carry a pattern with their digits and decimal places, and no
  minus sign when they cannot be negative."""

import functools

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from clinic_loyalty.api_input import RefuseUnknownFields

ERROR_DESCRIPTIONS = {
    400: ("The request is not valid: `error.fields` says what to correct (validation_error), or "
           "`error.code` names the rule it breaks. Nothing was changed."),
    401: ("Not signed in, or the token is not valid on this clinic (not_authenticated, "
           "authentication_failed)."),
    403: ("The staff member's role does not allow this, or the clinic is suspended "
           "(permission_denied, clinic_suspended)."),
    404: ("No such record (not_found)."),
    409: ("The request conflicts with the current state of the data."),
    422: ("This Idempotency-Key was already used for a different request (idempotency_key_reused)."),
    429: ("Too many attempts: wait and try again (throttled)."),
}
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
ACTION_METHODS = {"GET": "get", "PATCH": "update", "PUT": "set", "DELETE": "delete"}


@functools.cache
def error_serializer() -> type[serializers.Serializer]:
    """The one error body, as a serializer (built on first use: the apps' APIs import this module
    through DRF's settings while they load)."""
    from appointments.api.availability import SlotSerializer
    from imports.api import ImportReportSerializer
    from members.api import ExistingMemberSerializer

    @extend_schema_serializer(component_name="ErrorDetail")
    class ErrorDetailSerializer(serializers.Serializer):
        code = serializers.CharField(help_text=(
            "Stable, for programs: validation_error, parse_error, not_authenticated, authentication_failed, "
            "permission_denied, not_found, throttled, clinic_suspended, duplicate_member, slot_unavailable, "
            "idempotency_key_reused, invalid_idempotency_key, import_rejected, …"))
        message = serializers.CharField(help_text="For people, in the request's language.")
        fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), help_text=(
            "The errors of each field, keyed by its path (`phone`, `lines.0.quantity`); `non_field_errors` "
            "for the request as a whole. Empty unless the code is validation_error."))
        existing_member = ExistingMemberSerializer(required=False, help_text=(
            "With duplicate_member only: the member who already has this phone number."))
        alternatives = SlotSerializer(many=True, required=False, help_text=(
            "With slot_unavailable only: the nearest free times."))

    @extend_schema_serializer(component_name="Error")
    class ErrorSerializer(serializers.Serializer):
        """Every refusal of the API (4xx, and 5xx) has this body."""

        error = ErrorDetailSerializer()
        report = ImportReportSerializer(required=False, help_text=(
            "With import_rejected only: the import's report, every error line by line."))

    return ErrorSerializer


class AutoSchema(SpectacularAutoSchema):
    def get_serializer_name(self, serializer, direction):
        return type(serializer).__qualname__.replace(".", "")

    def get_operation_id(self) -> str:
        words = [token.replace("-", "_") for token in self._tokenize_path()] or ["root"]
        if self.method == "GET":
            verb = "list" if self._is_list_view() else "get"
        elif self.method == "POST":
            verb = "" if self._is_resource_action() else "create"
        else:
            verb = ACTION_METHODS[self.method]
        return "_".join([*words, verb] if verb else words)

    def _is_resource_action(self) -> bool:
        """A POST to /things/{id}/<action>/ of a view that lists nothing: approve, merge, redeem…"""
        parts = [part for part in self.path.strip("/").split("/") if part]
        return (len(parts) >= 2 and not parts[-1].startswith("{") and parts[-2].startswith("{")
                and not hasattr(self.view, "get"))

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" and parameter.get("schema", {}).get("type") == "integer":
                parameter["schema"].setdefault("minimum", 0)  # <int:pk> matches digits only
        responses = operation["responses"]
        error = self.resolve_serializer(error_serializer(), "response").ref
        for code in sorted(self._refusals(operation) | self._declared_refusals(responses)):
            response = responses.setdefault(str(code), {})
            response["description"] = response.get("description") or ERROR_DESCRIPTIONS.get(code, "")
            response.setdefault("content", {"application/json": {"schema": error}})
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _refusals(self, operation: dict) -> set[int]:
        """The refusals every operation of its kind can give."""
        parameters = operation.get("parameters", [])
        refusals = {401, 403}
        if parameters or "requestBody" in operation or self.method != "GET":
            refusals.add(400)
        if any(parameter["in"] == "path" for parameter in parameters):
            refusals.add(404)
        if any(parameter["in"] == "header" and parameter["name"] == "Idempotency-Key" for parameter in parameters):
            refusals |= {400, 422}
        return refusals

    @staticmethod
    def _declared_refusals(responses: dict) -> set[int]:
        return {int(code) for code in responses if code.isdigit() and 400 <= int(code) < 500}

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if not isinstance(schema, dict) or schema.get("type") != "string":
            return schema
        if isinstance(field, serializers.DecimalField) and schema.get("format") == "decimal":
            schema["pattern"] = decimal_pattern(field)
        elif isinstance(field, serializers.TimeField) and schema.get("format") == "time":
            # JSON Schema's `time` wants an offset; the API's times of day are local, "09:00:00".
            del schema["format"]
            schema["pattern"] = TIME_PATTERN
        return schema

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, RefuseUnknownFields):
            schema["additionalProperties"] = False  # unknown fields are refused with 400
        if direction == "response":
            # A model's regex validators speak Python's dialect (\w is any letter), and rows written
            # before a validator existed are answered too: answers carry no pattern but the decimals'.
            for field_schema in schema.get("properties", {}).values():
                if field_schema.get("format") != "decimal":
                    field_schema.pop("pattern", None)
        return schema


def decimal_pattern(field: serializers.DecimalField) -> str:
    """What a DecimalField sent as a string accepts: its digits, its decimal places, and a minus
    sign only if it may be negative."""
    whole = "+" if field.max_whole_digits is None else f"{{1,{max(field.max_whole_digits, 1)}}}"
    sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
    fraction = fr"(?:\.[0-9]{{1,{field.decimal_places}}})?" if field.decimal_places else ""
    return f"^{sign}[0-9]{whole}{fraction}$"

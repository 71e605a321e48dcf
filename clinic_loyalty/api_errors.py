"""One JSON error shape for the whole API:

    {"error": {"code": "validation_error", "message": "…", "fields": {"phone": ["…"]}}}

Messages are translated into the request's language. Domain errors raised by services
(Django's ValidationError and PermissionDenied) get the same shape as DRF's own."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": str(message), "fields": fields or {}}}


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """Field errors as {"field": [...]}, nested ones keyed by path: {"lines.1.quantity": [...]}."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            flat.update(_flatten(value, f"{prefix}{key}."))
        return flat
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        flat = {}
        for index, item in enumerate(detail):
            if item:
                flat.update(_flatten(item, f"{prefix}{index}."))
        return flat
    items = detail if isinstance(detail, list) else [detail]
    return {prefix.rstrip(".") or "non_field_errors": [str(item) for item in items]}


def _from_django_validation_error(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        detail = {("non_field_errors" if key == "__all__" else key): value
                  for key, value in exc.message_dict.items()}
        return exceptions.ValidationError(detail)
    return exceptions.ValidationError({"non_field_errors": exc.messages})


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = _from_django_validation_error(exc)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None

    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        non_field = fields.get("non_field_errors")
        message = non_field[0] if non_field and len(fields) == 1 else _("Please correct the errors below.")
        response.data = error_body("validation_error", message, fields)
    else:
        detail = getattr(exc, "detail", "")
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = error_body(code, str(detail))
    return response


def api_not_found_response() -> Response:
    return Response(error_body("not_found", _("Not found.")), status=status.HTTP_404_NOT_FOUND)

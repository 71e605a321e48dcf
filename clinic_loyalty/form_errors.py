from django import forms
from django.core.exceptions import ValidationError


def apply_validation_error(form: forms.Form, exc: ValidationError,
                           field_names: dict[str, str] | None = None) -> None:
    """Show a service's ValidationError on the form: next to its field where it names one.
    `field_names` maps a service's field names to the form's where they differ."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            field = (field_names or {}).get(name, name)
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)

"""Templates with variables in braces ({name}). Only the variables of the template's purpose are
allowed, and only plain names (no attribute or index access). Times and days are shown in the
clinic's time zone and the message's language, as on the pages (`clinics.formatting`): "Sat 5 Dec
11:00" / "12月5日 周六 11:00", "Thu 31 Dec 2026" / "2026年12月31日 周四"."""

import string
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _

from clinics.context import clinic_zone, current_clinic
from clinics.formatting import day_text, moment_text
from messaging.defaults import sample_variables
from messaging.models import PURPOSE_VARIABLES

_FORMATTER = string.Formatter()


def template_variables(text: str) -> set[str]:
    """The variable names a template text uses; ValidationError if it is not well formed."""
    try:
        return {field for _literal, field, _spec, _conv in _FORMATTER.parse(text) if field is not None}
    except ValueError as exc:
        raise ValidationError(_("The text is not a valid template: %(error)s. Write variables as "
                                "{name}; write a literal brace twice: {{ or }}.") % {"error": exc}) from exc


def template_text_validate(text: str, *, purpose: str) -> None:
    allowed = set(PURPOSE_VARIABLES[purpose])
    unknown = sorted(template_variables(text) - allowed)
    if unknown:
        raise ValidationError(
            _("Unknown variable(s): %(unknown)s. This template may use: %(allowed)s.")
            % {"unknown": ", ".join(unknown), "allowed": ", ".join(sorted(allowed))})


def template_texts_validate(*, purpose: str, body: str, subject: str = "") -> None:
    """Both texts of a template; a ValidationError names the field at fault."""
    errors = {}
    for name, text in (("body", body), ("subject", subject)):
        try:
            template_text_validate(text, purpose=purpose)
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)


def template_preview(*, purpose: str, language: str, body: str, subject: str = "") -> tuple[str, str]:
    """The subject and body as a member would read them, filled in with invented values (and the
    clinic's name); a ValidationError, per field, if a text is not a valid template."""
    template_texts_validate(purpose=purpose, body=body, subject=subject)
    clinic = current_clinic()
    variables = sample_variables(language=language, clinic_name=clinic.name if clinic else "",
                                 zone=clinic_zone())
    return (template_render(subject, variables, language=language),
            template_render(body, variables, language=language))


def variable_display(value: object) -> str:
    if isinstance(value, datetime):
        return moment_text(value)
    if isinstance(value, date):
        return day_text(value)
    return "" if value is None else str(value)


def template_render(text: str, variables: dict[str, object], *, language: str | None = None) -> str:
    """Fill in the variables, times and days in `language` (the active one if None); one the caller
    did not give renders as empty text."""
    with translation.override(language or translation.get_language()):
        values = {name: variable_display(value) for name, value in variables.items()}
    return "".join(
        literal + (values.get(field, "") if field is not None else "")
        for literal, field, _spec, _conv in _FORMATTER.parse(text))

"""Reads of the settings audit log: filtered lists, the changed fields with their labels, the
CSV export."""

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, timedelta

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from accounts.models import User
from audit.models import SettingsChange
from clinics.context import clinic_zone, local_midnight


def object_type_label(object_type: str) -> str:
    """What kind of setting a change is about, in the viewer's language ("Reward", "Tier")."""
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        return object_type
    return capfirst(str(model._meta.verbose_name))


def object_type_choices() -> list[tuple[str, str]]:
    """The kinds of objects the log holds, by label."""
    types = SettingsChange.objects.order_by().values_list("object_type", flat=True).distinct()
    return sorted(((value, object_type_label(value)) for value in types), key=lambda choice: choice[1])


def actor_choices() -> list[tuple[int, str]]:
    ids = SettingsChange.objects.order_by().filter(actor__isnull=False).values_list("actor_id", flat=True).distinct()
    return [(user.pk, user.get_full_name() or user.username)
            for user in User.objects.filter(pk__in=ids).order_by("full_name", "username")]


def settings_change_days_errors(*, since: date | None, until: date | None) -> dict[str, list[str]]:
    if since and until and until < since:
        return {"until": [_("The last day cannot be before the first.")]}
    return {}


def settings_change_list(*, actor_id: int | None = None, object_type: str = "", object_id: str = "",
                         since: date | None = None, until: date | None = None) -> QuerySet[SettingsChange]:
    """Changes, newest first; `since` and `until` are days in the clinic's time zone, both included."""
    conditions = {"actor_id": actor_id, "object_type": object_type, "object_id": object_id,
                  "at__gte": since and local_midnight(since),
                  "at__lt": until and local_midnight(until + timedelta(days=1))}
    return (SettingsChange.objects.select_related("actor").order_by("-at", "-id")
            .filter(**{name: value for name, value in conditions.items() if value}))


@dataclass(frozen=True)
class FieldChange:
    name: str
    label: str
    before: object
    after: object


def _field_label(object_type: str, name: str) -> str:
    try:
        return capfirst(str(apps.get_model(object_type)._meta.get_field(name).verbose_name))
    except (LookupError, ValueError, FieldDoesNotExist):
        return name.replace("_", " ").capitalize()


def change_fields(change: SettingsChange) -> list[FieldChange]:
    """The fields a change touched, with their labels and values before and after (None where a
    creation or deletion has no side)."""
    names = sorted(change.before.keys() | change.after.keys())
    return [FieldChange(name=name, label=_field_label(change.object_type, name),
                        before=change.before.get(name), after=change.after.get(name)) for name in names]


def _value_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


CSV_HEADERS = ("time", "actor", "action", "object_type", "object_id", "object", "field", "before", "after")


def settings_changes_csv(changes: QuerySet[SettingsChange]) -> bytes:
    """One row per changed field, times in the clinic's time zone; UTF-8 with a byte-order mark so
    spreadsheet programs read Chinese text right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("Time"), _("By"), _("Action"), _("Setting"), _("Id"), _("Object"), _("Field"),
                     _("Before"), _("After")])
    zone = clinic_zone()
    for change in changes.iterator(chunk_size=500):
        at = timezone.localtime(change.at, zone).strftime("%Y-%m-%d %H:%M:%S")
        actor = change.actor_name or _("System")
        for field in change_fields(change) or [FieldChange("", "", None, None)]:
            writer.writerow([at, actor, change.get_action_display(), object_type_label(change.object_type),
                             change.object_id, change.object_repr, field.label, _value_text(field.before),
                             _value_text(field.after)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")

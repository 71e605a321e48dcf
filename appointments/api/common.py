"""What the appointments API modules share: the permissions, the clinic-time fields and the
date-range check."""

from datetime import UTC

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

from accounts.api import has_perm
from clinics.context import clinic_zone

FrontDesk = has_perm("accounts.use_frontdesk")
ManageSettings = has_perm("accounts.manage_settings")
ManageSchedule = has_perm("appointments.manage_schedule")
Book = has_perm("appointments.book_appointment")
Attend = has_perm("appointments.attend_appointment")

MAX_RANGE_DAYS = 31


class ClinicDateTimeField(serializers.DateTimeField):
    """Accepts ISO 8601; a time without an offset is read in the clinic's time zone. Answers in UTC."""

    def default_timezone(self):
        return clinic_zone()

    def to_representation(self, value):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


class LocalTimeField(serializers.DateTimeField):
    """The same instant in the clinic's time zone, for display."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return timezone.localtime(value, clinic_zone()).isoformat()


def write_permissions(view, write):
    return [write() if view.request.method not in ("GET", "HEAD", "OPTIONS") else FrontDesk()]

def check_range(data: dict) -> None:
    if data["end"] < data["start"]:
        raise serializers.ValidationError({"end": _("The end date must not be before the start date.")})
    if (data["end"] - data["start"]).days >= MAX_RANGE_DAYS:
        raise serializers.ValidationError({"end": _("Ask for at most %(days)s days at a time.")
                                           % {"days": MAX_RANGE_DAYS}})

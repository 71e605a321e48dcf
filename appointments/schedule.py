"""Writes to what can be booked: locations, room and device types, rooms and devices,
practitioners and the treatments they perform, working hours, exceptions, the resources a
treatment needs, and the clinic's booking policy and reminder plan."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from appointments.models import (
    AppointmentPolicy,
    Booking,
    Location,
    Practitioner,
    Resource,
    ResourceType,
    ScheduleException,
    TreatmentRequirement,
    WorkingHours,
)
from appointments.selectors import exception_overlapping_bookings
from audit.services import settings_update
from clinics.formatting import stamp_text
from visits.models import CatalogueItem

DEFAULT_REMINDER_MINUTES = [24 * 60, 2 * 60]


def appointment_policy() -> AppointmentPolicy:
    """The clinic's policy row (installed at provisioning), or the defaults, unsaved."""
    return AppointmentPolicy.objects.filter(pk=1).first() or AppointmentPolicy(
        pk=1, reminder_minutes=list(DEFAULT_REMINDER_MINUTES))


def appointment_defaults_install() -> AppointmentPolicy:
    """The default booking policy and reminder plan (24 h and 2 h before). Idempotent."""
    policy, _created = AppointmentPolicy.objects.get_or_create(
        pk=1, defaults={"reminder_minutes": list(DEFAULT_REMINDER_MINUTES)})
    return policy


def online_window_open(starts_at: datetime, hours: int, now: datetime) -> bool:
    """Whether a member may still change an appointment starting at `starts_at` online: until
    `hours` (the cancellation or reschedule window) before it."""
    return now <= starts_at - timedelta(hours=hours)


POLICY_FIELDS = tuple(field.name for field in AppointmentPolicy._meta.concrete_fields if field.name != "id")


@transaction.atomic
def appointment_policy_update(*, actor: User | None, **changes) -> AppointmentPolicy:
    policy = appointment_defaults_install()
    policy = AppointmentPolicy.objects.select_for_update().get(pk=policy.pk)
    return settings_update(actor=actor, obj=policy, changes=changes, fields=POLICY_FIELDS,
                           validate=_reminder_minutes_check)


def _reminder_minutes_check(policy: AppointmentPolicy) -> None:
    minutes = policy.reminder_minutes or []
    if any(m <= 0 for m in minutes) or len(set(minutes)) != len(minutes):
        raise ValidationError({"reminder_minutes": _(
            "Give each reminder once, as minutes before the start (more than 0).")})
    policy.reminder_minutes = sorted(minutes, reverse=True)


def _clean_save(obj):
    obj.full_clean()
    obj.save()
    return obj


def location_create(*, name: str, address: str = "", active: bool = True) -> Location:
    return _clean_save(Location(name=name.strip(), address=address.strip(), active=active))


def location_update(*, location: Location, **changes) -> Location:
    for field in ("name", "address", "active"):
        if field in changes:
            setattr(location, field, changes[field])
    return _clean_save(location)


def resource_type_create(*, name: str, kind: str) -> ResourceType:
    return _clean_save(ResourceType(name=name.strip(), kind=kind))


def resource_create(*, location: Location, resource_type: ResourceType, name: str, active: bool = True) -> Resource:
    return _clean_save(Resource(location=location, resource_type=resource_type, name=name.strip(), active=active))


def resource_update(*, resource: Resource, **changes) -> Resource:
    for field in ("name", "active"):
        if field in changes:
            setattr(resource, field, changes[field])
    return _clean_save(resource)


def _check_treatments(treatments) -> list[CatalogueItem]:
    treatments = list(treatments)
    if any(item.kind != CatalogueItem.Kind.TREATMENT for item in treatments):
        raise ValidationError({"treatments": _("Only treatments can be performed; products cannot.")})
    return treatments


@transaction.atomic
def practitioner_create(*, user: User, treatments=(), display_name: str = "",
                        actor: User | None = None) -> Practitioner:
    """Make a staff account bookable, with the treatments it may perform."""
    if not user.is_active:
        raise ValidationError({"user": _("This staff account is deactivated.")})
    if Practitioner.objects.filter(user=user).exists():
        raise ValidationError({"user": _("This staff member is already a practitioner.")})
    practitioner = _clean_save(Practitioner(user=user, display_name=display_name.strip()))
    practitioner.treatments.set(_check_treatments(treatments))
    return practitioner


@transaction.atomic
def practitioner_update(*, practitioner: Practitioner, treatments=None, actor: User | None = None,
                        **changes) -> Practitioner:
    for field in ("display_name", "active"):
        if field in changes:
            setattr(practitioner, field, changes[field])
    _clean_save(practitioner)
    if treatments is not None:
        practitioner.treatments.set(_check_treatments(treatments))
    return practitioner


@dataclass(frozen=True)
class Period:
    location_id: int
    weekday: int
    starts: time
    ends: time


@transaction.atomic
def working_hours_set(*, practitioner: Practitioner, periods: list[Period],
                      actor: User | None = None) -> list[WorkingHours]:
    """Replace the practitioner's weekly hours. Periods on the same weekday may not overlap,
    even at different locations."""
    rows = []
    by_day: dict[int, list[Period]] = {}
    for index, period in enumerate(periods):
        if not 0 <= period.weekday <= 6:
            raise ValidationError({f"periods.{index}.weekday": _("The weekday is 0 (Monday) to 6 (Sunday).")})
        if period.ends <= period.starts:
            raise ValidationError({f"periods.{index}.ends": _("The end must be after the start.")})
        if not Location.objects.filter(pk=period.location_id, active=True).exists():
            raise ValidationError({f"periods.{index}.location": _("No such location.")})
        for other in by_day.get(period.weekday, []):
            if period.starts < other.ends and other.starts < period.ends:
                raise ValidationError({f"periods.{index}.starts": _("This period overlaps another on the same day.")})
        by_day.setdefault(period.weekday, []).append(period)
        rows.append(WorkingHours(practitioner=practitioner, location_id=period.location_id, weekday=period.weekday,
                                 starts=period.starts, ends=period.ends))
    WorkingHours.objects.filter(practitioner=practitioner).delete()
    return WorkingHours.objects.bulk_create(rows)


class ExceptionOverlapsBookings(ValidationError):
    """The exception would fall on active bookings. They are never moved or cancelled by it, so
    it is recorded only once the caller confirms (`overlaps_confirmed=True`); `bookings` lists
    them."""

    def __init__(self, bookings: list[Booking]):
        self.bookings = bookings
        super().__init__(ngettext(
            "%(count)s appointment is booked in this time. It stays booked: move or cancel it, "
            "or confirm to record the exception anyway.",
            "%(count)s appointments are booked in this time. They stay booked: move or cancel them, "
            "or confirm to record the exception anyway.", len(bookings)) % {"count": len(bookings)},
            code="overlaps_bookings")


def schedule_exceptions_lock(*, for_exception: bool) -> None:
    """Bookings and new exceptions keep out of each other's way until commit. A booking takes
    the exceptions table in SHARE mode before it looks for a free slot (bookings do not block
    each other); a new exception takes it in SHARE ROW EXCLUSIVE mode before it looks for the
    bookings it would fall on, so it waits for bookings being made and no booking can slip into
    its time before it is saved; new exceptions also queue behind one another. The table is the
    clinic's own, so clinics never wait for each other."""
    mode = "SHARE ROW EXCLUSIVE" if for_exception else "SHARE"
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {connection.ops.quote_name(ScheduleException._meta.db_table)} IN {mode} MODE")


def _same_target_exceptions(exception: ScheduleException):
    """Exceptions of the same practitioner, room or device, or location (or the whole clinic)
    whose time overlaps `exception`'s."""
    return ScheduleException.objects.filter(
        practitioner_id=exception.practitioner_id, resource_id=exception.resource_id,
        location_id=exception.location_id, starts_at__lt=exception.ends_at, ends_at__gt=exception.starts_at,
    ).order_by("starts_at")


@transaction.atomic
def schedule_exception_create(*, kind: str, starts_at: datetime, ends_at: datetime, actor: User | None,
                              practitioner: Practitioner | None = None, location: Location | None = None,
                              resource: Resource | None = None, reason: str = "",
                              overlaps_confirmed: bool = False,
                              confirmed_bookings: Collection[int] | None = None) -> ScheduleException:
    """Block time: leave (a practitioner), a public holiday or closure (a location or the whole
    clinic), or a room or device out of service. From then on availability offers nothing in it.
    Existing bookings are kept; the front desk sees them in the calendar and moves them. When
    active bookings fall in the time, the exception is refused (ExceptionOverlapsBookings, with
    the bookings) unless `overlaps_confirmed`; with `confirmed_bookings` (the ids listed to the
    person confirming), a booking made since then refuses it again, listed with the others.
    An exception overlapping another of the same practitioner, room or device, or location is
    refused: change the other one instead. Bookings cannot be made meanwhile
    (`schedule_exceptions_lock`)."""
    if kind not in ScheduleException.Kind.values:
        raise ValidationError({"kind": _("Choose what kind of exception this is.")})
    if kind == ScheduleException.Kind.LEAVE and practitioner is None:
        raise ValidationError({"practitioner": _("Say whose leave this is.")})
    if kind == ScheduleException.Kind.MAINTENANCE and resource is None:
        raise ValidationError({"resource": _("Say which room or device is out of service.")})
    if kind in (ScheduleException.Kind.HOLIDAY, ScheduleException.Kind.CLOSURE) and (practitioner or resource):
        raise ValidationError({"kind": _("A holiday or closure applies to a location or the whole clinic.")})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": _("The end must be after the start.")})
    exception = ScheduleException(kind=kind, starts_at=starts_at, ends_at=ends_at, practitioner=practitioner,
                                  location=location, resource=resource, reason=reason.strip(), created_by=actor)
    exception.full_clean()
    schedule_exceptions_lock(for_exception=True)
    other = _same_target_exceptions(exception).first()
    if other is not None:
        raise ValidationError({"starts_at": ValidationError(_(
            "This overlaps the %(kind)s from %(start)s to %(end)s of the same %(target)s; change that one "
            "instead.") % {"kind": other.get_kind_display(), "start": _local_text(other.starts_at),
                            "end": _local_text(other.ends_at), "target": _target_word(other)},
            code="overlaps_exception")})
    overlapping = list(exception_overlapping_bookings(
        starts_at=starts_at, ends_at=ends_at, practitioner_id=exception.practitioner_id,
        location_id=exception.location_id, resource_id=exception.resource_id))
    unconfirmed = [booking for booking in overlapping
                   if confirmed_bookings is not None and booking.pk not in set(confirmed_bookings)]
    if overlapping and (not overlaps_confirmed or unconfirmed):
        raise ExceptionOverlapsBookings(overlapping)
    exception.save()
    return exception


def _local_text(at: datetime) -> str:
    return stamp_text(at)


def _target_word(exception: ScheduleException) -> str:
    if exception.practitioner_id:
        return _("practitioner")
    if exception.resource_id:
        return _("room or device")
    if exception.location_id:
        return _("location")
    return _("clinic")


@transaction.atomic
def schedule_exception_delete(*, exception: ScheduleException, actor: User | None) -> None:
    """Remove an exception; its time can be booked again at once."""
    exception.delete()


@transaction.atomic
def treatment_requirements_set(*, treatment: CatalogueItem,
                               resource_types: list[ResourceType]) -> list[TreatmentRequirement]:
    """The room type and/or device type a treatment needs (at most one of each)."""
    if treatment.kind != CatalogueItem.Kind.TREATMENT:
        raise ValidationError({"treatment": _("Only treatments need rooms or devices.")})
    kinds = [resource_type.kind for resource_type in resource_types]
    if len(set(kinds)) != len(kinds):
        raise ValidationError({"resource_types": _("A treatment needs at most one room type and one device type.")})
    TreatmentRequirement.objects.filter(treatment=treatment).delete()
    return TreatmentRequirement.objects.bulk_create(
        [TreatmentRequirement(treatment=treatment, resource_type=resource_type, kind=resource_type.kind)
         for resource_type in resource_types])


def deposit_default() -> Decimal:
    return appointment_policy().deposit_amount

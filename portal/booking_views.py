"""The member's appointments: upcoming and past, booking online, moving and cancelling within
the clinic's policy, and a calendar file. Free times come from the availability engine through
`appointments.online`; every change goes through the booking services the front desk uses, as
the member (`by_member=True`), which apply the policy again and record the portal as the channel."""

from datetime import date, datetime, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from appointments.ics import booking_ics
from appointments.models import Practitioner
from appointments.online import (
    member_booking_changes,
    member_booking_get,
    member_bookings,
    online_slots,
    online_window,
    treatments_bookable_online,
)
from appointments.schedule import appointment_policy
from appointments.services import SlotUnavailable, booking_cancel, booking_create, booking_reschedule
from clinics.context import clinic_host, current_clinic
from idempotency.forms import FIELD_NAME, idempotency_key_new, submit_once
from portal.auth import member_required
from portal.mall_views import member_form_scope

DAYS_SHOWN = 14


def _context(request, **extra) -> dict:
    return {"tz": current_clinic().zone, "key_name": FIELD_NAME, "key": idempotency_key_new(), **extra}


def _booking_or_404(request, pk: int):
    booking = member_booking_get(member=request.member, pk=pk)
    if booking is None:
        raise Http404
    return booking


@member_required
def appointments(request):
    return render(request, "portal/appointments.html", _context(
        request, mine=member_bookings(member=request.member), can_book=treatments_bookable_online().exists()))


@member_required
def appointment(request, pk: int):
    booking = _booking_or_404(request, pk)
    policy = appointment_policy()
    return render(request, "portal/appointment.html", _context(
        request, item=member_booking_changes(booking, policy=policy), policy=policy))


def _days(request, window) -> tuple[date, list[date], date | None, date | None]:
    """The chosen day (from `?day=`, kept inside the online window) and the page of days around it."""
    try:
        day = date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        day = window.first_day
    day = min(max(day, window.first_day), window.last_day)
    start = window.first_day + timedelta(days=(day - window.first_day).days // DAYS_SHOWN * DAYS_SHOWN)
    days = [start + timedelta(days=n) for n in range(DAYS_SHOWN)]
    previous = start - timedelta(days=DAYS_SHOWN) if start > window.first_day else None
    following = start + timedelta(days=DAYS_SHOWN) if start + timedelta(days=DAYS_SHOWN) <= window.last_day else None
    return day, days, previous, following


def _starts_at(request) -> datetime | None:
    value = parse_datetime(request.POST.get("starts_at", ""))
    return value if value is not None and value.tzinfo is not None else None


def _slot_page(request, *, template_context: dict, treatment, practitioner_id: int | None,
               exclude_booking_id: int | None, perform, success_message: str, status: int = 200):
    """The day picker with its free times, and the POST of one of them through `perform`."""
    window = online_window()
    day, days, previous, following = _days(request, window)
    error, alternatives = "", []
    if request.method == "POST":
        starts_at = _starts_at(request)
        if starts_at is None:
            error, status = _("Choose one of the times shown."), 400
        else:
            try:
                submission = submit_once(request, lambda: perform(starts_at), scope=member_form_scope(request))
            except SlotUnavailable as exc:
                error, alternatives, status = exc.message, exc.alternatives, 409
            except ValidationError as exc:
                error, status = " ".join(exc.messages), 400
            except PermissionDenied as exc:
                error, status = str(exc), 403
            else:
                messages.success(request, success_message if not submission.replayed
                                 else _("This had already been sent; it was done once."))
                return redirect(submission.location)
    slots = online_slots(treatment=treatment, day=day, practitioner_id=practitioner_id,
                         exclude_booking_id=exclude_booking_id)
    return render(request, "portal/book.html", _context(
        request, treatment=treatment, day=day, days=days, window=window, previous=previous, following=following,
        slots=slots, alternatives=alternatives, error=error, **template_context), status=status)


@member_required
@require_http_methods(["GET", "POST"])
def book(request):
    treatments = treatments_bookable_online()
    chosen = request.POST.get("treatment") or request.GET.get("treatment")
    if not chosen:
        return render(request, "portal/book_treatments.html", _context(request, treatments=treatments))
    treatment = treatments.filter(pk=chosen).first() if chosen.isdigit() else None
    if treatment is None:
        raise Http404
    practitioners = list(Practitioner.objects.filter(active=True, treatments=treatment).select_related("user"))
    wanted = request.POST.get("practitioner") or request.GET.get("practitioner") or ""
    practitioner = next((p for p in practitioners if str(p.pk) == wanted), None)

    def perform(starts_at: datetime) -> str:
        booking = booking_create(member=request.member, treatment=treatment, starts_at=starts_at, actor=None,
                                 practitioner=practitioner, by_member=True)
        return reverse("portal:appointment", args=[booking.pk])

    return _slot_page(request, treatment=treatment, practitioner_id=practitioner.pk if practitioner else None,
                      exclude_booking_id=None, perform=perform, success_message=_("Booked. See you then!"),
                      template_context={"mode": "book", "practitioners": practitioners,
                                        "practitioner": practitioner, "deposit": appointment_policy().deposit_amount})


@member_required
@require_http_methods(["GET", "POST"])
def reschedule(request, pk: int):
    booking = _booking_or_404(request, pk)
    if not member_booking_changes(booking).can_reschedule:
        messages.error(request, _("This appointment can no longer be moved online; please call the clinic."))
        return redirect("portal:appointment", pk=booking.pk)

    def perform(starts_at: datetime) -> str:
        booking_reschedule(booking=booking, starts_at=starts_at, actor=None, by_member=True)
        return reverse("portal:appointment", args=[booking.pk])

    return _slot_page(request, treatment=booking.treatment, practitioner_id=booking.practitioner_id,
                      exclude_booking_id=booking.pk, perform=perform,
                      success_message=_("Your appointment has been moved."),
                      template_context={"mode": "reschedule", "booking": booking})


@member_required
@require_POST
def cancel(request, pk: int):
    booking = _booking_or_404(request, pk)

    def perform() -> str:
        booking_cancel(booking=booking, actor=None, reason=request.POST.get("reason", "")[:255], by_member=True)
        return reverse("portal:appointments")

    try:
        submission = submit_once(request, perform, scope=member_form_scope(request))
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
        return redirect("portal:appointment", pk=booking.pk)
    messages.success(request, _("Your appointment has been cancelled."))
    return redirect(submission.location)


@member_required
def appointment_ics(request, pk: int):
    booking = _booking_or_404(request, pk)
    clinic = current_clinic()
    response = HttpResponse(booking_ics(booking, clinic_name=clinic.name, host=clinic_host(clinic)),
                            content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="appointment-{booking.pk}.ics"'
    return response

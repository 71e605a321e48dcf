"""The schedule exceptions page for owners and managers: record a practitioner's leave, a room or
device out of service, a holiday or a closure, see the upcoming ones with the appointments they
fall on, and remove one. The views call the appointments schedule services through
`submit_once`."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from appointments.models import ScheduleException
from appointments.schedule import ExceptionOverlapsBookings, schedule_exception_create, schedule_exception_delete
from appointments.selectors import exceptions_upcoming
from clinic_loyalty.form_errors import apply_validation_error
from frontdesk.base_views import StaffPermissionRequired, _after
from frontdesk.booking_forms import ScheduleExceptionForm
from idempotency.forms import idempotency_key_new, submit_once
from points.rules import clinic_zone


class ScheduleExceptionsView(StaffPermissionRequired, View):
    permission_required = "appointments.manage_schedule"
    template = "frontdesk/appointments/exceptions.html"

    def _render(self, request, form, *, overlapping=(), status=200):
        rows = [(exception, idempotency_key_new()) for exception in exceptions_upcoming()]
        return render(request, self.template, {"form": form, "rows": rows, "overlapping": overlapping,
                                               "tz": clinic_zone()}, status=status)

    def get(self, request):
        return self._render(request, ScheduleExceptionForm())

    def post(self, request):
        form = ScheduleExceptionForm(request.POST)
        overlapping = []
        if form.is_valid():
            data = form.cleaned_data

            def create() -> str:
                exception = schedule_exception_create(
                    kind=data["kind"], starts_at=data["starts_at"], ends_at=data["ends_at"], reason=data["reason"],
                    practitioner=data["practitioner"], resource=data["resource"], location=data["location"],
                    overlaps_confirmed=data["overlaps_confirmed"], confirmed_bookings=data["confirmed_bookings"],
                    actor=request.user)
                return f"{reverse('frontdesk:schedule_exceptions')}#exception-{exception.pk}"

            try:
                submission = submit_once(request, create)
            except ExceptionOverlapsBookings as exc:
                form.add_error("overlaps_confirmed", exc.messages)
                overlapping = exc.bookings
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                return _after(request, submission, _("Exception recorded; nothing can be booked in its time."))
        return self._render(request, form, overlapping=overlapping, status=400)


class ScheduleExceptionDeleteView(StaffPermissionRequired, View):
    permission_required = "appointments.manage_schedule"

    def post(self, request, pk: int):
        def remove() -> str:
            schedule_exception_delete(exception=get_object_or_404(ScheduleException, pk=pk), actor=request.user)
            return reverse("frontdesk:schedule_exceptions")

        return _after(request, submit_once(request, remove), _("Exception removed; its time can be booked again."))

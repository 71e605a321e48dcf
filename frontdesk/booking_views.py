"""The appointment pages: book and reschedule with the slot picker, cancel, the day and week
calendars, the booking page with its actions and its deposit, and the checkout of a booking. Each
view checks the role, validates the form and calls one appointments service; every form goes
through `submit_once`."""

from datetime import date, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views import View

from appointments.models import Booking, Location, Practitioner
from appointments.services import (
    SlotUnavailable,
    booking_cancel,
    booking_check_in,
    booking_complete,
    booking_confirm,
    booking_create,
    booking_deposit_record,
    booking_no_show,
    booking_reschedule,
)
from clinic_loyalty.form_errors import apply_validation_error
from frontdesk.appointment_selectors import (
    alternatives_offered,
    booking_page,
    calendar_subjects,
    day_grid,
    slots_offered,
    week_days,
)
from frontdesk.base_views import SEARCH_LIMIT, StaffPermissionRequired, _after, form_submitted
from frontdesk.booking_forms import (
    BookingActionForm,
    BookingForm,
    CancelForm,
    DepositForm,
    RescheduleForm,
    SlotSearchForm,
)
from idempotency.forms import idempotency_key_new, submit_once
from members.models import Member
from members.selectors import member_search
from points.rules import clinic_zone, local_date

SERVICE_FIELDS = {"starts_at": "slot", "member": None}


# Calendar dates outside these are taken as today: the pages step a week either side.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 24)


def _parse_day(value: str | None) -> date:
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        day = None
    return day if day is not None and FIRST_DAY <= day <= LAST_DAY else local_date(timezone.now())


def _booking(pk: int) -> Booking:
    return get_object_or_404(Booking.objects.select_related("member", "treatment", "practitioner__user"), pk=pk)


def _practitioner(practitioner_id: int) -> Practitioner:
    practitioner = Practitioner.objects.filter(pk=practitioner_id, active=True).first()
    if practitioner is None:
        raise ValidationError({"slot": _("Choose one of the free times.")})
    return practitioner


class SlotsView(StaffPermissionRequired, View):
    """The slot picker's list of free times, asked by HTMX whenever the treatment, practitioner,
    location or date changes."""

    def get(self, request):
        booking = None
        data = request.GET.copy()
        if request.GET.get("booking"):
            try:
                booking = Booking.objects.select_related("treatment").get(pk=int(request.GET["booking"]))
            except (Booking.DoesNotExist, ValueError):
                raise Http404 from None
            data["treatment"] = str(booking.treatment_id)
        form = SlotSearchForm(data)
        slots, chosen = [], request.GET.get("slot", "")
        if form.is_valid():
            search = form.cleaned_data
            slots = slots_offered(treatment=search["treatment"], day=search["day"],
                                  practitioner_id=search["practitioner"].pk if search["practitioner"] else None,
                                  location_id=search["location"].pk if search["location"] else None,
                                  exclude_booking_id=booking.pk if booking else None)
        return render(request, "frontdesk/appointments/_slots.html",
                      {"slots": slots, "search": form, "chosen": chosen, "tz": clinic_zone()})


class BookView(StaffPermissionRequired, View):
    """Book an appointment for a member: treatment, optional practitioner and location, a date,
    then one of the free times."""

    permission_required = "appointments.book_appointment"
    template = "frontdesk/appointments/book.html"

    def _member(self, request) -> Member | None:
        try:
            pk = int(request.GET.get("member") or request.POST.get("member") or 0)
        except ValueError:
            pk = 0
        return get_object_or_404(Member, pk=pk) if pk else None

    def _render(self, request, member, form, *, alternatives=(), status=200):
        fields = [form[name] for name in ("treatment", "practitioner", "location", "day")]
        return render(request, self.template, {"member": member, "form": form, "alternatives": alternatives,
                                               "search_fields": fields, "tz": clinic_zone()}, status=status)

    def get(self, request):
        member = self._member(request)
        if member is None:
            query = request.GET.get("q", "").strip()[:100]
            results = member_search(query=query, limit=SEARCH_LIMIT) if query else []
            return render(request, "frontdesk/appointments/book_pick_member.html",
                          {"query": query, "results": results})
        initial = {"day": _parse_day(request.GET.get("day"))}
        for name in ("treatment", "practitioner", "location"):
            if request.GET.get(name):
                initial[name] = request.GET[name]
        return self._render(request, member, BookingForm(initial=initial))

    def post(self, request):
        member = self._member(request)
        if member is None:
            raise Http404
        form = BookingForm(request.POST)
        alternatives = []
        if form.is_valid():
            data = form.cleaned_data
            starts_at, practitioner_id = data["slot"]

            def book() -> str:
                booking = booking_create(member=member, treatment=data["treatment"], starts_at=starts_at,
                                         practitioner=_practitioner(practitioner_id), location=data["location"],
                                         actor=request.user, notes=data["notes"])
                return reverse("frontdesk:booking_detail", args=[booking.pk])

            response, alternatives = _slot_submit(request, form, book, _("Appointment booked."))
            if response is not None:
                return response
        return self._render(request, member, form, alternatives=alternatives, status=409 if alternatives else 400)


def _slot_submit(request, form, action, done_message):
    """Run a booking or a move once; on refusal, put the error on the form. Returns the redirect,
    or None and the nearest free times offered when the slot was taken meanwhile."""
    try:
        return _after(request, submit_once(request, action), done_message), []
    except SlotUnavailable as exc:
        form.add_error("slot", exc.message)
        return None, alternatives_offered(exc.alternatives)
    except ValidationError as exc:
        apply_validation_error(form, exc, SERVICE_FIELDS)
        return None, []


class RescheduleView(StaffPermissionRequired, View):
    permission_required = "appointments.book_appointment"
    template = "frontdesk/appointments/reschedule.html"

    def _render(self, request, booking, form, *, alternatives=(), status=200):
        fields = [form[name] for name in ("practitioner", "day")]
        return render(request, self.template, {"booking": booking, "form": form, "alternatives": alternatives,
                                               "search_fields": fields, "tz": clinic_zone()}, status=status)

    def get(self, request, pk: int):
        booking = _booking(pk)
        form = RescheduleForm(initial={"day": local_date(booking.starts_at), "practitioner": booking.practitioner_id})
        return self._render(request, booking, form)

    def post(self, request, pk: int):
        booking = _booking(pk)
        form = RescheduleForm(request.POST)
        alternatives = []
        if form.is_valid():
            data = form.cleaned_data
            starts_at, practitioner_id = data["slot"]

            def move() -> str:
                booking_reschedule(booking=booking, starts_at=starts_at, practitioner=_practitioner(practitioner_id),
                                   actor=request.user, reason=data["reason"])
                return reverse("frontdesk:booking_detail", args=[booking.pk])

            response, alternatives = _slot_submit(request, form, move, _("Appointment moved."))
            if response is not None:
                return response
        return self._render(request, booking, form, alternatives=alternatives, status=409 if alternatives else 400)


class CancelView(StaffPermissionRequired, View):
    permission_required = "appointments.book_appointment"
    template = "frontdesk/appointments/cancel.html"

    def _render(self, request, pk, form, *, status=200):
        return render(request, self.template, {"page": booking_page(booking_id=pk), "form": form,
                                               "tz": clinic_zone()}, status=status)

    def get(self, request, pk: int):
        _booking(pk)
        return self._render(request, pk, CancelForm())

    def post(self, request, pk: int):
        booking = _booking(pk)
        form = CancelForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data

            def cancel() -> str:
                done = booking_cancel(booking=booking, actor=request.user, reason=data["reason"], party=data["party"])
                if done.late_cancellation:
                    messages.warning(request, _("Cancelled late: the member cancelled after the clinic's window."))
                return reverse("frontdesk:booking_detail", args=[booking.pk])

            if response := form_submitted(request, form, cancel, _("Appointment cancelled.")):
                return response
        return self._render(request, pk, form, status=400)


def _actions(booking: Booking, user) -> list[tuple[str, str, str]]:
    """The status changes this user may make on this booking now."""
    if not user.has_perm("appointments.attend_appointment"):
        return []
    allowed = {Booking.Status.BOOKED: ["confirm", "check_in", "no_show"],
               Booking.Status.CONFIRMED: ["check_in", "no_show"],
               Booking.Status.CHECKED_IN: ["complete"]}.get(booking.status, [])
    if booking.starts_at > timezone.now() and "no_show" in allowed:
        allowed.remove("no_show")
    labels = dict(BookingActionForm.ACTIONS)
    return [(action, labels[action], idempotency_key_new()) for action in allowed]


class BookingDetailView(StaffPermissionRequired, View):
    """One appointment: details, history, and the actions its status and the user's role allow."""

    template = "frontdesk/appointments/detail.html"

    def _render(self, request, pk: int, *, error: str | None = None, deposit_form: DepositForm | None = None,
                status: int = 200):
        try:
            page = booking_page(booking_id=pk)
        except Booking.DoesNotExist:
            raise Http404 from None
        booking = page.booking
        can_book = request.user.has_perm("appointments.book_appointment")
        if deposit_form is None and can_book and booking.is_active and booking.deposit_recorded_at is None:
            deposit_form = DepositForm(initial={"amount": booking.deposit_amount or None})
        context = {"page": page, "booking": booking, "actions": _actions(booking, request.user),
                   "can_change": can_book and booking.status in (Booking.Status.BOOKED, Booking.Status.CONFIRMED),
                   "can_checkout": booking.status in (Booking.Status.CHECKED_IN, Booking.Status.COMPLETED)
                   and booking.visit_id is None,
                   "deposit_form": deposit_form, "error": error, "tz": clinic_zone()}
        return render(request, self.template, context, status=status)

    def get(self, request, pk: int):
        return self._render(request, pk)


class DepositView(StaffPermissionRequired, View):
    """Record the deposit taken for an appointment (amount and payment method); the checkout of
    the appointment then counts it as a payment."""

    permission_required = "appointments.book_appointment"

    def post(self, request, pk: int):
        booking = _booking(pk)
        form = DepositForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data

            def record() -> str:
                booking_deposit_record(booking=booking, amount=data["amount"], method=data["method"],
                                       actor=request.user)
                return reverse("frontdesk:booking_detail", args=[booking.pk])

            if response := form_submitted(request, form, record, _("Deposit recorded.")):
                return response
        form.fields["amount"].widget.attrs["autofocus"] = True
        return BookingDetailView()._render(request, pk, deposit_form=form, status=400)


ACTION_SERVICES = {"confirm": booking_confirm, "check_in": booking_check_in, "complete": booking_complete,
                   "no_show": booking_no_show}


class BookingActionView(StaffPermissionRequired, View):
    """Confirm, check in, complete (then on to the checkout) or record a no-show."""

    permission_required = "appointments.attend_appointment"

    def post(self, request, pk: int):
        booking = _booking(pk)
        form = BookingActionForm(request.POST)
        if not form.is_valid():
            return BookingDetailView()._render(request, pk, error=_("Choose an action."), status=400)
        action, back = form.cleaned_data["action"], form.cleaned_data["next"]
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            back = ""

        def act() -> str:
            ACTION_SERVICES[action](booking=booking, actor=request.user)
            if action == "complete":
                checkout = reverse("frontdesk:checkout", args=[booking.member_id])
                return f"{checkout}?{urlencode({'booking': booking.pk})}"
            return back or reverse("frontdesk:booking_detail", args=[booking.pk])

        done = {"confirm": _("Appointment confirmed."), "check_in": _("%(name)s is checked in.") % {
            "name": booking.member.name}, "complete": _("Appointment completed; check the visit out."),
            "no_show": _("Recorded as a no-show.")}
        try:
            return _after(request, submit_once(request, act), done[action])
        except ValidationError as exc:
            return BookingDetailView()._render(request, pk, error=" ".join(exc.messages), status=400)


class DayCalendarView(StaffPermissionRequired, View):
    """The day calendar: one column per practitioner or per room and device, with date navigation."""

    def get(self, request):
        day = _parse_day(request.GET.get("date"))
        by = "resource" if request.GET.get("by") == "resource" else "practitioner"
        locations = list(Location.objects.filter(active=True).order_by("name"))
        location_id = None
        try:
            location_id = int(request.GET["location"]) if request.GET.get("location") else None
        except ValueError:
            location_id = None
        if location_id is not None and location_id not in {loc.pk for loc in locations}:
            location_id = None
        grid = day_grid(day=day, by=by, location_id=location_id)
        context = {"grid": grid, "day": day, "by": by, "locations": locations, "location_id": location_id,
                   "previous": day - timedelta(days=1), "next": day + timedelta(days=1),
                   "today": local_date(timezone.now()), "tz": clinic_zone()}
        return render(request, "frontdesk/appointments/calendar.html", context)


class WeekCalendarView(StaffPermissionRequired, View):
    """The week calendar of one practitioner, room or device (`of`, the first practitioner by
    default): seven day columns with the bookings in time order, with week navigation."""

    def get(self, request):
        day = _parse_day(request.GET.get("date"))
        monday = day - timedelta(days=day.weekday())
        subjects = calendar_subjects()
        subject = next((s for s in subjects if s.key == request.GET.get("of")), subjects[0] if subjects else None)
        days = week_days(day=monday, subject=subject) if subject else []
        context = {"subject": subject, "subjects": subjects, "days": days, "day": day, "monday": monday,
                   "sunday": monday + timedelta(days=6), "previous": monday - timedelta(days=7),
                   "next": monday + timedelta(days=7), "today": local_date(timezone.now()),
                   "count": len({booking.pk for calendar_day in days for booking in calendar_day.bookings}),
                   "tz": clinic_zone()}
        return render(request, "frontdesk/appointments/week.html", context)


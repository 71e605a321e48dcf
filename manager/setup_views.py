"""Clinic setup for owners and managers: locations, room and device types, rooms and devices,
practitioners with the treatments they perform and their weekly hours, and what each treatment
needs. Exceptions (leave, holidays) have their own page in the appointments. Every write goes
through the appointments schedule services, which the API uses too."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from appointments.models import Location, Practitioner, Resource, ResourceType, TreatmentRequirement, WorkingHours
from appointments.schedule import (
    Period,
    location_create,
    location_update,
    practitioner_create,
    practitioner_update,
    resource_create,
    resource_type_create,
    resource_update,
    treatment_requirements_set,
    working_hours_set,
)
from clinic_loyalty.form_errors import apply_validation_error
from manager import setup_forms
from manager.views import SettingsRequired, _FormPage
from visits.models import CatalogueItem


class ScheduleRequired(SettingsRequired):
    permission_required = "appointments.manage_schedule"


class ClinicSetupView(ScheduleRequired, View):
    def get(self, request):
        hours = Prefetch("hours", queryset=WorkingHours.objects.select_related("location"))
        requirements = Prefetch("resource_requirements",
                                queryset=TreatmentRequirement.objects.select_related("resource_type"))
        days = dict(setup_forms.WEEKDAYS)
        practitioners = list(Practitioner.objects.select_related("user").prefetch_related(hours)
                             .annotate(treatment_count=Count("treatments")))
        for practitioner in practitioners:
            practitioner.periods = [(days[h.weekday], h) for h in practitioner.hours.all()]
        return render(request, "manager/setup/index.html", {
            "locations": Location.objects.all(),
            "resource_types": ResourceType.objects.all(),
            "resources": Resource.objects.select_related("location", "resource_type"),
            "practitioners": practitioners,
            "treatments": CatalogueItem.objects.filter(kind=CatalogueItem.Kind.TREATMENT).order_by("name")
            .prefetch_related(requirements),
        })


class _SetupFormPage(ScheduleRequired, _FormPage):
    list_url = "manager:clinic_setup"


class LocationFormView(_SetupFormPage):
    form_class = setup_forms.LocationForm
    model = Location
    create_heading = gettext_lazy("New location")
    edit_heading = gettext_lazy("Edit location")
    saved_message = gettext_lazy("Location saved.")

    def create(self, request, form):
        location_create(**form.cleaned_data)

    def update(self, request, obj, form):
        location_update(location=obj, **form.cleaned_data)


class ResourceTypeFormView(_SetupFormPage):
    form_class = setup_forms.ResourceTypeForm
    model = ResourceType
    create_heading = gettext_lazy("New room or device type")
    saved_message = gettext_lazy("Type saved.")

    def create(self, request, form):
        resource_type_create(**form.cleaned_data)


class ResourceCreateView(_SetupFormPage):
    form_class = setup_forms.ResourceForm
    model = Resource
    create_heading = gettext_lazy("New room or device")
    saved_message = gettext_lazy("Room or device saved.")

    def create(self, request, form):
        resource_create(**form.cleaned_data)


class ResourceEditView(_SetupFormPage):
    form_class = setup_forms.ResourceEditForm
    model = Resource
    edit_heading = gettext_lazy("Edit room or device")
    saved_message = gettext_lazy("Room or device saved.")

    def update(self, request, obj, form):
        resource_update(resource=obj, **form.cleaned_data)


class PractitionerCreateView(_SetupFormPage):
    form_class = setup_forms.PractitionerCreateForm
    model = Practitioner
    create_heading = gettext_lazy("New practitioner")
    saved_message = gettext_lazy("Practitioner saved. Now set their working hours.")

    def create(self, request, form):
        practitioner_create(actor=request.user, **form.cleaned_data)


class PractitionerEditView(_SetupFormPage):
    form_class = setup_forms.PractitionerEditForm
    model = Practitioner
    edit_heading = gettext_lazy("Edit practitioner")
    saved_message = gettext_lazy("Practitioner saved.")

    def initial(self, obj) -> dict:
        return setup_forms.practitioner_initial(obj)

    def update(self, request, obj, form):
        practitioner_update(practitioner=obj, actor=request.user, **form.cleaned_data)


def _period_field(key: str) -> tuple[int | None, str]:
    """`periods.3.starts` → (3, "starts"): where the service put an error."""
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "periods" and parts[1].isdigit():
        return int(parts[1]), {"location": "location"}.get(parts[2], parts[2])
    return None, key


class PractitionerHoursView(ScheduleRequired, View):
    """The weekly hours: one row per period (a day may have a morning and an afternoon)."""

    template = "manager/setup/hours.html"
    SPARE_ROWS = 4

    def _render(self, request, practitioner, formset, status=200):
        return render(request, self.template, {"practitioner": practitioner, "formset": formset}, status=status)

    def get(self, request, pk: int):
        practitioner = get_object_or_404(Practitioner, pk=pk)
        rows = [{"weekday": h.weekday, "location": h.location_id, "starts": h.starts, "ends": h.ends}
                for h in practitioner.hours.order_by("weekday", "starts")]
        rows += [{}] * self.SPARE_ROWS
        formset = setup_forms.HoursFormSet(initial=rows)
        return self._render(request, practitioner, formset)

    def post(self, request, pk: int):
        practitioner = get_object_or_404(Practitioner, pk=pk)
        formset = setup_forms.HoursFormSet(request.POST)
        if formset.is_valid():
            filled = [form for form in formset.forms if form.cleaned_data.get("weekday") is not None]
            periods = [Period(location_id=form.cleaned_data["location"].pk, weekday=form.cleaned_data["weekday"],
                              starts=form.cleaned_data["starts"], ends=form.cleaned_data["ends"]) for form in filled]
            try:
                working_hours_set(practitioner=practitioner, periods=periods, actor=request.user)
            except ValidationError as exc:
                for key, errors in exc.message_dict.items():
                    index, field = _period_field(key)
                    form = filled[index] if index is not None and index < len(filled) else None
                    if form is not None:
                        form.add_error(field if field in form.fields else None, errors)
                    else:
                        formset._non_form_errors = formset.error_class(errors)
            else:
                messages.success(request, _("Working hours saved."))
                return redirect("manager:clinic_setup")
        return self._render(request, practitioner, formset, status=400)


class TreatmentRequirementsView(ScheduleRequired, View):
    template = "manager/setup/requirements.html"

    def _treatment(self, pk: int) -> CatalogueItem:
        return get_object_or_404(CatalogueItem, pk=pk, kind=CatalogueItem.Kind.TREATMENT)

    def _render(self, request, treatment, form, status=200):
        return render(request, self.template, {"treatment": treatment, "form": form}, status=status)

    def get(self, request, pk: int):
        treatment = self._treatment(pk)
        current = {r.kind: r.resource_type_id for r in treatment.resource_requirements.all()}
        form = setup_forms.RequirementsForm(initial={"room_type": current.get(ResourceType.Kind.ROOM),
                                                     "device_type": current.get(ResourceType.Kind.DEVICE)})
        return self._render(request, treatment, form)

    def post(self, request, pk: int):
        treatment = self._treatment(pk)
        form = setup_forms.RequirementsForm(request.POST)
        if form.is_valid():
            types = [t for t in (form.cleaned_data["room_type"], form.cleaned_data["device_type"]) if t]
            try:
                treatment_requirements_set(treatment=treatment, resource_types=types)
            except ValidationError as exc:
                apply_validation_error(form, exc, {"resource_types": "room_type"})
            else:
                messages.success(request, _("What “%(name)s” needs is saved.") % {"name": treatment.name})
                return redirect("manager:clinic_setup")
        return self._render(request, treatment, form, status=400)

"""Changes to a clinic's status, recorded in its history with the actor and the reason."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.models import Clinic, ClinicEvent


@transaction.atomic
def clinic_suspend(*, clinic: Clinic, actor: str, reason: str) -> Clinic:
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the clinic is suspended.")})
    clinic = Clinic.objects.select_for_update().get(pk=clinic.pk)
    if clinic.is_suspended:
        raise ValidationError(_("This clinic is already suspended."))
    clinic.status = Clinic.Status.SUSPENDED
    clinic.status_reason = reason.strip()
    clinic.status_changed_at = timezone.now()
    clinic.save(update_fields=["status", "status_reason", "status_changed_at"])
    ClinicEvent.objects.create(clinic=clinic, kind=ClinicEvent.Kind.SUSPENDED, actor=actor,
                               reason=reason.strip())
    return clinic


@transaction.atomic
def clinic_reactivate(*, clinic: Clinic, actor: str, reason: str = "") -> Clinic:
    clinic = Clinic.objects.select_for_update().get(pk=clinic.pk)
    if not clinic.is_suspended:
        raise ValidationError(_("This clinic is already active."))
    clinic.status = Clinic.Status.ACTIVE
    clinic.status_reason = ""
    clinic.status_changed_at = timezone.now()
    clinic.save(update_fields=["status", "status_reason", "status_changed_at"])
    ClinicEvent.objects.create(clinic=clinic, kind=ClinicEvent.Kind.REACTIVATED, actor=actor,
                               reason=reason.strip())
    return clinic

from django.db.models import QuerySet

from clinics.models import Clinic


def clinic_list(*, status: str | None = None) -> QuerySet[Clinic]:
    clinics = Clinic.objects.exclude(schema_name="public").prefetch_related("domains")
    return clinics.filter(status=status) if status else clinics


def clinics_active() -> QuerySet[Clinic]:
    return clinic_list(status=Clinic.Status.ACTIVE)

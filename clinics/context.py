"""The clinic whose schema the current request or task is working in.

The tenant middleware (web) and the Celery plumbing (tasks) set it on the connection; app code
asks here instead of reaching into the tenancy library.
"""

from datetime import date, datetime, time, tzinfo

from django.conf import settings
from django.db import connection
from django.utils import timezone

from clinics.models import Clinic


def current_clinic() -> Clinic | None:
    """The clinic being served, or None on the platform (public schema)."""
    tenant = getattr(connection, "tenant", None)
    if not isinstance(tenant, Clinic) or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
        return None
    return tenant


def clinic_host(clinic: Clinic) -> str:
    return f"{clinic.schema_name}.{settings.BASE_DOMAIN}"


def clinic_url(clinic: Clinic, path: str = "/") -> str:
    port = f":{settings.SITE_PORT}" if settings.SITE_PORT else ""
    return f"{settings.SITE_SCHEME}://{clinic_host(clinic)}{port}{path}"


def platform_url(path: str = "/") -> str:
    port = f":{settings.SITE_PORT}" if settings.SITE_PORT else ""
    return f"{settings.SITE_SCHEME}://{settings.BASE_DOMAIN}{port}{path}"


# The clinic clock: every "which day is it" and "when does that day start" goes through these, in
# the clinic's own time zone (the server's setting on the platform).


def clinic_zone() -> tzinfo:
    clinic = current_clinic()
    return clinic.zone if clinic else timezone.get_default_timezone()


def local_date(at: datetime) -> date:
    """The clinic's calendar day at the instant `at`."""
    return timezone.localtime(at, clinic_zone()).date()


def local_today() -> date:
    return local_date(timezone.now())


def local_midnight(day: date, zone: tzinfo | None = None) -> datetime:
    """The first instant of `day` in the clinic's time zone (or `zone`), as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=zone or clinic_zone())


def cache_key(*parts: object) -> str:
    """A cache key that belongs to the current clinic: per-clinic caches build their keys here and
    never from the schema name themselves."""
    return ":".join(str(part) for part in (connection.schema_name, *parts))

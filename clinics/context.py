"""The clinic whose schema the current request or task is working in.

The tenant middleware (web) and the Celery plumbing (tasks) set it on the connection; app code
asks here instead of reaching into the tenancy library.
"""

from django.conf import settings
from django.db import connection

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

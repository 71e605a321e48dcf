"""The clinic whose schema the current request or task is working in.

The tenant middleware (web) and the Celery plumbing (tasks) set it on the connection; app code
asks here instead of reaching into the tenancy library.
"""

import functools
import zoneinfo
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path

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


def last_local_day(until: datetime) -> date:
    """The last day, in the clinic's time zone, on which something valid until the instant `until`
    (exclusive) can still be used: points expiring at 2027-01-01 00:00 are valid until 2026-12-31.
    Expiry and validity are stored as instants; pages, receipts and messages show this day."""
    return local_date(until - timedelta(microseconds=1))


def local_today() -> date:
    return local_date(timezone.now())


def local_midnight(day: date, zone: tzinfo | None = None) -> datetime:
    """The first instant of `day` in the clinic's time zone (or `zone`), as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=zone or clinic_zone())


def clinic_key(*parts: object) -> str:
    """A key that belongs to the current clinic ("<schema>:<part>:…"): per-clinic caches and the
    references sent to providers build their keys here, never from the schema name themselves."""
    return ":".join(str(part) for part in (connection.schema_name, *parts))


# The country of a clinic, for showing phone numbers in its national format: from the time
# zone (the system's zone table), else from the currency; mainland China when neither says.
_CURRENCY_COUNTRIES = {"CNY": "CN", "HKD": "HK", "USD": "US"}
DEFAULT_COUNTRY = "CN"


@functools.cache
def _zone_countries() -> dict[str, str]:
    countries: dict[str, str] = {}
    for folder in zoneinfo.TZPATH:
        table = Path(folder) / "zone.tab"
        if table.is_file():
            for line in table.read_text(encoding="utf-8").splitlines():
                if line and not line.startswith("#"):
                    code, _coordinates, name, *_rest = line.split("\t")
                    countries.setdefault(name, code)
            break
    return countries


def clinic_country() -> str:
    """The ISO 3166 code of the clinic's country ("CN", "HK", "DE")."""
    clinic = current_clinic()
    if clinic is None:
        return DEFAULT_COUNTRY
    return (_zone_countries().get(clinic.time_zone) or _CURRENCY_COUNTRIES.get(clinic.currency)
            or DEFAULT_COUNTRY)

"""Provisioning clinics. clinic_create copies the migrated template schema, so its time should
not grow with the number of migrations; the same schema migrated from scratch shows what the
copy saves."""

import time
from statistics import mean

from django.core.management import call_command
from django.db import connection

from bench.figures import Figure
from clinics.models import Clinic
from clinics.platform.provisioning import OwnerSpec, clinic_create

CLINICS = 10
TARGET_SECONDS = 3.0
SCRATCH_SCHEMA = "benchscratch"


def clinic_create_seconds(slug: str) -> float:
    """The owner is given a password (the test settings hash it cheaply) rather than an emailed
    invitation, so that the benchmark queues no task."""
    started = time.perf_counter()
    clinic_create(slug=slug, name=f"基准诊所 {slug}", actor="bench",
                  owner=OwnerSpec(username="owner", email=f"owner@{slug}.example.com", full_name="王业主",
                                  password="Bench-owner-1"))
    return time.perf_counter() - started


def schema_from_scratch_seconds() -> float:
    schema = connection.ops.quote_name(SCRATCH_SCHEMA)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {schema}")
    call_command("migrate_schemas", schema_name=SCRATCH_SCHEMA, tenant=True, interactive=False,
                 verbosity=0)
    elapsed = time.perf_counter() - started
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA {schema} CASCADE")
    return elapsed


def main() -> list[Figure]:
    connection.set_schema_to_public()
    slugs = [f"benchclinic{n:02d}" for n in range(CLINICS)]
    seconds = [clinic_create_seconds(slug) for slug in slugs]
    for clinic in Clinic.objects.filter(schema_name__in=slugs):
        clinic.delete(force_drop=True)
    scratch = schema_from_scratch_seconds()
    return [
        Figure(f"clinic_create per clinic, mean of {CLINICS} clinics", mean(seconds),
               target=TARGET_SECONDS),
        Figure(f"clinic_create per clinic, slowest of {CLINICS} clinics", max(seconds),
               target=TARGET_SECONDS),
        Figure("one clinic schema migrated from scratch instead", scratch,
               note=f"reference; the copy saves {scratch - mean(seconds):.1f} s per clinic"),
    ]

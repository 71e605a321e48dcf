"""One clinic's data out of the platform and back in: its schema, dumped with pg_dump, and its
rows in the public schema (the clinic, its domains and its history), in one archive.

An export is a consistent snapshot (pg_dump reads the schema in one repeatable-read
transaction). An import restores the schema under the same name into a database where that name
is free, checks every table's row count against the export, brings the schema up to the
migrations on disk, and records the clinic, its domains and its history."""

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_tenants.utils import schema_exists

from clinics.models import Clinic, ClinicEvent, Domain
from clinics.platform.provisioning import (
    TEMPLATE_SCHEMA,
    clinic_defaults_install,
    clinic_schemas_migrate,
    migrations_expected,
    schema_defaults_mark_copy,
    schemas_behind,
)
from insights.rollups import rollups_rebuild

FORMAT = 1
CLINIC_FIELDS = ("name", "time_zone", "language", "currency", "status", "status_reason")


class PortabilityError(Exception):
    pass


@dataclass(frozen=True)
class ClinicArchive:
    path: Path
    schema_name: str
    row_counts: dict[str, int]


def postgres_program(name: str) -> str:
    """pg_dump or pg_restore: from POSTGRES_BIN_DIR if set, else from the PATH. Use the major
    version of the server (or newer)."""
    directory = os.environ.get("POSTGRES_BIN_DIR")
    found = str(Path(directory) / name) if directory else shutil.which(name)
    if not found or not Path(found).exists():
        raise PortabilityError(f"{name} was not found; install the PostgreSQL client or set POSTGRES_BIN_DIR.")
    return found


def _connection_arguments() -> tuple[list[str], dict[str, str]]:
    db = connection.settings_dict
    arguments = ["--dbname", db["NAME"], "--host", db["HOST"] or "127.0.0.1",
                 "--port", str(db["PORT"] or 5432)]
    if db["USER"]:
        arguments += ["--username", db["USER"]]
    env = {**os.environ}
    if db["PASSWORD"]:
        env["PGPASSWORD"] = db["PASSWORD"]
    return arguments, env


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode:
        raise PortabilityError(f"{Path(command[0]).name} failed: {result.stderr.strip()}")


def schema_row_counts(schema_name: str) -> dict[str, int]:
    """Every table of the schema with its exact number of rows."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables "
                       "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name",
                       [schema_name])
        tables = [row[0] for row in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {quote(schema_name)}.{quote(table)}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts


def clinic_export(clinic: Clinic, path: Path) -> ClinicArchive:
    """Write the clinic's archive (a .tar.gz) to `path`."""
    connection.set_schema_to_public()
    arguments, env = _connection_arguments()
    with tempfile.TemporaryDirectory() as directory:
        dump = Path(directory) / "schema.dump"
        _run([postgres_program("pg_dump"), *arguments, "--format=custom", "--no-owner", "--no-privileges",
              "--schema", clinic.schema_name, "--file", str(dump)], env)
        counts = schema_row_counts(clinic.schema_name)
        manifest = {
            "format": FORMAT,
            "exported_at": timezone.now().isoformat(),
            "schema_name": clinic.schema_name,
            "clinic": {name: getattr(clinic, name) for name in CLINIC_FIELDS},
            "created_at": clinic.created_at.isoformat(),
            "domains": [{"domain": domain.domain, "is_primary": domain.is_primary}
                        for domain in clinic.domains.order_by("pk")],
            "events": [{"kind": event.kind, "actor": event.actor, "reason": event.reason,
                        "created_at": event.created_at.isoformat()}
                       for event in ClinicEvent.objects.filter(clinic=clinic).order_by("pk")],
            "row_counts": counts,
        }
        (Path(directory) / "clinic.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
        with tarfile.open(path, "w:gz") as archive:
            archive.add(Path(directory) / "clinic.json", arcname="clinic.json")
            archive.add(dump, arcname="schema.dump")
    return ClinicArchive(path=path, schema_name=clinic.schema_name, row_counts=counts)


def _manifest_read(directory: Path) -> dict:
    manifest = json.loads((directory / "clinic.json").read_text())
    if manifest.get("format") != FORMAT:
        raise PortabilityError(f"This archive's format ({manifest.get('format')}) is not {FORMAT}.")
    return manifest


def _schema_drop(schema_name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(schema_name)} CASCADE")


def clinic_import(path: Path, *, actor: str) -> Clinic:
    """Restore a clinic from its archive into this database, where its schema name and domains
    must be free. Raises PortabilityError, leaving nothing behind, if anything disagrees."""
    connection.set_schema_to_public()
    with tempfile.TemporaryDirectory() as directory_name:
        directory = Path(directory_name)
        with tarfile.open(path, "r:gz") as archive:
            archive.extractall(directory, filter="data")
        manifest = _manifest_read(directory)
        if not schema_exists(TEMPLATE_SCHEMA):
            # The clinics' triggers call functions that migrating the template creates.
            raise PortabilityError("This database is not set up; run “manage.py migrate_platform” first.")
        schema_name = manifest["schema_name"]
        domains = [domain["domain"] for domain in manifest["domains"]]
        if schema_exists(schema_name) or Clinic.objects.filter(schema_name=schema_name).exists():
            raise PortabilityError(f"A clinic or schema called “{schema_name}” already exists here.")
        if taken := list(Domain.objects.filter(domain__in=domains).values_list("domain", flat=True)):
            raise PortabilityError(f"These domains belong to another clinic here: {', '.join(taken)}.")
        arguments, env = _connection_arguments()
        _run([postgres_program("pg_restore"), *arguments, "--no-owner", "--no-privileges",
              "--exit-on-error", "--single-transaction", str(directory / "schema.dump")], env)
    try:
        restored = schema_row_counts(schema_name)
        if restored != manifest["row_counts"]:
            differ = sorted(table for table in set(restored) | set(manifest["row_counts"])
                            if restored.get(table) != manifest["row_counts"].get(table))
            raise PortabilityError(f"The restored row counts differ from the export's: {', '.join(differ)}.")
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT app, name FROM {connection.ops.quote_name(schema_name)}.django_migrations")  # noqa: S608
            unknown = set(cursor.fetchall()) - {key for key, _replaces in migrations_expected().items()} - {
                replaced for replaces in migrations_expected().values() for replaced in replaces}
        if unknown:
            raise PortabilityError("The archive comes from a newer version of the platform "
                                   f"({len(unknown)} migrations unknown here); upgrade first.")
        clinic = _clinic_record(manifest, actor=actor)
    except (PortabilityError, ValidationError):
        _schema_drop(schema_name)
        raise
    if schemas_behind([schema_name]):
        clinic_schemas_migrate([schema_name])
    with transaction.atomic():
        connection.set_tenant(clinic)
        clinic_defaults_install()
        # The restore loaded the visits and the rollups in some order, with the triggers on:
        # build the rollups again from the visits.
        rollups_rebuild(clinic.time_zone)
        connection.set_schema_to_public()
        schema_defaults_mark_copy(schema_name)
    return clinic


@transaction.atomic
def _clinic_record(manifest: dict, *, actor: str) -> Clinic:
    clinic = Clinic(schema_name=manifest["schema_name"], **manifest["clinic"])
    clinic.full_clean()
    clinic.save()
    Clinic.objects.filter(pk=clinic.pk).update(created_at=parse_datetime(manifest["created_at"]))
    for domain in manifest["domains"]:
        Domain.objects.create(tenant=clinic, domain=domain["domain"], is_primary=domain["is_primary"])
    for event in manifest["events"]:
        record = ClinicEvent.objects.create(clinic=clinic, kind=event["kind"], actor=event["actor"],
                                            reason=event["reason"])
        ClinicEvent.objects.filter(pk=record.pk).update(created_at=parse_datetime(event["created_at"]))
    ClinicEvent.objects.create(clinic=clinic, kind=ClinicEvent.Kind.CREATED, actor=actor,
                               reason=f"Imported from an export of {manifest['exported_at']}"[:255])
    clinic.refresh_from_db()
    return clinic

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinics.models import Clinic
from clinics.platform.portability import PortabilityError, clinic_export


class Command(BaseCommand):
    help = ("Export one clinic: its schema (pg_dump) and its clinic record, domains and history, "
            "in one .tar.gz archive that clinic_import restores.")

    def add_arguments(self, parser):
        parser.add_argument("clinic", help="The clinic's slug (schema name).")
        parser.add_argument("archive", help="The file to write, e.g. demo.tar.gz.")

    def handle(self, *args, **options):
        slug = options["clinic"].strip().lower()
        clinic = Clinic.objects.filter(schema_name=slug).exclude(schema_name="public").first()
        if clinic is None:
            raise CommandError(f"No clinic is called “{slug}”.")
        try:
            archive = clinic_export(clinic, Path(options["archive"]))
        except PortabilityError as exc:
            raise CommandError(str(exc)) from exc
        rows = sum(archive.row_counts.values())
        self.stdout.write(self.style.SUCCESS(
            f"Exported {slug}: {len(archive.row_counts)} tables, {rows} rows, to {archive.path}."))

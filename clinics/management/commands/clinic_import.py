from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clinics.platform.portability import PortabilityError, clinic_import


class Command(BaseCommand):
    help = ("Import a clinic from a clinic_export archive into this database, where its name and "
            "domains must be free. Checks every table's row count against the export.")

    def add_arguments(self, parser):
        parser.add_argument("archive", help="The archive clinic_export wrote.")
        parser.add_argument("--actor", default="clinic_import", help="Who imports it (for its history).")

    def handle(self, *args, **options):
        path = Path(options["archive"])
        if not path.is_file():
            raise CommandError(f"There is no file {path}.")
        try:
            clinic = clinic_import(path, actor=options["actor"])
        except (PortabilityError, ValidationError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"Imported {clinic.schema_name}; run verify_ledger --clinic {clinic.schema_name} to check it."))

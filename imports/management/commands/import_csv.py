from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from accounts.models import User
from clinics.models import Clinic
from imports.models import ImportRun
from imports.services import ImportReport, csv_import


class Command(BaseCommand):
    help = ("Import a CSV file of members, visit history or opening point balances into a clinic "
            "(columns and rules: docs/import.md). Exits with status 1 when nothing was imported.")

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=ImportRun.Kind.values)
        parser.add_argument("path", help="The CSV file (UTF-8, header row).")
        parser.add_argument("--clinic", required=True, help="The clinic's slug.")
        parser.add_argument("--skip-errors", action="store_true",
                            help="Import the valid rows and skip those with errors, instead of importing "
                                 "nothing when any row has an error.")
        parser.add_argument("--actor", default="",
                            help="Username of the clinic's staff member to record as the importer.")

    def handle(self, *args, **options):
        clinic = Clinic.objects.filter(schema_name=options["clinic"]).first()
        if clinic is None:
            raise CommandError(_("There is no clinic “%(slug)s”.") % {"slug": options["clinic"]})
        with tenant_context(clinic), translation.override(clinic.language):
            actor = None
            if options["actor"]:
                actor = User.objects.filter(username=options["actor"]).first()
                if actor is None:
                    raise CommandError(_("%(clinic)s has no staff member “%(username)s”.")
                                       % {"clinic": clinic.name, "username": options["actor"]})
            try:
                with open(options["path"], "rb") as file:
                    report = csv_import(kind=options["kind"], file=file, actor=actor,
                                        skip_errors=options["skip_errors"])
            except OSError as exc:
                raise CommandError(_("Cannot read %(path)s: %(error)s")
                                   % {"path": options["path"], "error": exc.strerror}) from exc
            self._write_report(report)
            if report.rejected:
                raise CommandError(_("Nothing was imported."))

    def _write_report(self, report: ImportReport) -> None:
        for error in report.errors:
            where = (_("line %(line)s") % {"line": error.line}) if error.line else _("file")
            if error.column:
                where = f"{where}, {error.column}"
            self.stderr.write(f"{where}: {error.message}")
        summary = _("%(file)s: %(rows)s rows; %(imported)s imported (%(created)s records created), "
                    "%(skipped)s skipped for errors, %(before)s imported before; %(seconds).1f s.") % {
            "file": report.file_name, "rows": report.rows, "imported": report.imported,
            "created": report.created, "skipped": report.skipped, "before": report.already_imported,
            "seconds": report.duration}
        style = self.style.ERROR if report.rejected else (
            self.style.WARNING if report.skipped else self.style.SUCCESS)
        self.stdout.write(style(summary))

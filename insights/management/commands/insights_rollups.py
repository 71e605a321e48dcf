from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from clinics.models import Clinic
from insights.rollups import rollups_check, rollups_ready, rollups_rebuild


class Command(BaseCommand):
    help = ("Check the KPI rollups of a clinic against its visits (--check), or rebuild them from the "
            "visits (--rebuild), e.g. after loading visits with the triggers off.")

    def add_arguments(self, parser):
        parser.add_argument("clinic", help="The clinic's slug (schema name).")
        parser.add_argument("--rebuild", action="store_true", help="Rebuild the rollups from the visits.")

    def handle(self, *args, **options):
        slug = options["clinic"].strip().lower()
        clinic = Clinic.objects.filter(schema_name=slug).exclude(schema_name="public").first()
        if clinic is None:
            raise CommandError(f"No clinic is called “{slug}”.")
        with tenant_context(clinic):
            if options["rebuild"]:
                built = rollups_rebuild()
                self.stdout.write(self.style.SUCCESS(
                    f"Rebuilt {slug}: {built['member_days']} member days, {built['members']} members."))
                return
            if not rollups_ready():
                raise CommandError(f"The rollups of {slug} are not built in its time zone; run with --rebuild.")
            problems = rollups_check()
            if problems:
                raise CommandError("; ".join(problems))
            self.stdout.write(self.style.SUCCESS(f"The rollups of {slug} equal its visits."))

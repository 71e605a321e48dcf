from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from clinics.models import Clinic
from clinics.platform.selectors import clinic_list
from points.selectors import ledger_verify


class Command(BaseCommand):
    help = ("Check the points ledger of one clinic (--clinic) or of every clinic: each account's balance "
            "equals the sum of its entries and of its open lots, and entries, allocations and lots agree. "
            "Prints every disagreement and exits with status 1 if there is any.")

    def add_arguments(self, parser):
        parser.add_argument("--clinic", help="The clinic's slug (schema name). Default: every clinic.")

    def handle(self, *args, **options):
        clinics = clinic_list().order_by("schema_name")
        if options["clinic"]:
            clinics = clinics.filter(schema_name=options["clinic"].strip().lower())
            if not clinics.exists():
                raise CommandError(f"No clinic is called “{options['clinic']}”.")
        failed: list[Clinic] = []
        for clinic in clinics:
            with schema_context(clinic.schema_name):
                problems = ledger_verify()
            if problems:
                failed.append(clinic)
                self.stdout.write(self.style.ERROR(f"{clinic.schema_name}: {len(problems)} problems"))
                for problem in problems:
                    self.stdout.write(f"  account {problem.account_id} (member {problem.member_number}) "
                                      f"[{problem.check}]: {problem.detail}")
            else:
                self.stdout.write(self.style.SUCCESS(f"{clinic.schema_name}: ledger agrees"))
        if failed:
            names = ", ".join(clinic.schema_name for clinic in failed)
            raise CommandError(f"The ledger disagrees in {len(failed)} clinic(s): {names}", returncode=1)

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.services import sign_in_lockout_lift
from clinics.models import Clinic


class Command(BaseCommand):
    help = ("Lift a sign-in lockout: the failed sign-ins counted for a username, an address, or the "
            "two together stop counting. In a clinic (--clinic SLUG) or on the platform console.")

    def add_arguments(self, parser):
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--clinic", help="the clinic's slug, for its staff")
        where.add_argument("--platform", action="store_true", help="the platform console's operators")
        parser.add_argument("--username", default="")
        parser.add_argument("--address", default="")
        parser.add_argument("--reason", default="")
        parser.add_argument("--actor", default="manage.py", help="who lifts it, for the record")

    def handle(self, *args, **options):
        schema = get_public_schema_name()
        if options["clinic"]:
            clinic = Clinic.objects.filter(schema_name=options["clinic"].strip().lower()).first()
            if clinic is None or clinic.schema_name == schema:
                raise CommandError(f"No clinic “{options['clinic']}”.")
            schema = clinic.schema_name
        with schema_context(schema):
            try:
                lift = sign_in_lockout_lift(actor=options["actor"], identifier=options["username"],
                                            address=options["address"] or None, reason=options["reason"])
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"Lifted: {lift.failures_cleared} failed sign-ins no longer count in {schema}."))

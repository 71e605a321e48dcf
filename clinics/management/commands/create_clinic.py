import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clinics.context import clinic_url
from clinics.platform.provisioning import OwnerSpec, clinic_create


class Command(BaseCommand):
    help = "Provision a clinic: its schema, roles and owner account."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="Web address: <slug>.<base domain>")
        parser.add_argument("--name", required=True, help="Display name")
        parser.add_argument("--owner-username", required=True)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--owner-name", default="")
        parser.add_argument("--owner-password", default=None,
                            help="Without it the owner is emailed a link to choose one.")
        parser.add_argument("--time-zone", default="Asia/Shanghai")
        parser.add_argument("--language", default="zh-hans", choices=["zh-hans", "en"])
        parser.add_argument("--currency", default="CNY")

    def handle(self, *args, **options):
        owner = OwnerSpec(username=options["owner_username"], email=options["owner_email"],
                          full_name=options["owner_name"], password=options["owner_password"])
        try:
            clinic = clinic_create(slug=options["slug"], name=options["name"], owner=owner,
                                   time_zone=options["time_zone"], language=options["language"],
                                   currency=options["currency"],
                                   actor=f"command:{getpass.getuser()}")
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Created {clinic.name} at {clinic_url(clinic)}"))

from django.conf import settings
from django.core.management.base import BaseCommand

from clinics.platform.provisioning import platform_migrate


class Command(BaseCommand):
    help = ("Migrate everything: the public schema, the clinic template schema new clinics are "
            "copied from, and every clinic that is behind. Safe to run again.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--processes", type=int, default=settings.MIGRATE_PROCESSES,
            help="Migrate clinics in this many parallel processes (default: MIGRATE_PROCESSES).")
        parser.add_argument(
            "--every-schema", action="store_true",
            help="Run migrate in every clinic, not only in those whose django_migrations lacks "
                 "a migration on disk.")

    def handle(self, *args, **options):
        report = platform_migrate(verbosity=max(0, options["verbosity"] - 1),
                                  processes=max(1, options["processes"]),
                                  every_schema=options["every_schema"])
        self.stdout.write(self.style.SUCCESS(
            f"Public schema, template and clinics are migrated: {report.summary()}."))

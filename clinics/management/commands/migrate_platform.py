from django.core.management.base import BaseCommand

from clinics.provisioning import platform_migrate


class Command(BaseCommand):
    help = ("Migrate everything: the public schema, the clinic template schema new clinics are "
            "cloned from, and every clinic. Safe to run again.")

    def handle(self, *args, **options):
        platform_migrate(verbosity=max(0, options["verbosity"] - 1))
        self.stdout.write(self.style.SUCCESS("Public schema, template and clinics are migrated."))

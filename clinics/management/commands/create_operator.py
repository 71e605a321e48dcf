from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from accounts.models import User


class Command(BaseCommand):
    help = "Create or update a platform operator (public schema), who runs the platform console."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--password", required=True)

    def handle(self, *args, **options):
        if len(options["password"]) < 8:
            raise CommandError("The password needs at least 8 characters.")
        with schema_context("public"):
            user, created = User.objects.get_or_create(username=options["username"])
            user.email = options["email"]
            user.is_staff = True
            user.is_superuser = True
            user.set_password(options["password"])
            user.save()
        self.stdout.write(self.style.SUCCESS(
            f"{'Created' if created else 'Updated'} platform operator {user.username}"))

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from clinics.models import Clinic
from recommendations.evaluation import recommendations_evaluate


class Command(BaseCommand):
    help = ("Leave-last-visit-out evaluation of a clinic's recommendations against plain popularity: "
            "hit rate@5 and MRR@5 (docs/recommendations.md). Reads only; the stored signals are kept.")

    def add_arguments(self, parser):
        parser.add_argument("clinic", help="The clinic's slug (its schema name), e.g. demo.")

    def handle(self, *args, **options):
        if not Clinic.objects.filter(schema_name=options["clinic"]).exists():
            raise CommandError(f"No clinic {options['clinic']!r}.")
        with schema_context(options["clinic"]):
            result = recommendations_evaluate()
        for line in result.lines():
            self.stdout.write(line)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VisitsConfig(AppConfig):
    name = "visits"
    verbose_name = _("Catalogue and visits")

    def ready(self):
        from members import selectors as member_selectors
        from members import services as member_services
        from visits.member_steps import visits_merge
        from visits.selectors import visits_export

        member_services.MERGE_STEPS.append(visits_merge)
        member_selectors.EXPORT_SECTIONS.append(visits_export)

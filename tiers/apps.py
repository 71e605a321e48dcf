from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TiersConfig(AppConfig):
    name = "tiers"
    verbose_name = _("Tiers")

    def ready(self):
        from members import selectors as member_selectors
        from members import services as member_services
        from tiers.member_steps import tier_merge
        from tiers.selectors import tiers_export

        member_services.MERGE_STEPS.append(tier_merge)
        member_selectors.EXPORT_SECTIONS.append(tiers_export)

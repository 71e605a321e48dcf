from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PointsConfig(AppConfig):
    name = "points"
    verbose_name = _("Points")

    def ready(self):
        from members import selectors as member_selectors
        from members import services as member_services
        from points.member_steps import ledger_merge, signup_bonus_grant
        from points.selectors import points_export

        member_services.REGISTER_STEPS.append(signup_bonus_grant)
        member_services.MERGE_STEPS.append(ledger_merge)
        member_selectors.EXPORT_SECTIONS.append(points_export)

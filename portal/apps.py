from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Member portal")

    def ready(self) -> None:
        from members.services import ERASE_STEPS
        from portal.services import member_erased_step

        if member_erased_step not in ERASE_STEPS:
            ERASE_STEPS.append(member_erased_step)

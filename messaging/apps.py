from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Messaging")

    def ready(self) -> None:
        from members import services as member_services
        from messaging.member_steps import messages_erase, messages_merge

        member_services.MERGE_STEPS.append(messages_merge)
        member_services.ERASE_STEPS.append(messages_erase)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("Feedback and follow-up")

    def ready(self) -> None:
        from feedback.member_steps import feedback_erase, feedback_merge
        from members import services as member_services

        member_services.MERGE_STEPS.append(feedback_merge)
        member_services.ERASE_STEPS.append(feedback_erase)

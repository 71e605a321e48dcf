from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self):
        from campaigns.checkout_hooks import campaign_multiplier_record, campaign_multipliers
        from checkout import services as checkout_services
        from points import earning

        earning.EXTRA_MULTIPLIERS.append(campaign_multipliers)
        checkout_services.EXTRA_POINTS_STEPS.append(campaign_multiplier_record)

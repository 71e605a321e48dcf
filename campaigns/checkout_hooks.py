"""What campaigns adds to checkout (registered in CampaignsConfig.ready()): the points multiplier
of the campaign offer a member holds, for the earning engine, and the record of what it added."""

from datetime import datetime

from campaigns.models import CampaignMultiplierUse
from campaigns.selectors import MultiplierHeld, campaign_multiplier_for
from members.models import Member
from points.earning import ExtraMultiplier


def campaign_multipliers(member: Member, at: datetime) -> list[ExtraMultiplier]:
    """The multiplier of the campaign offer the member holds at `at` (see
    `selectors.campaign_multiplier_for`). Checkout does not ask while no campaign has a multiplier
    (`checkout.config.ClinicConfig.campaign_multipliers`)."""
    held = campaign_multiplier_for(member=member, at=at)
    if held is None:
        return []
    return [ExtraMultiplier(label=held.campaign.name, multiplier=held.campaign.points_multiplier, source=held)]


def campaign_multiplier_record(*, member, visit, extra_points, actor, at) -> None:
    CampaignMultiplierUse.objects.bulk_create(
        CampaignMultiplierUse(campaign=extra.source.campaign, occurrence=extra.source.occurrence,
                              grant=extra.source.grant, visit=visit, multiplier=extra.multiplier, points=points)
        for extra, points in extra_points if isinstance(extra.source, MultiplierHeld))

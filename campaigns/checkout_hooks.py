"""What campaigns adds to checkout (registered in CampaignsConfig.ready()): the points multiplier
of the campaign offer a member holds, for the earning engine, and the record of what it added."""

from datetime import datetime

from campaigns.models import CampaignGrant, CampaignMultiplierUse
from campaigns.selectors import campaign_multiplier_for
from members.models import Member
from points.earning import ExtraMultiplier


def campaign_multipliers(member: Member, at: datetime) -> list[ExtraMultiplier]:
    """The multiplier of the campaign offer the member holds at `at`: one indexed query."""
    grant = campaign_multiplier_for(member=member, at=at)
    if grant is None:
        return []
    return [ExtraMultiplier(label=grant.campaign.name, multiplier=grant.campaign.points_multiplier, source=grant)]


def campaign_multiplier_record(*, member, visit, extra_points, actor, at) -> None:
    CampaignMultiplierUse.objects.bulk_create(
        CampaignMultiplierUse(grant=extra.source, visit=visit, multiplier=extra.multiplier, points=points)
        for extra, points in extra_points if isinstance(extra.source, CampaignGrant))

"""What tiers do when a member is merged into another."""

from django.utils.translation import gettext as _

from accounts.models import User
from members.models import Member
from tiers.models import MemberTier, TierChange
from tiers.selectors import tier_ladder, tiers_list


def tier_merge(survivor: Member, duplicate: Member, actor: User | None) -> None:
    """The duplicate's tier history moves to the survivor. The survivor keeps the higher of the
    two tiers; if that is the duplicate's, the survivor takes it with its date (so the grace
    period runs as it did) and the move is recorded. The duplicate's tier state is removed."""
    TierChange.objects.filter(member=duplicate).update(member=survivor)
    theirs = MemberTier.objects.filter(member=duplicate).select_related("tier").first()
    if theirs is None:
        return
    ours = MemberTier.objects.filter(member=survivor).select_related("tier").first()
    current = ours.tier if ours else tier_ladder(tiers_list())[0]
    if theirs.tier.rank > current.rank:
        state = ours or MemberTier(member=survivor)
        state.tier, state.since, state.below_since = theirs.tier, theirs.since, theirs.below_since
        state.evaluated_at = theirs.evaluated_at
        theirs.delete()
        state.save()
        TierChange.objects.create(
            member=survivor, from_tier=current, to_tier=theirs.tier, kind=TierChange.Kind.MERGE,
            reason=_("Kept the higher tier of merged member %(number)s") % {"number": duplicate.member_number},
            actor=actor)
    else:
        theirs.delete()

"""Writes to tiers: the programme and its tiers, upgrades at checkout, the nightly evaluation
(downgrades after the grace period), and tiers set by a manager. Every move of a member is a
TierChange with its reason, the metrics it was based on, and who made it."""

import itertools
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import settings_change_check
from audit.services import audited, settings_update
from clinics.context import local_date
from members.models import Member
from tiers.models import MemberTier, Tier, TierChange, TierProgramme
from tiers.selectors import (
    NO_METRICS,
    TierMetrics,
    downgrade_earliest_on,
    downgrade_reason_text,
    member_tier_metrics,
    programme_get,
    tier_below,
    tier_ladder,
    tier_meets,
    tier_metrics_by_member,
    tier_qualified,
    tiers_list,
)
from visits.models import ZERO

TIER_FIELDS = ("rank", "name", "min_spend", "min_visits", "earn_multiplier", "discount_percent",
               "birthday_gift_points", "perks")
MAX_WINDOW_MONTHS = 120
MAX_GRACE_DAYS = 730
EVALUATION_BATCH = 1000


@dataclass(frozen=True)
class _DefaultTier:
    name: str
    min_spend: int
    min_visits: int
    earn_multiplier: str
    discount_percent: int
    birthday_gift_points: int
    perks: str


# The programme a clinic starts with, in the clinic's language (it is the clinic's own data,
# edited by its managers afterwards). Amounts in CNY over a rolling 12 months.
DEFAULT_TIERS: dict[str, list[_DefaultTier]] = {
    "zh-hans": [
        _DefaultTier("普通", 0, 0, "1.00", 0, 100, "消费即可累积积分；生日月收到祝福与生日积分。"),
        _DefaultTier("银卡", 5000, 4, "1.20", 5, 300, "会员价95折；积分1.2倍；预约优先安排。"),
        _DefaultTier("金卡", 20000, 10, "1.50", 8, 800,
                     "会员价92折；积分1.5倍；专属顾问；每季度赠送一次基础护理。"),
        _DefaultTier("钻石卡", 50000, 20, "2.00", 12, 2000,
                     "会员价88折；积分2倍；专属顾问一对一服务；新项目优先体验；每年赠送一次高端护理。"),
    ],
    "en": [
        _DefaultTier("Regular", 0, 0, "1.00", 0, 100,
                     "Earn points on every visit; birthday greetings and birthday points."),
        _DefaultTier("Silver", 5000, 4, "1.20", 5, 300,
                     "5% member discount; 1.2× points; priority booking."),
        _DefaultTier("Gold", 20000, 10, "1.50", 8, 800,
                     "8% member discount; 1.5× points; a personal consultant; a basic facial every quarter."),
        _DefaultTier("Diamond", 50000, 20, "2.00", 12, 2000,
                     "12% member discount; double points; a personal consultant; first access to new "
                     "treatments; a premium treatment every year."),
    ],
}


@transaction.atomic
def tier_programme_install_default(*, language: str) -> TierProgramme:
    """The programme every clinic starts with: qualify on spend or visits in a rolling 12 months,
    30 days' grace, one step down at a time, and four tiers. Tiers are added only to a clinic
    that has none."""
    programme, _created = TierProgramme.objects.get_or_create(pk=1)
    if not Tier.objects.exists():
        Tier.objects.bulk_create(
            Tier(rank=rank, name=tier.name, min_spend=Decimal(tier.min_spend), min_visits=tier.min_visits,
                 earn_multiplier=Decimal(tier.earn_multiplier), discount_percent=tier.discount_percent,
                 birthday_gift_points=tier.birthday_gift_points, perks=tier.perks)
            for rank, tier in enumerate(DEFAULT_TIERS.get(language, DEFAULT_TIERS["en"])))
    return programme


def _programme_lock() -> TierProgramme:
    TierProgramme.objects.get_or_create(pk=1)
    return TierProgramme.objects.select_for_update().get(pk=1)


def _ladder_errors(ladder: list[Tier], basis: str) -> dict[str, list[str]]:
    """Each tier must ask for more than the one below it, in every criterion the basis uses."""
    errors: dict[str, list[str]] = {}
    if ladder and ladder[0].rank != 0:
        errors.setdefault("rank", []).append(_("There must be an entry tier with rank 0."))
    for lower, higher in itertools.pairwise(ladder):
        if basis != TierProgramme.Basis.VISITS and higher.min_spend <= lower.min_spend:
            errors.setdefault("min_spend", []).append(
                _("“%(higher)s” must need a higher spend than “%(lower)s” (%(amount)s).")
                % {"higher": higher.name, "lower": lower.name, "amount": lower.min_spend})
        if basis != TierProgramme.Basis.SPEND and higher.min_visits <= lower.min_visits:
            errors.setdefault("min_visits", []).append(
                _("“%(higher)s” must need more visits than “%(lower)s” (%(count)s).")
                % {"higher": higher.name, "lower": lower.name, "count": lower.min_visits})
    return errors


def _tier_validate(tier: Tier) -> None:
    tier.name = tier.name.strip()
    tier.perks = tier.perks.strip()
    errors: dict[str, list[str]] = {}
    if tier.min_spend < 0:
        errors["min_spend"] = [_("The minimum spend cannot be negative.")]
    if tier.earn_multiplier < 0:
        errors["earn_multiplier"] = [_("The points multiplier cannot be negative.")]
    if not 0 <= tier.discount_percent <= 100:
        errors["discount_percent"] = [_("The discount must be between 0 and 100 %.")]
    if tier.rank == 0:
        entry_message = _("The entry tier (rank 0) is where every member starts: it cannot ask for a "
                          "minimum spend or visits.")
        errors.update({field: [entry_message] for field in ("min_spend", "min_visits")
                       if getattr(tier, field)})
    if errors:
        raise ValidationError(errors)
    tier.full_clean(validate_unique=False, validate_constraints=False)
    others = list(Tier.objects.exclude(pk=tier.pk).order_by("rank"))
    if any(other.rank == tier.rank for other in others):
        errors["rank"] = [_("Another tier already has rank %(rank)s.") % {"rank": tier.rank}]
    if any(other.name.casefold() == tier.name.casefold() for other in others):
        errors["name"] = [_("Another tier is already called “%(name)s”.") % {"name": tier.name}]
    if not errors:
        errors = _ladder_errors(sorted([*others, tier], key=lambda t: t.rank), programme_get().basis)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def tier_create(*, rank: int, name: str, min_spend: Decimal = ZERO, min_visits: int = 0,
                earn_multiplier: Decimal = Decimal(1), discount_percent: int = 0,
                birthday_gift_points: int = 0, perks: str = "", actor: User | None = None) -> Tier:
    settings_change_check(actor)
    _programme_lock()
    tier = Tier(rank=rank, name=name, min_spend=min_spend, min_visits=min_visits,
                earn_multiplier=earn_multiplier, discount_percent=discount_percent,
                birthday_gift_points=birthday_gift_points, perks=perks)
    return settings_update(actor=actor, obj=tier, changes={}, fields=TIER_FIELDS, validate=_tier_validate,
                           full_clean=False)


@transaction.atomic
def tier_update(*, tier: Tier, actor: User | None = None, **changes) -> Tier:
    """Change a tier. Members keep their tier until checkout or the evaluation moves them."""
    settings_change_check(actor)
    _programme_lock()
    tier = Tier.objects.select_for_update().get(pk=tier.pk)
    if tier.rank == 0 and changes.get("rank", 0) != 0:
        raise ValidationError({"rank": _("The entry tier keeps rank 0; give another tier a higher rank "
                                         "instead.")})
    return settings_update(actor=actor, obj=tier, changes=changes, fields=TIER_FIELDS, validate=_tier_validate,
                           full_clean=False)


@transaction.atomic
def tier_delete(*, tier: Tier, actor: User | None = None) -> None:
    """Delete a tier nobody holds and no history or reward mentions."""
    settings_change_check(actor)
    _programme_lock()
    tier = Tier.objects.select_for_update().get(pk=tier.pk)
    with audited(actor=actor, obj=tier, fields=TIER_FIELDS):
        _tier_delete(tier)


def _tier_delete(tier: Tier) -> None:
    if tier.rank == 0:
        raise ValidationError(_("The entry tier cannot be deleted: every member starts in it."))
    if tier.members.exists():
        raise ValidationError(_("Members hold “%(name)s”; it cannot be deleted.") % {"name": tier.name})
    if TierChange.objects.filter(from_tier=tier).exists() or TierChange.objects.filter(to_tier=tier).exists():
        raise ValidationError(_("“%(name)s” appears in members' tier history; it cannot be deleted.")
                              % {"name": tier.name})
    if tier.rewards.exists():
        raise ValidationError(_("Rewards are limited to “%(name)s”; change them first.")
                              % {"name": tier.name})
    tier.delete()


@transaction.atomic
def programme_update(*, basis: str | None = None, window_months: int | None = None,
                     grace_days: int | None = None, downgrade_mode: str | None = None,
                     actor: User | None = None) -> TierProgramme:
    """Change how members qualify. Members are moved by the next checkout or evaluation."""
    programme = _programme_lock()
    changes = {"basis": basis, "window_months": window_months, "grace_days": grace_days,
               "downgrade_mode": downgrade_mode}
    return settings_update(actor=actor, obj=programme, fields=PROGRAMME_FIELDS, validate=_programme_validate,
                           full_clean=False,
                           changes={field: value for field, value in changes.items() if value is not None})


PROGRAMME_FIELDS = ("basis", "window_months", "grace_days", "downgrade_mode")


def _programme_validate(programme: TierProgramme) -> None:
    errors: dict[str, list[str]] = {}
    if programme.window_months > MAX_WINDOW_MONTHS:
        errors["window_months"] = [_("The window can be at most %(months)s months (0 counts the whole "
                                     "history).") % {"months": MAX_WINDOW_MONTHS}]
    if programme.grace_days > MAX_GRACE_DAYS:
        errors["grace_days"] = [_("The grace period can be at most %(days)s days.")
                                % {"days": MAX_GRACE_DAYS}]
    if errors:
        raise ValidationError(errors)
    programme.full_clean()
    ladder_errors = _ladder_errors(tiers_list(), programme.basis)
    if ladder_errors:
        messages = [message for field_messages in ladder_errors.values() for message in field_messages]
        raise ValidationError({"basis": [_("The tiers do not fit this basis: %(problems)s")
                                         % {"problems": " ".join(messages)}]})


def _metrics_json(metrics: TierMetrics, programme: TierProgramme) -> dict:
    return {"spend": str(metrics.spend), "visits": metrics.visits,
            "window_months": programme.window_months, "basis": programme.basis}


def _members_lock(member_ids: list[int]) -> list[int]:
    """Serialise tier moves per member (checkout and the evaluation may run at once)."""
    return list(Member.objects.select_for_update(no_key=True).filter(
        pk__in=member_ids, status=Member.Status.ACTIVE).order_by("pk").values_list("pk", flat=True))


@dataclass(frozen=True)
class TierStanding:
    """A member's tier as checkout needs it: the programme, the ladder, the member's tier state
    and current tier, read with the member's tier lock held (`locked` is False, and nothing may
    move, when the member is not active)."""

    programme: TierProgramme
    ladder: list[Tier]
    state: MemberTier | None
    current: Tier
    locked: bool


_STATE_COLUMNS = tuple(field.column for field in MemberTier._meta.concrete_fields)  # Model.from_db's order

# The member's tier lock and tier state in one statement (checkout runs it every time; plain SQL
# spares the ORM's building of a locking join).
_STANDING_LOCK_SQL = f"""
SELECT m.id, {", ".join(f"t.{column}" for column in _STATE_COLUMNS)}
FROM {Member._meta.db_table} m LEFT JOIN {MemberTier._meta.db_table} t ON t.member_id = m.id
WHERE m.id = %s AND m.status = %s
FOR NO KEY UPDATE OF m
"""  # noqa: S608 - built from constants


def tier_standing_lock(member: Member, *, programme: TierProgramme | None = None,
                       ladder: list[Tier] | None = None) -> TierStanding:
    """Take the member's tier lock (as `_members_lock`) and read their tier state in the same
    query, with the programme and the ladder given or read. Must run in a transaction."""
    programme = programme or programme_get()
    ladder = ladder or tier_ladder(tiers_list())
    with connection.cursor() as cursor:
        cursor.execute(_STANDING_LOCK_SQL, [member.pk, Member.Status.ACTIVE.value])
        row = cursor.fetchone()
    state = None
    if row is not None and row[1] is not None:
        state = MemberTier.from_db(connection.alias, _STATE_COLUMNS, row[1:])
    return _standing(member, programme, ladder, state, locked=row is not None)


def _standing(member: Member, programme: TierProgramme, ladder: list[Tier], state: MemberTier | None, *,
              locked: bool) -> TierStanding:
    if state is not None:
        state.member = member
    current = next((tier for tier in ladder if state and tier.pk == state.tier_id), ladder[0])
    return TierStanding(programme=programme, ladder=ladder, state=state, current=current, locked=locked)


def tier_standing_read(member: Member, *, programme: TierProgramme, ladder: list[Tier]) -> TierStanding:
    """The member's standing as `tier_standing_lock` reads it, without the lock (for a quote):
    `locked` says whether the member is active, so that their tier may move."""
    state = MemberTier.objects.filter(member_id=member.pk).first() if member.is_active else None
    return _standing(member, programme, ladder, state, locked=member.is_active)


@transaction.atomic(savepoint=False)
def tier_upgrade_check(*, member: Member, actor: User | None, at: datetime, reason: str,
                       standing: TierStanding | None = None) -> TierChange | None:
    """Move the member up at once if their spend and visits now reach a higher tier; never
    down. Called by checkout after the visit is recorded, in the same transaction, with the
    `standing` it read (and locked) before recording it."""
    standing = standing or tier_standing_lock(member)
    if not standing.locked:
        return None
    programme, ladder, state, current = standing.programme, standing.ladder, standing.state, standing.current
    metrics = member_tier_metrics(member, at, programme=programme)
    qualified = tier_qualified(metrics, programme=programme, tiers=ladder)
    if qualified.rank <= current.rank:
        if state and state.below_since and tier_meets(current, metrics, basis=programme.basis):
            state.below_since = None
            state.save(update_fields=["below_since"])
        return None
    if state is None:
        state = MemberTier(member=member)
    state.tier, state.since, state.below_since = qualified, at, None
    state.save()
    return TierChange.objects.create(member=member, from_tier=current, to_tier=qualified,
                                     kind=TierChange.Kind.UPGRADE, reason=reason[:255],
                                     metrics=_metrics_json(metrics, programme), actor=actor)


@transaction.atomic
def tier_set_manual(*, member: Member, tier: Tier, actor: User, reason: str,
                    at: datetime | None = None) -> TierChange:
    """A manager puts a member in a tier. The usual rules apply from then on: the member moves
    up at checkout if they qualify higher, and down only after the grace period."""
    if not actor.has_perm("members.manage_member"):
        raise PermissionDenied(_("Only managers may set a member's tier."))
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the tier is set by hand.")})
    if not member.is_active:
        raise ValidationError(_("Only an active member's tier can be set."))
    at = at or timezone.now()
    programme = programme_get()
    ladder = tier_ladder(tiers_list())
    _members_lock([member.pk])
    state = MemberTier.objects.filter(member=member).first()
    current = next((t for t in ladder if state and t.pk == state.tier_id), ladder[0])
    if current.pk == tier.pk:
        raise ValidationError({"tier": _("The member is already in “%(name)s”.") % {"name": tier.name}})
    if state is None:
        state = MemberTier(member=member)
    state.tier, state.since, state.below_since = tier, at, None
    state.save()
    metrics = member_tier_metrics(member, at, programme=programme)
    return TierChange.objects.create(member=member, from_tier=current, to_tier=tier,
                                     kind=TierChange.Kind.MANUAL, reason=reason.strip()[:255],
                                     metrics=_metrics_json(metrics, programme), actor=actor)


@dataclass(frozen=True)
class _Verdict:
    tier: Tier
    below_since: datetime | None


def _verdict(*, programme: TierProgramme, ladder: list[Tier], current: Tier, since: datetime | None,
             below_since: datetime | None, metrics: TierMetrics, at: datetime) -> _Verdict:
    qualified = tier_qualified(metrics, programme=programme, tiers=ladder)
    if qualified.rank >= current.rank:
        return _Verdict(qualified, None)
    below_since = below_since or at
    due_on = downgrade_earliest_on(programme=programme, short_on=local_date(below_since),
                                   reached_on=local_date(since or at))
    if local_date(at) < due_on:
        return _Verdict(current, below_since)
    target = qualified if programme.downgrade_mode == TierProgramme.DowngradeMode.MATCHING \
        else tier_below(current, ladder)
    return _Verdict(target, None if tier_meets(target, metrics, basis=programme.basis) else at)


def tiers_evaluate(*, at: datetime, actor: User | None = None) -> dict[str, int]:
    """The nightly evaluation of every active member: upgrades anyone who qualifies higher (e.g.
    from imported history), starts the grace period of a member who has fallen short, clears it
    for one who qualifies again, and moves down a member whose grace period has ended — to the
    tier they qualify for, or one step, as the programme says. Set-based: one grouped query of
    spend and visits for all members, then only the members who move are locked and written,
    in batches. Running it again for the same moment changes nothing."""
    programme = programme_get()
    ladder = tier_ladder(tiers_list())
    counts = {"evaluated": 0, "upgraded": 0, "downgraded": 0, "grace_started": 0, "grace_cleared": 0}
    if ladder[0].pk is None:
        return counts
    metrics = tier_metrics_by_member(at=at, programme=programme)
    states = {row[0]: row[1:] for row in MemberTier.objects.filter(member__status=Member.Status.ACTIVE)
              .values_list("member_id", "tier_id", "since", "below_since")}
    by_pk = {tier.pk: tier for tier in ladder}
    movers = []
    for member_id in metrics.keys() | states.keys():
        tier_id, since, below_since = states.get(member_id, (ladder[0].pk, None, None))
        current = by_pk[tier_id]
        verdict = _verdict(programme=programme, ladder=ladder, current=current, since=since,
                           below_since=below_since, metrics=metrics.get(member_id, NO_METRICS), at=at)
        if verdict.tier != current or verdict.below_since != below_since:
            movers.append(member_id)
    counts["evaluated"] = len(metrics.keys() | states.keys())
    movers.sort()
    for start in range(0, len(movers), EVALUATION_BATCH):
        batch = _evaluate_batch(member_ids=movers[start:start + EVALUATION_BATCH], programme=programme,
                                ladder=ladder, actor=actor, at=at)
        for key, value in batch.items():
            counts[key] += value
    MemberTier.objects.filter(member__status=Member.Status.ACTIVE).update(evaluated_at=at)
    return counts


@transaction.atomic
def _evaluate_batch(*, member_ids: list[int], programme: TierProgramme, ladder: list[Tier],
                    actor: User | None, at: datetime) -> dict[str, int]:
    """Lock the members, read their state and metrics again (a checkout may have moved them
    since the first read), and apply what is still due."""
    counts = {"upgraded": 0, "downgraded": 0, "grace_started": 0, "grace_cleared": 0}
    locked = _members_lock(member_ids)
    metrics = tier_metrics_by_member(at=at, programme=programme, member_ids=locked)
    states = {state.member_id: state for state in MemberTier.objects.filter(member_id__in=locked)}
    by_pk = {tier.pk: tier for tier in ladder}
    created, updated, changes = [], [], []
    for member_id in locked:
        state = states.get(member_id)
        current = by_pk[state.tier_id] if state else ladder[0]
        member_metrics = metrics.get(member_id, NO_METRICS)
        below_since = state.below_since if state else None
        verdict = _verdict(programme=programme, ladder=ladder, current=current,
                           since=state.since if state else None, below_since=below_since,
                           metrics=member_metrics, at=at)
        if verdict.tier == current and verdict.below_since == below_since:
            continue
        if verdict.tier != current:
            upgrade = verdict.tier.rank > current.rank
            counts["upgraded" if upgrade else "downgraded"] += 1
            change_metrics = _metrics_json(member_metrics, programme)
            if upgrade:
                reason = _("Qualified at the tier evaluation.")
            else:
                # What the move down was based on, so that its reason is worded in the reader's
                # language when shown (`tier_change_reason_text`).
                short_on = local_date(below_since or at)
                change_metrics |= {"below_since": short_on.isoformat(), "grace_days": programme.grace_days}
                reason = downgrade_reason_text(tier=current.name, below_since=short_on,
                                               grace_days=programme.grace_days)
            changes.append(TierChange(
                member_id=member_id, from_tier=current, to_tier=verdict.tier, reason=reason[:255],
                kind=TierChange.Kind.UPGRADE if upgrade else TierChange.Kind.DOWNGRADE,
                metrics=change_metrics, actor=actor))
        elif verdict.below_since:
            counts["grace_started"] += 1
        else:
            counts["grace_cleared"] += 1
        if state is None:
            created.append(MemberTier(member_id=member_id, tier=verdict.tier, since=at,
                                      below_since=verdict.below_since, evaluated_at=at))
            continue
        if verdict.tier != current:
            state.tier, state.since = verdict.tier, at
        state.below_since = verdict.below_since
        updated.append(state)
    MemberTier.objects.bulk_create(created)
    MemberTier.objects.bulk_update(updated, ["tier", "since", "below_since"])
    TierChange.objects.bulk_create(changes)
    return counts



@transaction.atomic(savepoint=False)
def tier_raise_to(*, member: Member, tier: Tier, actor: User | None, at: datetime, reason: str) -> TierChange | None:
    """Raise the member to `tier` if they are below it (a top-up plan that comes with a tier);
    never down. From then on the usual rules apply, as after an upgrade at checkout."""
    standing = tier_standing_lock(member)
    if not standing.locked or tier.rank <= standing.current.rank:
        return None
    state = standing.state or MemberTier(member=member)
    state.tier, state.since, state.below_since = tier, at, None
    state.save()
    metrics = member_tier_metrics(member, at, programme=standing.programme)
    return TierChange.objects.create(member=member, from_tier=standing.current, to_tier=tier,
                                     kind=TierChange.Kind.UPGRADE, reason=reason[:255],
                                     metrics=_metrics_json(metrics, standing.programme), actor=actor)

"""Coupons: issuing them from a template, pricing them against a bill, using them once,
giving them back on a full refund, cancelling and expiring them. Every change of status is
recorded as a coupon event with its actor."""

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import settings_change, settings_update
from clinics.formatting import day_text, last_day_text
from members.models import Member
from points.ledger import account_for
from points.models import Coupon, CouponEvent, CouponTemplate
from points.rules import local_date, local_midnight
from visits.models import CatalogueItem, Category, Visit

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class CouponAlreadyIssued(Exception):
    """A coupon guarded by this dedupe key was issued before; nothing new was issued."""

    def __init__(self, coupon: Coupon):
        self.coupon = coupon


@dataclass(frozen=True)
class CouponLine:
    """One line of a bill as a coupon sees it."""

    category_id: int | None
    item_id: int | None
    line_total: Decimal
    quantity: int = 1


def coupon_code_normalize(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def _code_generate() -> str:
    # The alphabet has 32 characters, so the low 5 bits of a random byte choose one uniformly:
    # one call for the random bytes instead of one per character (a batch issues thousands).
    return "".join(CODE_ALPHABET[byte & 31] for byte in secrets.token_bytes(CODE_LENGTH))


if len(CODE_ALPHABET) != 32:
    raise ImproperlyConfigured("_code_generate needs an alphabet of 32 characters")


def coupon_validity(*, template: CouponTemplate, issued_at: datetime) -> tuple[datetime, datetime]:
    """When a coupon issued now can be used: from the template's first day (or now) until the end
    of its last day, or the end of the day `valid_days` after the day of issue, whichever comes
    first; all in the clinic's time zone."""
    valid_from = issued_at
    if template.valid_from is not None:
        valid_from = max(issued_at, local_midnight(template.valid_from))
    ends = []
    if template.valid_until is not None:
        ends.append(local_midnight(template.valid_until + timedelta(days=1)))
    if template.valid_days is not None:
        ends.append(local_midnight(local_date(issued_at) + timedelta(days=template.valid_days + 1)))
    return valid_from, min(ends)


TEMPLATE_FIELDS = ("name", "kind", "amount", "percent", "cap", "free_item", "valid_days", "valid_from",
                   "valid_until", "min_spend", "per_member_limit", "total_limit", "active")


def _template_check(template: CouponTemplate) -> None:
    errors = {}
    kind = template.kind
    if kind == CouponTemplate.Kind.FIXED and not (template.amount and template.amount > 0):
        errors["amount"] = _("A fixed-amount coupon needs an amount greater than zero.")
    if kind == CouponTemplate.Kind.PERCENT and not (template.percent and 0 < template.percent <= 100):
        errors["percent"] = _("A percentage coupon needs a percentage from 1 to 100.")
    if kind == CouponTemplate.Kind.FREE_ITEM and template.free_item is None:
        errors["free_item"] = _("Choose the treatment or product this coupon gives free.")
    if template.valid_days is None and template.valid_until is None:
        errors["valid_days"] = _("Give the number of days a coupon is valid, or a last day.")
    if template.valid_from and template.valid_until and template.valid_until < template.valid_from:
        errors["valid_until"] = _("The last day is before the first day.")
    if template.total_limit is not None and template.total_limit < template.issued_count:
        errors["total_limit"] = _("%(count)s coupons of this template are already issued; the limit cannot be "
                                  "lower.") % {"count": template.issued_count}
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def coupon_template_create(*, name: str, kind: str, amount: Decimal | None = None, percent: int | None = None,
                           cap: Decimal | None = None, free_item: CatalogueItem | None = None,
                           valid_days: int | None = None, valid_from: date | None = None,
                           valid_until: date | None = None, min_spend: Decimal = ZERO,
                           per_member_limit: int | None = None, total_limit: int | None = None,
                           active: bool = True, categories: Iterable[Category] = (),
                           actor: User | None = None) -> CouponTemplate:
    template = CouponTemplate(name=name.strip(), kind=kind, amount=amount, percent=percent, cap=cap,
                              free_item=free_item, valid_days=valid_days, valid_from=valid_from,
                              valid_until=valid_until, min_spend=min_spend, per_member_limit=per_member_limit,
                              total_limit=total_limit, active=active)
    return settings_update(actor=actor, obj=template, changes={}, fields=TEMPLATE_FIELDS,
                           validate=_template_check, related={"categories": categories})


@transaction.atomic
def coupon_template_update(*, template: CouponTemplate, categories: Iterable[Category] | None = None,
                           actor: User | None = None, **changes) -> CouponTemplate:
    """Change a template. Coupons already issued keep their validity; their discount follows the
    template."""
    template = CouponTemplate.objects.select_for_update().get(pk=template.pk)
    return settings_update(actor=actor, obj=template, changes=changes, fields=TEMPLATE_FIELDS,
                           validate=_template_check, related={"categories": categories})


@transaction.atomic
def coupon_template_delete(*, template: CouponTemplate, actor: User | None = None) -> None:
    """Delete a template no coupon or reward uses; one in use can only be deactivated."""
    template = CouponTemplate.objects.select_for_update().get(pk=template.pk)
    with settings_change(actor=actor, obj=template, fields=(*TEMPLATE_FIELDS, "categories")):
        if Coupon.objects.filter(template=template).exists() or template.rewards.exists():
            raise ValidationError(_("Coupons or rewards use this template, so it cannot be deleted; "
                                    "deactivate it instead."))
        template.categories.clear()
        template.delete()


def _event(coupon: Coupon, kind: str, *, actor: User | None, at: datetime, **detail) -> None:
    CouponEvent.objects.create(coupon=coupon, kind=kind, actor=actor, at=at, detail=detail)


@transaction.atomic
def coupon_issue(*, member: Member, template: CouponTemplate, source: str, actor: User | None,
                 at: datetime | None = None, dedupe_key: str | None = None) -> Coupon:
    """Give a member a coupon with a unique code. Refused for an inactive template or member, a
    template whose validity has ended, a member who already holds the template's limit, or a
    template whose total limit is reached (cancelled coupons count for neither). The template's
    row is locked until commit (after the member's account, as a redemption does), so concurrent
    issues of one template queue up and its total limit holds; the database refuses a count above
    it in any case. With `dedupe_key`, a second call raises CouponAlreadyIssued instead of
    issuing again."""
    at = at or timezone.now()
    if dedupe_key:
        existing = Coupon.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            raise CouponAlreadyIssued(existing)
    if source not in Coupon.Source.values:
        raise ValidationError({"source": _("Unknown coupon source.")})
    if not member.is_active:
        raise ValidationError(_("Only an active member can receive coupons."))
    template = CouponTemplate.objects.get(pk=template.pk)
    if not template.active:
        raise ValidationError(_("The coupon “%(name)s” is no longer issued.") % {"name": template.name})
    valid_from, valid_until = coupon_validity(template=template, issued_at=at)
    if valid_until <= valid_from:
        raise ValidationError(_("The coupon “%(name)s” can no longer be used, so it cannot be issued.")
                              % {"name": template.name})
    if template.per_member_limit is not None:
        account_for(member, lock=True)
        held = (Coupon.objects.filter(template=template, member=member)
                .exclude(status=Coupon.Status.VOID).count())
        if held >= template.per_member_limit:
            raise ValidationError(
                _("%(name)s already has %(count)s of the coupon “%(coupon)s”, the most one member may have.")
                % {"name": member.name, "count": held, "coupon": template.name}, code="coupon_limit")
    if coupon_template_room(template) == 0:
        raise ValidationError(_("All %(limit)s coupons “%(name)s” have been issued; no more can be.")
                              % {"limit": template.total_limit, "name": template.name}, code="coupon_total_limit")
    for _attempt in range(5):
        try:
            with transaction.atomic():
                coupon = Coupon.objects.create(
                    code=_code_generate(), template=template, member=member, source=source,
                    issued_at=at, issued_by=actor, valid_from=valid_from, valid_until=valid_until,
                    dedupe_key=dedupe_key)
            break
        except IntegrityError:
            if dedupe_key and Coupon.objects.filter(dedupe_key=dedupe_key).exists():
                raise CouponAlreadyIssued(Coupon.objects.get(dedupe_key=dedupe_key)) from None
    else:
        raise IntegrityError("no free coupon code after 5 attempts")
    _event(coupon, CouponEvent.Kind.ISSUED, actor=actor, at=at, source=source)
    return coupon


@dataclass(frozen=True)
class IssueOutcome:
    """What issuing to one member of a batch did: a new coupon, the coupon an earlier send of
    the same batch issued (`repeated`), or why none was issued (`error`)."""

    member: Member
    coupon: Coupon | None = None
    repeated: bool = False
    error: str = ""


@transaction.atomic
def coupon_issue_many(*, members: Iterable[Member], template: CouponTemplate, actor: User | None,
                      batch_key: str, source: str = Coupon.Source.MANUAL) -> list[IssueOutcome]:
    """Issue one coupon of `template` to each member, each through `coupon_issue` with its own
    checks: a member refused (inactive, at the per-member limit) or the total limit reached
    stops only that member's coupon. Sending the same `batch_key` again issues nothing twice."""
    digest = hashlib.sha256(batch_key.encode()).hexdigest()[:40]
    outcomes = []
    for member in members:
        try:
            coupon = coupon_issue(member=member, template=template, source=source, actor=actor,
                                  dedupe_key=f"batch:{digest}:{member.pk}")
        except CouponAlreadyIssued as exc:
            outcomes.append(IssueOutcome(member=member, coupon=exc.coupon, repeated=True))
        except ValidationError as exc:
            outcomes.append(IssueOutcome(member=member, error=" ".join(exc.messages)))
        else:
            outcomes.append(IssueOutcome(member=member, coupon=coupon))
    return outcomes


def _applicable_lines(template: CouponTemplate, lines: list[CouponLine]) -> list[CouponLine]:
    categories = set(template.categories.values_list("pk", flat=True))
    if not categories:
        return list(lines)
    return [line for line in lines if line.category_id in categories]


def coupon_discount_for(*, coupon: Coupon, member: Member, lines: list[CouponLine], at: datetime) -> Decimal:
    """How much `coupon` takes off this bill, or a ValidationError saying why it cannot be used.
    Writes nothing. Fixed: the amount, at most what it applies to; percent: that share of what
    it applies to, at most the cap; free item: one unit of that item on the bill."""
    template = coupon.template
    if coupon.member_id != member.pk:
        raise ValidationError({"coupon_code": _("This coupon belongs to another member.")})
    if coupon.status == Coupon.Status.REDEEMED:
        raise ValidationError({"coupon_code": _("This coupon has already been used.")})
    if coupon.status == Coupon.Status.VOID:
        raise ValidationError({"coupon_code": _("This coupon has been cancelled.")})
    if coupon.status == Coupon.Status.EXPIRED or at >= coupon.valid_until:
        raise ValidationError({"coupon_code": _("This coupon expired on %(day)s.")
                               % {"day": last_day_text(coupon.valid_until)}})
    if at < coupon.valid_from:
        raise ValidationError({"coupon_code": _("This coupon can be used from %(day)s.")
                               % {"day": day_text(coupon.valid_from)}})
    applicable = _applicable_lines(template, lines)
    if not applicable:
        raise ValidationError({"coupon_code": _("This coupon does not apply to anything on this bill.")})
    applicable_total = sum((line.line_total for line in applicable), ZERO)
    if applicable_total < template.min_spend:
        raise ValidationError({"coupon_code": _(
            "This coupon needs a spend of at least %(min)s on the items it applies to; "
            "this bill has %(spend)s.")
            % {"min": template.min_spend, "spend": applicable_total}})
    if template.kind == CouponTemplate.Kind.FIXED:
        discount = min(template.amount, applicable_total)
    elif template.kind == CouponTemplate.Kind.PERCENT:
        discount = (applicable_total * template.percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        if template.cap is not None:
            discount = min(discount, template.cap)
    else:
        units = [line.line_total / line.quantity for line in lines
                 if line.item_id == template.free_item_id and line.quantity > 0]
        if not units:
            message = _("This coupon is for a free “%(item)s”; add it to the bill.")
            raise ValidationError({"coupon_code": message % {"item": template.free_item.name}})
        discount = max(units).quantize(CENT, rounding=ROUND_HALF_UP)
    return max(discount, ZERO)


@transaction.atomic
def coupon_consume(*, coupon: Coupon, visit: Visit, discount: Decimal, at: datetime) -> Coupon:
    """Mark a coupon used on `visit`. The status moves from issued in one conditional UPDATE, so
    two checkouts can never both use it."""
    if visit.member_id != coupon.member_id:
        raise ValidationError({"coupon_code": _("This coupon belongs to another member.")})
    used = Coupon.objects.filter(pk=coupon.pk, status=Coupon.Status.ISSUED, valid_from__lte=at,
                                 valid_until__gt=at).update(
        status=Coupon.Status.REDEEMED, redeemed_at=at, redeemed_visit=visit, discount_given=discount)
    if not used:
        raise ValidationError({"coupon_code": _(
            "This coupon cannot be used: it is used, cancelled or expired.")})
    coupon.status, coupon.redeemed_at, coupon.redeemed_visit, coupon.discount_given = (
        Coupon.Status.REDEEMED, at, visit, discount)
    _event(coupon, CouponEvent.Kind.REDEEMED, actor=visit.staff, at=at, visit=visit.pk,
           discount=str(discount))
    return coupon


@transaction.atomic
def coupon_reinstate(*, coupon: Coupon, actor: User | None, at: datetime | None = None) -> Coupon:
    """Give a used coupon back (a full refund of its visit): usable again if still within its
    validity, otherwise expired."""
    at = at or timezone.now()
    coupon = Coupon.objects.select_for_update().get(pk=coupon.pk)
    if coupon.status != Coupon.Status.REDEEMED:
        raise ValidationError(_("Only a used coupon can be given back."))
    visit_id, discount = coupon.redeemed_visit_id, coupon.discount_given
    coupon.status = Coupon.Status.ISSUED if coupon.valid_until > at else Coupon.Status.EXPIRED
    coupon.redeemed_at = coupon.redeemed_visit = coupon.discount_given = None
    coupon.save(update_fields=["status", "redeemed_at", "redeemed_visit", "discount_given"])
    _event(coupon, CouponEvent.Kind.REINSTATED, actor=actor, at=at, visit=visit_id, discount=str(discount),
           status=coupon.status)
    return coupon


@transaction.atomic
def coupon_void(*, coupon: Coupon, actor: User | None, reason: str, at: datetime | None = None) -> Coupon:
    """Cancel a coupon that has not been used."""
    at = at or timezone.now()
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the coupon is cancelled.")})
    if not Coupon.objects.filter(pk=coupon.pk, status=Coupon.Status.ISSUED).update(status=Coupon.Status.VOID):
        raise ValidationError(_("Only a coupon that is ready to use can be cancelled."))
    coupon.status = Coupon.Status.VOID
    _event(coupon, CouponEvent.Kind.VOIDED, actor=actor, at=at, reason=reason.strip())
    return coupon


_EXPIRE_SQL = """
WITH expired AS (
    UPDATE points_coupon SET status = 'expired'
    WHERE status = 'issued' AND valid_until <= %(now)s
    RETURNING id
)
INSERT INTO points_couponevent (coupon_id, kind, at, detail)
SELECT id, 'expired', %(now)s, '{}'::jsonb FROM expired
"""


def coupon_template_room(template: CouponTemplate) -> int | None:
    """How many more coupons of `template` may be issued (None: no total limit), with the
    template's row locked until commit, for issuing many at once in one statement."""
    issued, limit = (CouponTemplate.objects.select_for_update().filter(pk=template.pk)
                     .values_list("issued_count", "total_limit").get())
    return None if limit is None else max(limit - issued, 0)


def coupons_expire(*, now: datetime | None = None) -> int:
    """Expire every unused coupon past its validity, in one statement. Returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(_EXPIRE_SQL, {"now": now or timezone.now()})
        return cursor.rowcount


_ISSUE_MANY_SQL = """
WITH issued AS (
    INSERT INTO points_coupon (code, template_id, member_id, status, source, issued_at, issued_by_id,
                               valid_from, valid_until, dedupe_key)
    SELECT c, %(template)s, m, 'issued', %(source)s, %(at)s, %(actor)s, %(valid_from)s, %(valid_until)s, k
    FROM unnest(%(codes)s::text[], %(members)s::bigint[], %(keys)s::text[]) AS t(c, m, k)
    WHERE %(limit)s::int IS NULL OR (
        SELECT COUNT(*) FROM points_coupon held
        WHERE held.template_id = %(template)s AND held.member_id = t.m AND held.status <> 'void'
    ) < %(limit)s::int
    ORDER BY t.m
    LIMIT %(room)s::int
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id, member_id
),
events AS (
    INSERT INTO points_couponevent (coupon_id, kind, at, actor_id, detail)
    SELECT id, 'issued', %(at)s, %(actor)s, jsonb_build_object('source', %(source)s::text) FROM issued
)
SELECT member_id, id FROM issued
"""


def coupons_issue_many(*, template: CouponTemplate, member_ids: list[int], source: str, dedupe_keys: list[str],
                       at: datetime, actor: User | None = None) -> dict[int, int]:
    """Issue the template's coupon to many members at once (a job's way, in the caller's
    transaction): one coupon per member, each with its dedupe key and an `issued` event; members
    at the template's per-member limit, and keys used before, are left out, and no more are
    issued than the template's total limit leaves room for (members in id order). Nothing is issued
    for an inactive template or one whose validity has ended. Returns the coupon id per member
    issued to."""
    if not member_ids or not template.active:
        return {}
    valid_from, valid_until = coupon_validity(template=template, issued_at=at)
    if valid_until <= valid_from:
        return {}
    room = coupon_template_room(template)  # the template's total limit: the first members by id
    if room == 0:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_ISSUE_MANY_SQL, {
            "room": room, "template": template.pk, "source": source, "at": at, "valid_from": valid_from,
            "valid_until": valid_until, "limit": template.per_member_limit, "actor": actor.pk if actor else None,
            "codes": [_code_generate() for _member in member_ids], "members": member_ids, "keys": dedupe_keys})
        return dict(cursor.fetchall())


# Bulk issue: a coupon to every member of a segment or a list, all or nothing ----------------

BULK_LIMIT = 5000


@dataclass
class BulkIssuePlan:
    """What issuing `template` to a list of members would do: who gets one, who does not and
    why, and whether it fits the template's total limit. `error` says why nothing can be issued."""

    template: CouponTemplate
    member_ids: list[int]
    to_issue: list[int] = field(default_factory=list)
    not_active: list[Member] = field(default_factory=list)
    at_limit: list[Member] = field(default_factory=list)
    room: int | None = None
    error: str = ""

    @property
    def skipped(self) -> int:
        return len(self.not_active) + len(self.at_limit)


@dataclass(frozen=True)
class BulkIssueResult:
    plan: BulkIssuePlan
    issued: dict[int, int]
    repeated: bool = False


def bulk_run_prefix(*, actor: User | None, run_key: str) -> str:
    """The dedupe-key prefix of one bulk run (one form or one API `Idempotency-Key`)."""
    digest = hashlib.sha256(f"{actor.pk if actor else 0}:{run_key}".encode()).hexdigest()[:32]
    return f"bulk:{digest}:"


def coupons_bulk_plan(*, template: CouponTemplate, member_ids: list[int], lock: bool = False) -> BulkIssuePlan:
    """Who of `member_ids` (each once, in order) would get a coupon of `template`: active
    members below the template's per-member limit. Nothing at all is issued when they are more
    than the coupons the template's total limit leaves, when there are more than BULK_LIMIT, or
    when the template is inactive or its validity has ended (`error`)."""
    member_ids = list(dict.fromkeys(member_ids))
    plan = BulkIssuePlan(template=template, member_ids=member_ids)
    if lock:
        plan.room = coupon_template_room(template)
    else:
        issued, limit = CouponTemplate.objects.filter(pk=template.pk).values_list("issued_count", "total_limit").get()
        plan.room = None if limit is None else max(limit - issued, 0)
    members = Member.objects.in_bulk(member_ids)
    held: dict[int, int] = {}
    if template.per_member_limit is not None:
        held = dict(Coupon.objects.filter(template=template, member_id__in=member_ids)
                    .exclude(status=Coupon.Status.VOID).values("member_id").annotate(n=models.Count("id"))
                    .values_list("member_id", "n"))
    for pk in member_ids:
        member = members.get(pk)
        if member is None:
            continue
        if not member.is_active:
            plan.not_active.append(member)
        elif template.per_member_limit is not None and held.get(pk, 0) >= template.per_member_limit:
            plan.at_limit.append(member)
        else:
            plan.to_issue.append(pk)
    valid_from, valid_until = coupon_validity(template=template, issued_at=timezone.now())
    if not template.active:
        plan.error = _("The coupon “%(name)s” is no longer issued.") % {"name": template.name}
    elif valid_until <= valid_from:
        plan.error = _("The coupon “%(name)s” can no longer be used, so it cannot be issued.") % {
            "name": template.name}
    elif not plan.to_issue:
        plan.error = _("None of these members can receive the coupon.")
    elif len(plan.to_issue) > BULK_LIMIT:
        plan.error = _("At most %(limit)s members at once; this is %(count)s.") % {
            "limit": BULK_LIMIT, "count": len(plan.to_issue)}
    elif plan.room is not None and len(plan.to_issue) > plan.room:
        plan.error = _("%(count)s members would get the coupon “%(name)s”, but only %(room)s of its %(limit)s "
                       "coupons are left. Nothing was issued: choose fewer members or raise the total limit.") % {
            "count": len(plan.to_issue), "name": template.name, "room": plan.room, "limit": template.total_limit}
    return plan


@transaction.atomic
def coupons_bulk_issue(*, template: CouponTemplate, member_ids: list[int], actor: User | None, run_key: str,
                       at: datetime | None = None) -> BulkIssueResult:
    """Issue one coupon of `template` to each member the plan allows, in one statement, all or
    nothing: over the template's total limit (or any other `coupons_bulk_plan` error) nothing is
    issued (ValidationError). The run's `run_key` makes every coupon's dedupe key, so sending the
    same run again issues nothing and answers with the coupons issued the first time."""
    at = at or timezone.now()
    template = CouponTemplate.objects.get(pk=template.pk)
    prefix = bulk_run_prefix(actor=actor, run_key=run_key)
    plan = coupons_bulk_plan(template=template, member_ids=member_ids, lock=True)
    done = dict(Coupon.objects.filter(dedupe_key__startswith=prefix).values_list("member_id", "id"))
    if done:
        return BulkIssueResult(plan=plan, issued=done, repeated=True)
    if plan.error:
        raise ValidationError(plan.error, code="coupon_bulk_refused")
    issued = coupons_issue_many(template=template, member_ids=plan.to_issue, source=Coupon.Source.MANUAL,
                                dedupe_keys=[f"{prefix}{pk}" for pk in plan.to_issue], at=at, actor=actor)
    return BulkIssueResult(plan=plan, issued=issued)

"""Birthday offers, granted set-based in batches: for each batch one transaction writes the guard
rows, the bonus-point entries and lots, the coupons and the messages, so a batch happens
entirely or not at all, and a member's guard row makes a second grant in the same year a no-op."""

import secrets
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import settings_change_check
from campaigns.birthdays import Celebration, birthdays_on, catch_up_days
from campaigns.models import BirthdayGrant, BirthdayOffer
from clinics.formatting import day_text
from messaging.models import Purpose
from messaging.services import Outgoing, messages_queue
from points.coupons import CODE_ALPHABET, CODE_LENGTH, coupon_template_room, coupon_validity
from points.ledger import BulkCredit, ledger_credit_many
from points.models import CouponTemplate
from points.rules import local_date, lot_available_from, lot_expiry, loyalty_settings
from points.selectors import lot_last_day

BATCH_SIZE = 2000
# A run also grants what a missed run (a beat outage) would have granted on the days before.
CATCH_UP_DAYS = 2


def birthday_offer() -> BirthdayOffer:
    return BirthdayOffer.objects.filter(pk=1).first() or BirthdayOffer(pk=1)


def birthday_offer_install() -> BirthdayOffer:
    return BirthdayOffer.objects.get_or_create(pk=1)[0]


OFFER_FIELDS = ("enabled", "timing", "coupon_template", "bonus_points", "tier_gift", "send_message")


@transaction.atomic
def birthday_offer_update(*, actor: User | None, **changes) -> BirthdayOffer:
    """Change the clinic's birthday offer. A coupon template chosen anew must be active (one
    that was chosen before and has since been deactivated may stay; no coupon is given with it)."""
    settings_change_check(actor)
    unknown = set(changes) - set(OFFER_FIELDS)
    if unknown:
        raise ValidationError(_("These settings do not exist: %(fields)s")
                              % {"fields": ", ".join(sorted(unknown))})
    offer = BirthdayOffer.objects.select_for_update().get_or_create(pk=1)[0]
    coupon = changes.get("coupon_template")
    if coupon is not None and not coupon.active and coupon.pk != offer.coupon_template_id:
        raise ValidationError({"coupon_template": _("This coupon template is inactive; choose an active one.")})
    for name, value in changes.items():
        setattr(offer, name, value)
    offer.full_clean()
    offer.save()
    return offer


_GUARDS_SQL = """
INSERT INTO campaigns_birthdaygrant (member_id, year, celebrated_on, lunar, granted_at, points)
SELECT m, EXTRACT(YEAR FROM d)::int, d, l, %(now)s, 0
FROM unnest(%(members)s::bigint[], %(days)s::date[], %(lunar)s::boolean[]) AS t(m, d, l)
ORDER BY m
ON CONFLICT (member_id, year) DO NOTHING
RETURNING member_id, year
"""

_GIFTS_SQL = """
SELECT g.id, g.member_id, g.year,
       %(bonus)s + CASE WHEN %(tier_gift)s THEN COALESCE(t.birthday_gift_points, entry_tier.gift, 0) ELSE 0 END
FROM campaigns_birthdaygrant g
LEFT JOIN tiers_membertier mt ON mt.member_id = g.member_id
LEFT JOIN tiers_tier t ON t.id = mt.tier_id
CROSS JOIN (SELECT (SELECT birthday_gift_points FROM tiers_tier ORDER BY rank LIMIT 1) AS gift) entry_tier
WHERE g.member_id = ANY(%(members)s::bigint[]) AND g.year = ANY(%(years)s::int[])
  AND g.granted_at = %(now)s AND g.entry_id IS NULL
"""

_GRANTS_SQL = """
UPDATE campaigns_birthdaygrant g SET points = t.points, entry_id = t.entry_id
FROM unnest(%(grants)s::bigint[], %(points)s::int[], %(entries)s::bigint[]) AS t(grant_id, points, entry_id)
WHERE g.id = t.grant_id
"""

_COUPONS_SQL = """
WITH issued AS (
    INSERT INTO points_coupon (code, template_id, member_id, status, source, issued_at,
                               valid_from, valid_until, dedupe_key)
    SELECT c, %(template)s, m, 'issued', 'birthday', %(now)s, %(valid_from)s, %(valid_until)s,
           'birthday:' || y || ':' || m
    FROM unnest(%(codes)s::text[], %(members)s::bigint[], %(years)s::int[]) AS t(c, m, y)
    WHERE %(limit)s::int IS NULL OR (
        SELECT COUNT(*) FROM points_coupon held
        WHERE held.template_id = %(template)s AND held.member_id = t.m AND held.status <> 'void'
    ) < %(limit)s::int
    ORDER BY t.m
    LIMIT %(room)s::int
    RETURNING id, member_id, dedupe_key
),
events AS (
    INSERT INTO points_couponevent (coupon_id, kind, at, detail)
    SELECT id, 'issued', %(now)s, '{"source": "birthday"}'::jsonb FROM issued
)
UPDATE campaigns_birthdaygrant g SET coupon_id = i.id
FROM issued i
WHERE g.member_id = i.member_id AND i.dedupe_key = 'birthday:' || g.year || ':' || g.member_id
RETURNING g.member_id
"""


def _gift_text(points: int, coupon: CouponTemplate | None, valid_until: str) -> str:
    parts = []
    if points:
        parts.append(_("%(points)s bonus points are in your account.") % {"points": points})
    if coupon is not None:
        parts.append(_("Your birthday coupon “%(coupon)s” is valid until %(date)s.")
                     % {"coupon": coupon.name, "date": valid_until})
    return " ".join(parts)


def _grant_batch(*, celebrations: list[Celebration], offer: BirthdayOffer, now: datetime) -> dict[str, int]:
    rules = loyalty_settings()
    template = offer.coupon_template
    counts = {"granted": 0, "points": 0, "coupons": 0, "messages_queued": 0, "messages_skipped": 0}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_GUARDS_SQL, {"now": now, "members": [c.member_id for c in celebrations],
                                     "days": [c.on for c in celebrations],
                                     "lunar": [c.lunar for c in celebrations]})
        granted = sorted(cursor.fetchall())
        if not granted:
            return counts
        members = [member_id for member_id, _year in granted]
        years = sorted({year for _member, year in granted})
        counts["granted"] = len(granted)
        cursor.execute(_GIFTS_SQL, {"members": members, "years": years, "now": now, "bonus": offer.bonus_points,
                                    "tier_gift": offer.tier_gift})
        gifts = [row for row in cursor.fetchall() if row[3] > 0]
        reason = _("Birthday gift") + " "
        entries = ledger_credit_many(
            credits=[BulkCredit(member_id=member_id, amount=amount, source_id=str(grant_id), reason=f"{reason}{year}",
                                dedupe_key=f"birthday:{year}:{member_id}")
                     for grant_id, member_id, year, amount in gifts],
            kind="bonus", source_type="birthday", at=now,
            available_from=lot_available_from(now, rules), expires_at=lot_expiry(now, rules))
        cursor.execute(_GRANTS_SQL, {"grants": [g[0] for g in gifts], "points": [g[3] for g in gifts],
                                     "entries": [entries[str(g[0])] for g in gifts]})
        points = {member_id: amount for _grant, member_id, _year, amount in gifts}
        counts["points"] = sum(points.values())
        valid_until_text = ""
        with_coupon: set[int] = set()
        if template is not None and template.active:
            valid_from, valid_until = coupon_validity(template=template, issued_at=now)
            if valid_until > valid_from:
                cursor.execute(_COUPONS_SQL, {
                    "template": template.pk, "now": now, "valid_from": valid_from,
                    "valid_until": valid_until, "limit": template.per_member_limit,
                    "room": coupon_template_room(template),
                    "codes": [_code() for _member in granted], "members": members,
                    "years": [year for _member, year in granted]})
                with_coupon = {row[0] for row in cursor.fetchall()}
                counts["coupons"] = len(with_coupon)
                valid_until_text = day_text(lot_last_day(valid_until))
        if offer.send_message:
            outgoing = []
            for member_id, year in granted:
                coupon = template if member_id in with_coupon else None
                gift = _gift_text(points.get(member_id, 0), coupon, valid_until_text)
                outgoing.append(Outgoing(
                    member_id=member_id, guard_key=f"birthday:{year}:{member_id}",
                    variables={"gift": gift, "points": points.get(member_id, 0),
                               "coupon": coupon.name if coupon else "",
                               "coupon_valid_until": valid_until_text if coupon else ""}))
            messages = messages_queue(purpose=Purpose.BIRTHDAY_OFFER, outgoing=outgoing, at=now)
            counts["messages_skipped"] = sum(1 for m in messages if m.skip_reason)
            counts["messages_queued"] = len(messages) - counts["messages_skipped"]
    return counts


def _code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def birthday_offers_grant(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Give today's (and the missed days') birthday members the clinic's offer: bonus points and
    the tier's birthday gift as one ledger entry, the coupon, and the birthday message. Each
    member at most once per year. Batches commit one by one; a run that dies halfway leaves whole
    batches, and the next run does the rest."""
    now = now or timezone.now()
    offer = birthday_offer()
    counts = {"granted": 0, "points": 0, "coupons": 0, "messages_queued": 0, "messages_skipped": 0}
    if not offer.enabled:
        return counts
    days = catch_up_days(local_date(now), days_back=CATCH_UP_DAYS)
    celebrations = birthdays_on(days=days, timing=offer.timing)
    done = _already_granted(celebrations)
    pending = [c for c in celebrations if (c.member_id, c.on.year) not in done]
    for start in range(0, len(pending), batch_size):
        batch = _grant_batch(celebrations=pending[start:start + batch_size], offer=offer, now=now)
        for key, value in batch.items():
            counts[key] += value
    return counts


def _already_granted(celebrations: list[Celebration]) -> set[tuple[int, int]]:
    years = {c.on.year for c in celebrations}
    return set(BirthdayGrant.objects.filter(year__in=years, member_id__in=[c.member_id for c in celebrations])
               .values_list("member_id", "year"))

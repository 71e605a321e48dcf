"""Warnings before points expire: one message per member and expiry day, for every expiry day
within the clinic's warning period (so a day a missed run skipped is warned on the next run)."""

from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from messaging.models import Purpose
from messaging.services import Outgoing, messages_queue_batched
from points.rules import clinic_zone, local_date, local_midnight, loyalty_settings

WARNING_BATCH = 2000

_DUE_SQL = """
SELECT a.member_id, (l.expires_at AT TIME ZONE %(zone)s - interval '1 microsecond')::date AS last_day,
       SUM(l.remaining)::bigint AS points, MIN(a.balance) AS balance
FROM points_lot l
JOIN points_account a ON a.id = l.account_id AND a.asset = 'points'
JOIN members_member m ON m.id = a.member_id AND m.status = 'active'
WHERE l.remaining > 0 AND l.expires_at > %(now)s AND l.expires_at <= %(horizon)s
GROUP BY a.member_id, last_day
ORDER BY a.member_id, last_day
"""


def expiry_warning_key(member_id: int, last_day) -> str:
    return f"points-expiry:{member_id}:{last_day.isoformat()}"


def expiry_warnings_send(*, now: datetime | None = None) -> dict[str, int]:
    """Queue a warning to every active member with points whose last usable day is within the
    warning period (`expiry_warning_days` from today, in the clinic's time zone). The message log's
    guard key (member, last day) makes each warning happen once."""
    now = now or timezone.now()
    days = loyalty_settings().expiry_warning_days
    counts = {"warnings_queued": 0, "warnings_skipped": 0}
    if days == 0:
        return counts
    horizon = local_midnight(local_date(now) + timedelta(days=days + 1))
    with connection.cursor() as cursor:
        cursor.execute(_DUE_SQL, {"zone": str(clinic_zone()), "now": now, "horizon": horizon})
        due = cursor.fetchall()
    outgoing = [Outgoing(member_id=member_id, guard_key=expiry_warning_key(member_id, last_day),
                         variables={"points": points, "expiry_date": last_day, "balance": balance})
                for member_id, last_day, points, balance in due]
    counts["warnings_queued"], counts["warnings_skipped"] = messages_queue_batched(
        purpose=Purpose.POINTS_EXPIRY_WARNING, outgoing=outgoing, at=now, batch=WARNING_BATCH)
    return counts

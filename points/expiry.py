"""Warnings before points expire: one message per member and expiry day, for every expiry day
within the clinic's warning period (so a day a missed run skipped is warned on the next run)."""

from datetime import datetime

from django.utils import timezone

from messaging.models import Purpose
from messaging.services import Outgoing, expiry_warnings_queue
from points.rules import loyalty_settings

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
    def outgoing_of(row) -> Outgoing:
        member_id, last_day, points, balance = row
        return Outgoing(member_id=member_id, guard_key=expiry_warning_key(member_id, last_day),
                        variables={"points": points, "expiry_date": last_day, "balance": balance})

    return expiry_warnings_queue(purpose=Purpose.POINTS_EXPIRY_WARNING, days=loyalty_settings().expiry_warning_days,
                                 due_sql=_DUE_SQL, outgoing_of=outgoing_of, now=now or timezone.now(),
                                 batch=WARNING_BATCH)

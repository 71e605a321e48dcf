"""Warnings before package sessions expire: one message per member, package purchase and last
day, sent `expiry_warning_days` (30 by default) before the last usable day, in the clinic's time
zone. The sessions themselves expire with the points, through the ledger's nightly expiry
(points.ledger.lots_expire covers every asset)."""

from datetime import datetime

from django.utils import timezone

from messaging.models import Purpose
from messaging.services import Outgoing, expiry_warnings_queue
from packages.services import package_settings

WARNING_BATCH = 2000

_DUE_SQL = """
SELECT p.member_id, p.id, i.name, l.remaining,
       (l.expires_at AT TIME ZONE %(zone)s - interval '1 microsecond')::date AS last_day
FROM packages_packagepurchase p
JOIN points_lot l ON l.id = p.lot_id
JOIN visits_catalogueitem i ON i.id = (SELECT item_id FROM packages_packageproduct WHERE id = p.product_id)
JOIN members_member m ON m.id = p.member_id AND m.status = 'active'
WHERE l.remaining > 0 AND l.expires_at > %(now)s AND l.expires_at <= %(horizon)s
ORDER BY p.member_id, p.id
"""


def package_warning_key(purchase_id: int, last_day) -> str:
    return f"package-expiry:{purchase_id}:{last_day.isoformat()}"


def package_expiry_warnings_send(*, now: datetime | None = None) -> dict[str, int]:
    """Queue a warning for every purchase with sessions left whose last usable day falls within the
    warning period. The message log's guard key (purchase, last day) makes each happen once, so a
    run a day late still warns; consent, the member's opt-out (`notice_packages`), the clinic's
    switch for service messages and quiet hours are the messaging service's."""
    def outgoing_of(row) -> Outgoing:
        member_id, purchase_id, name, left, last_day = row
        return Outgoing(member_id=member_id, guard_key=package_warning_key(purchase_id, last_day),
                        variables={"package": name, "sessions": left, "expiry_date": last_day})

    return expiry_warnings_queue(purpose=Purpose.PACKAGE_EXPIRY_WARNING, days=package_settings().expiry_warning_days,
                                 due_sql=_DUE_SQL, outgoing_of=outgoing_of, now=now or timezone.now(),
                                 batch=WARNING_BATCH)

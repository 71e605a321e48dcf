"""Warnings before points expire: one per member and expiry day, within the warning period, in
the clinic's days."""

from datetime import UTC, datetime, timedelta

import time_machine

from members.services import member_archive
from messaging.models import Message, Purpose
from points.expiry import expiry_warnings_send
from points.rules import local_midnight
from points.tests.factories import points_give

# 10:00 on 1 June 2026 in Shanghai.
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def expiring_after(day_offset: int):
    """The expiry instant of points whose last usable day is `day_offset` days after 1 June."""
    return local_midnight(datetime(2026, 6, 1).date() + timedelta(days=day_offset + 1))


def warn(now: datetime = NOW) -> dict[str, int]:
    with time_machine.travel(now, tick=False):
        return expiry_warnings_send(now=now)


def warnings_of(member) -> list[Message]:
    return list(Message.objects.filter(member=member, purpose=Purpose.POINTS_EXPIRY_WARNING).order_by("id"))


def test_one_warning_per_member_and_expiry_day_with_the_points_that_expire(member):
    points_give(member, 200, expires_at=expiring_after(19))
    points_give(member, 100, expires_at=expiring_after(19))
    points_give(member, 50, expires_at=expiring_after(90))

    counts = warn()

    [warning] = warnings_of(member)
    assert counts == {"warnings_queued": 1, "warnings_skipped": 0}
    assert "300积分将于2026年6月20日 周六到期" in warning.body and "当前余额350积分" in warning.body
    assert warning.guard_key == f"points-expiry:{member.pk}:2026-06-20"


def test_warning_again_or_the_next_days_sends_nothing_new(member):
    points_give(member, 200, expires_at=expiring_after(19))
    warn()

    assert warn() == {"warnings_queued": 0, "warnings_skipped": 0}
    assert warn(NOW + timedelta(days=1)) == {"warnings_queued": 0, "warnings_skipped": 0}
    assert len(warnings_of(member)) == 1


def test_a_second_expiry_day_entering_the_period_gets_its_own_warning(member):
    points_give(member, 200, expires_at=expiring_after(19))
    points_give(member, 80, expires_at=expiring_after(31))
    warn()

    warn(NOW + timedelta(days=1))

    assert [w.guard_key.rsplit(":", 1)[1] for w in warnings_of(member)] == ["2026-06-20", "2026-07-02"]


def test_the_period_ends_at_the_clinics_midnight(member):
    # Last usable day 1 July (30 days after 1 June) is in the period; 2 July is not.
    points_give(member, 10, expires_at=expiring_after(30))
    points_give(member, 20, expires_at=expiring_after(31))

    warn()

    assert [w.guard_key.rsplit(":", 1)[1] for w in warnings_of(member)] == ["2026-07-01"]


def test_spent_points_and_archived_members_get_no_warning(make_member):
    archived = make_member("李娜")
    points_give(archived, 100, expires_at=expiring_after(5))
    member_archive(member=archived, actor=None)

    assert warn() == {"warnings_queued": 0, "warnings_skipped": 0}

"""Earning rules applied: rounding once per visit, the per-visit cap, and each expiry policy's
instant in the clinic's own time zone (the end of the last local day)."""

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from points.earning import EarnLine, visit_points
from points.models import LoyaltySettings
from points.rules import lot_expiry
from points.selectors import lot_last_day

SHANGHAI = ZoneInfo("Asia/Shanghai")


def rules(**fields) -> LoyaltySettings:
    return LoyaltySettings(**{"points_per_currency_unit": Decimal("1"), **fields})


def points_for(member, paid: str, **fields) -> int:
    return visit_points(member=member, lines=[EarnLine(category_id=None, paid=Decimal(paid))],
                        tier_multiplier=Decimal(1), rules=rules(**fields),
                        at=datetime(2026, 3, 10, 12, tzinfo=SHANGHAI)).points


@pytest.mark.parametrize(("rounding", "paid", "points"), [
    ("floor", "10.50", 10), ("nearest", "10.50", 11), ("ceil", "10.50", 11),
    ("floor", "10.49", 10), ("nearest", "10.49", 10), ("ceil", "10.01", 11),
    ("floor", "10.00", 10), ("nearest", "10.00", 10), ("ceil", "10.00", 10),
])
def test_rounding_modes_round_the_visit_once(member, rounding, paid, points):
    assert points_for(member, paid, rounding=rounding) == points


def test_rounding_happens_on_the_visit_total_not_per_line(member):
    # given two lines of ¥0.60 each at 1 point per ¥1, rounding down
    lines = [EarnLine(category_id=None, paid=Decimal("0.60")), EarnLine(category_id=None, paid=Decimal("0.60"))]

    earning = visit_points(member=member, lines=lines, tier_multiplier=Decimal(1), rules=rules(rounding="floor"),
                           at=datetime(2026, 3, 10, 12, tzinfo=SHANGHAI))

    # then the visit earns floor(1.20) = 1, not 0 + 0, and the point goes to one line
    assert earning.points == 1
    assert sorted(earning.per_line) == [0, 1]


def test_max_points_per_visit_caps_after_rounding_and_multipliers(member):
    assert points_for(member, "3000", max_points_per_visit=1000) == 1000
    assert points_for(member, "999.99", max_points_per_visit=1000, rounding="ceil") == 1000
    assert points_for(member, "500", max_points_per_visit=1000) == 500
    assert points_for(member, "3000", max_points_per_visit=None) == 3000


def test_capped_points_are_shared_over_the_lines_in_proportion(member):
    lines = [EarnLine(category_id=None, paid=Decimal("3000")), EarnLine(category_id=None, paid=Decimal("1000"))]

    earning = visit_points(member=member, lines=lines, tier_multiplier=Decimal(1),
                           rules=rules(max_points_per_visit=1000), at=datetime(2026, 3, 10, 12, tzinfo=SHANGHAI))

    assert (earning.points, earning.per_line) == (1000, [750, 250])


def test_never_expiring_points_have_no_expiry(db):
    assert lot_expiry(datetime(2026, 3, 10, 4, tzinfo=UTC), rules(expiry_policy="never")) is None


@pytest.mark.parametrize(("earned_local", "months", "last_day"), [
    (datetime(2026, 3, 10, 9, 0), 24, "2028-03-10"),
    (datetime(2026, 1, 31, 15, 0), 1, "2026-02-28"),
    (datetime(2028, 1, 31, 15, 0), 1, "2028-02-29"),
    (datetime(2026, 8, 31, 23, 59), 1, "2026-09-30"),
    (datetime(2026, 12, 31, 10, 0), 2, "2027-02-28"),
])
def test_rolling_expiry_is_the_end_of_the_local_day_n_months_later(db, earned_local, months, last_day):
    earned_at = earned_local.replace(tzinfo=SHANGHAI)

    expires_at = lot_expiry(earned_at, rules(expiry_policy="rolling", expiry_months=months))

    # the points expire at local midnight after the last day, which is the day's end in Shanghai
    assert lot_last_day(expires_at).isoformat() == last_day
    local = expires_at.astimezone(SHANGHAI)
    assert (local.hour, local.minute, local.second) == (0, 0, 0)
    assert local.date().isoformat() > last_day


def test_rolling_expiry_counts_from_the_local_date_not_the_utc_date(db):
    # given points earned at 17:00 UTC on 31 January, which is already 1 February in Shanghai
    earned_at = datetime(2026, 1, 31, 17, 0, tzinfo=UTC)

    expires_at = lot_expiry(earned_at, rules(expiry_policy="rolling", expiry_months=1))

    # then the month counts from 1 February: usable to the end of 1 March, Shanghai time
    assert expires_at == datetime(2026, 3, 2, 0, 0, tzinfo=SHANGHAI)
    assert expires_at == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(("earned_at", "carry", "expires_local"), [
    (datetime(2026, 3, 10, 12, tzinfo=SHANGHAI), 1, datetime(2028, 1, 1)),
    (datetime(2026, 3, 10, 12, tzinfo=SHANGHAI), 0, datetime(2027, 1, 1)),
    (datetime(2026, 12, 31, 17, 0, tzinfo=UTC), 0, datetime(2028, 1, 1)),
    (datetime(2026, 12, 31, 15, 59, tzinfo=UTC), 0, datetime(2027, 1, 1)),
])
def test_year_end_expiry_is_local_new_year_after_the_carried_years(db, earned_at, carry, expires_local):
    expires_at = lot_expiry(earned_at, rules(expiry_policy="year_end", year_end_carry_years=carry))

    assert expires_at == expires_local.replace(tzinfo=SHANGHAI)
    assert lot_last_day(expires_at) == expires_local.replace(year=expires_local.year - 1, month=12, day=31).date()

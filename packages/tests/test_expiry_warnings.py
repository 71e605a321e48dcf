"""The warning before package sessions expire: once per purchase and last day, a service message
the member can turn off, in the clinic's language; points warnings leave packages alone."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import time_machine

from checkout.services import LineInput, PaymentInput, checkout_complete
from members.services import consent_record
from messaging.models import Message, Purpose
from packages.expiry import package_expiry_warnings_send
from packages.models import PackagePurchase
from packages.services import package_settings_update
from points.expiry import expiry_warnings_send
from points.rules import local_midnight

# 10:00 on 1 June 2026 in Shanghai.
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def buy(member, product, actor, *, last_day_offset: int):
    """A 12-month package whose last usable day is `last_day_offset` days after 1 June 2026."""
    last_day = datetime(2026, 6, 1).date() + timedelta(days=last_day_offset)
    bought = local_midnight(last_day.replace(year=last_day.year - 1)) + timedelta(hours=12)
    checkout_complete(member=member, actor=actor, at=bought, lines=[LineInput(item_id=product.item_id)],
                      payments=[PaymentInput(method="cash", amount=Decimal("1000.00"))])
    return PackagePurchase.objects.latest("id")


def warn(now: datetime = NOW) -> dict[str, int]:
    with time_machine.travel(now, tick=False):
        return package_expiry_warnings_send(now=now)


def test_a_purchase_expiring_within_30_days_is_warned_once(member, ipl_package, front_desk):
    purchase = buy(member, ipl_package, front_desk, last_day_offset=19)
    buy(member, ipl_package, front_desk, last_day_offset=45)

    assert warn() == {"warnings_queued": 1, "warnings_skipped": 0}
    [message] = Message.objects.filter(member=member, purpose=Purpose.PACKAGE_EXPIRY_WARNING)
    assert "光子嫩肤3次卡还有3次" in message.body and "2026年6月20日 周六" in message.body
    assert message.guard_key == f"package-expiry:{purchase.pk}:2026-06-20"
    assert warn() == {"warnings_queued": 0, "warnings_skipped": 0}
    assert warn(NOW + timedelta(days=1)) == {"warnings_queued": 0, "warnings_skipped": 0}
    assert warn(NOW + timedelta(days=16))["warnings_queued"] == 1  # the second purchase enters the period


def test_the_member_can_turn_the_warning_off(member, ipl_package, front_desk):
    buy(member, ipl_package, front_desk, last_day_offset=10)
    consent_record(member=member, purpose="notice_packages", granted=False, channel="portal", actor=None)

    assert warn() == {"warnings_queued": 0, "warnings_skipped": 1}
    assert Message.objects.get(purpose=Purpose.PACKAGE_EXPIRY_WARNING).skip_reason == "opted_out"


def test_the_clinic_sets_the_warning_days_and_points_warnings_ignore_packages(member, ipl_package, front_desk,
                                                                             manager):
    buy(member, ipl_package, front_desk, last_day_offset=19)
    package_settings_update(actor=manager, refund_rule="pro_rata", refund_fee_percent=0, expiry_warning_days=7)
    assert warn() == {"warnings_queued": 0, "warnings_skipped": 0}
    with time_machine.travel(NOW, tick=False):
        assert expiry_warnings_send(now=NOW) == {"warnings_queued": 0, "warnings_skipped": 0}

"""Dates and times read the same way on every page, in the viewer's language and the clinic's time
zone (Asia/Shanghai): "Sat 5 Dec 2026 11:00" / "2026年12月5日 周六 11:00", never a mix of the two, and
validity as the last usable day."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from checkout.services import LineInput, PaymentInput, checkout_complete
from points.tests.factories import points_give

SHANGHAI = ZoneInfo("Asia/Shanghai")
VISIT = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)  # Saturday 5 December 2026, 11:00 in Shanghai
EXPIRES = datetime(2027, 1, 1, tzinfo=SHANGHAI)  # usable through Thursday 31 December 2026

EXPECTED = {
    "en": {"visit": "Sat 5 Dec 2026 11:00", "valid": "Thu 31 Dec 2026"},
    "zh-hans": {"visit": "2026年12月5日 周六 11:00", "valid": "2026年12月31日 周四"},
}
# What the other language's dates look like: none of it may appear.
FOREIGN = {
    "en": ["周六", "周四", "12月5日", "12月31日", "2027年1月1日"],
    "zh-hans": ["Sat ", "Thu ", " Dec ", "Dec.", "Saturday", "p.m.", "2027-01-01", "Jan. 1, 2027"],
}


@pytest.fixture
def visit(front_desk, member, catalogue, clinic):
    assert clinic.time_zone == "Asia/Shanghai"
    with time_machine.travel(VISIT, tick=False):
        visit = checkout_complete(member=member, lines=[LineInput(item_id=catalogue["cream"].pk)],
                                  actor=front_desk, payments=[PaymentInput("cash", None)]).visit
        points_give(member, 300, at=VISIT, expires_at=EXPIRES)
    return visit


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_staff_pages_show_dates_one_way_in_the_viewers_language(staff_client, front_desk, member, visit, language):
    client = staff_client(front_desk)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    expected = EXPECTED[language]

    with time_machine.travel(VISIT, tick=True):
        member_page = client.get(reverse("frontdesk:member_detail", args=[member.pk])).content.decode()
        receipt = client.get(reverse("frontdesk:receipt", args=[visit.pk])).content.decode()

    # The receipt and the member's ledger show the visit's local time; the lot its last usable day,
    # not the day it expires at midnight.
    assert expected["visit"] in receipt
    assert expected["visit"] in member_page
    assert expected["valid"] in member_page
    assert EXPECTED["en" if language != "en" else "zh-hans"]["visit"] not in member_page + receipt
    for foreign in FOREIGN[language]:
        assert foreign not in member_page and foreign not in receipt, foreign

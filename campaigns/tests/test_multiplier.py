"""A campaign's points multiplier at checkout: a treated member of a 会员日 double-points campaign
earns 2× inside the offer's window and 1× outside it (the window runs from local midnight to local
midnight, Shanghai; tests/test_multiplier_midnight.py checks the hours before the job gives it),
a control-group member and a cancelled campaign earn 1×, the per-visit cap still holds, the quote
says what checkout charges, and the receipt, the API and the member page show it."""

from datetime import date, timedelta
from decimal import Decimal

import time_machine
from django.conf import settings
from django.urls import reverse

from campaigns.campaign_services import campaign_cancel
from campaigns.models import Campaign, CampaignMultiplierUse
from campaigns.tests.helpers import at_local, launch_at, make_campaign, run_at
from checkout.services import LineInput, PaymentInput, checkout_complete, checkout_quote
from frontdesk.tests.helpers import checkout_post
from points.selectors import ledger_verify

DAY = date(2026, 6, 8)  # the 8th: the clinic's 会员日


def member_day(owner, *, holdout_percent: int = 0) -> Campaign:
    campaign = make_campaign(owner, starts_on=DAY, ends_on=date(2026, 12, 31), schedule=Campaign.Schedule.MONTHLY,
                             day=8, validity_days=1, points_multiplier=Decimal("2"), holdout_percent=holdout_percent)
    campaign = launch_at(campaign, owner, at_local(DAY, 8))
    run_at(at_local(DAY, 10))  # the offers are given at the send time, 10:00
    return campaign


def buy(member, cream, actor, when):
    with time_machine.travel(when, tick=False):
        quote = checkout_quote(member=member, lines=[LineInput(item_id=cream.pk)], actor=actor, at=when)
        result = checkout_complete(member=member, lines=[LineInput(item_id=cream.pk)], actor=actor, at=when,
                                   payments=[PaymentInput("cash", None)])
    assert quote.points_earned == result.points_earned  # the quote says what checkout charges
    assert [(e.label, e.multiplier, p) for e, p in quote.extra_points if p] == [
        (e.label, e.multiplier, p) for e, p in result.extra_points]
    return result


def test_treated_member_earns_double_inside_the_window_and_single_outside_it(owner, front_desk, make_member,
                                                                             cream, rules):
    member = make_member("王会员")
    member_day(owner)

    before = buy(member, cream, front_desk, at_local(DAY - timedelta(days=1), 23, 59))  # 7 June
    inside = buy(member, cream, front_desk, at_local(DAY, 12))
    last_second = buy(member, cream, front_desk, at_local(DAY, 23, 59) + timedelta(seconds=59))
    midnight = buy(member, cream, front_desk, at_local(DAY + timedelta(days=1), 0))  # 9 June, 00:00 Shanghai

    # ¥500 at 1 point per yuan: 500 points; ×2 on 会员日 is 1000, the campaign's line 500.
    assert [r.points_earned for r in (before, inside, last_second, midnight)] == [500, 1000, 1000, 500]
    assert before.extra_points == () and midnight.extra_points == ()
    assert [(e.label, e.multiplier, p) for e, p in inside.extra_points] == [("会员日", Decimal("2.00"), 500)]
    assert sum(line.points_earned for line in inside.lines) == 1000
    uses = CampaignMultiplierUse.objects.order_by("id")
    assert [(u.visit_id, u.points, u.multiplier) for u in uses] == [
        (inside.visit.pk, 500, Decimal("2.00")), (last_second.visit.pk, 500, Decimal("2.00"))]
    assert ledger_verify() == []


def test_control_group_member_earns_single_points(owner, front_desk, make_member, cream, rules):
    members = [make_member(f"会员{n}") for n in range(4)]
    campaign = member_day(owner, holdout_percent=50)
    control = campaign.audience.filter(group="control").values_list("member_id", flat=True)
    treated = campaign.audience.filter(group="treated").values_list("member_id", flat=True)
    assert control and treated
    by_pk = {m.pk: m for m in members}
    assert buy(by_pk[control[0]], cream, front_desk, at_local(DAY, 12)).points_earned == 500
    assert buy(by_pk[treated[0]], cream, front_desk, at_local(DAY, 12)).points_earned == 1000


def test_a_cancelled_campaign_stops_multiplying(owner, front_desk, make_member, cream, rules):
    member = make_member("王会员")
    campaign = member_day(owner)
    assert buy(member, cream, front_desk, at_local(DAY, 11)).points_earned == 1000
    with time_machine.travel(at_local(DAY, 12), tick=False):
        campaign_cancel(campaign=campaign, actor=owner, reason="改期", now=at_local(DAY, 12))
    assert buy(member, cream, front_desk, at_local(DAY, 13)).points_earned == 500


def test_the_per_visit_cap_holds_and_the_campaign_line_is_what_it_added(owner, front_desk, make_member, cream,
                                                                         rules):
    rules.max_points_per_visit = 700
    rules.save()
    member = make_member("王会员")
    member_day(owner)
    result = buy(member, cream, front_desk, at_local(DAY, 12))
    assert result.points_earned == 700
    assert [p for _e, p in result.extra_points] == [200]


def test_receipt_api_and_member_page_show_the_campaign(owner, front_desk, make_member, cream, rules, staff_client):
    member = make_member("王会员")
    member_day(owner)
    client = staff_client(front_desk)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    when = at_local(DAY, 12)
    with time_machine.travel(when, tick=False):
        page = client.get(reverse("frontdesk:member_detail", args=[member.pk])).content.decode()
        assert 'id="member-campaign-offers"' in page and "points ×2 at checkout" in page
        quote = client.post(reverse("frontdesk:checkout_quote", args=[member.pk]),
                            checkout_post([(cream.pk, 1)])).content.decode()
        assert '<dt class="points-line">会员日: points ×2</dt><dd class="points-line">+500</dd>' in quote
        response = client.post("/api/v1/visits/", {
            "member_id": member.pk, "lines": [{"item_id": cream.pk}],
            "payments": [{"method": "cash", "amount": "500.00"}]},
            content_type="application/json", headers={"Idempotency-Key": "member-day-1"})
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["points_earned"] == 1000
        assert body["multiplier_points"] == [{"label": "会员日", "multiplier": "2.00", "points": 500}]
        receipt = client.get(reverse("frontdesk:receipt", args=[body["visit"]["id"]]))
        html = receipt.content.decode()
        assert receipt.context["receipt"].points_lines[1:] == (("会员日: points ×2", 500),)
        assert receipt.context["receipt"].points_lines[0][1] == 500
        assert "会员日: points ×2" in html and receipt.context["receipt"].points_earned == 1000
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
        html = client.get(reverse("frontdesk:receipt", args=[body["visit"]["id"]])).content.decode()
        assert "会员日：积分 ×2" in html
        page = client.get(reverse("frontdesk:member_detail", args=[member.pk])).content.decode()
        assert "结账积分 ×2" in page

    outside = client.get(reverse("frontdesk:member_detail", args=[member.pk])).content.decode()
    assert 'id="member-campaign-offers"' not in outside  # the offer's window has passed

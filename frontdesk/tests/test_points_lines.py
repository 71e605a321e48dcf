"""The quote and the receipt show each multiplier of the rules (a category's, the tier's, the birthday
month's) and the bonuses as lines of their own, adding up to the points earned."""

import re
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from checkout.services import LineInput, PaymentInput, checkout_complete
from clinics.context import local_today
from frontdesk.tests.helpers import checkout_post
from members.services import member_register
from points.models import CategoryMultiplier, Entry
from tiers.models import Tier
from tiers.selectors import member_current_tier
from visits.models import Category


def points_lines(html: str) -> list[tuple[str, int]]:
    pairs = re.findall(r'<dt class="points-line">([^<]*)</dt><dd class="points-line[^"]*">\+(\d+)</dd>', html)
    return [(text, int(points)) for text, points in pairs]


def test_category_tier_and_birthday_multipliers_and_the_bonus_each_have_their_line(
        staff_client, front_desk, member, catalogue, rules):
    # Given 1 point per yuan, skincare ×2, the member's tier ×1.5, ×2 in the birthday month, a
    # first-visit bonus of 50, and a member whose birthday month it is
    CategoryMultiplier.objects.create(category=Category.objects.get(code="skincare"), multiplier=Decimal("2"))
    Tier.objects.update(earn_multiplier=Decimal("1.5"))
    rules.birthday_month_multiplier = Decimal("2")
    rules.first_visit_bonus = 50
    rules.save()
    member.birthday = date(1990, local_today().month, 1)
    member.save(update_fields=["birthday"])
    tier = member_current_tier(member).name
    basket = [(catalogue["filler"].pk, 1), (catalogue["cream"].pk, 1)]  # ¥3000 injectables + ¥500 skincare
    # Worked out by hand: 3500 without multipliers; the cream's ×2 adds 500 (4000); the tier's ×1.5
    # adds 2000 (6000); the birthday month's ×2 adds 6000 (12000).
    expected = [("护肤品: points ×2", 500), (f"{tier} tier: points ×1.5", 2000), ("Birthday month: points ×2", 6000)]
    client = staff_client(front_desk)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    # When the desk asks for the quote, then checks out
    quote = client.post(reverse("frontdesk:checkout_quote", args=[member.pk]),
                        checkout_post(basket, [("cash", "")])).content.decode()
    visit = checkout_complete(member=member, lines=[LineInput(item_id=item, quantity=n) for item, n in basket],
                              actor=front_desk, payments=[PaymentInput("cash", None)], at=timezone.now()).visit
    receipt = client.get(reverse("frontdesk:receipt", args=[visit.pk])).content.decode()

    # Then the quote lists the points for the visit, each multiplier and the bonus, adding up to its total
    assert points_lines(quote) == [("Points for this visit", 3500), *expected, ("First-visit bonus", 50)]
    assert 'id="quote-points">12050<' in quote
    # And the receipt: the visit's points without multipliers, each multiplier, then the bonus
    lines = points_lines(receipt)
    assert lines == [(f"Visit #{visit.pk}", 3500), *expected, ("First-visit bonus", 50)]
    assert sum(points for _text, points in lines) == 12050
    assert 'id="points-earned">12050<' in receipt


def test_without_multipliers_the_receipt_has_one_points_line(staff_client, front_desk, member, catalogue):
    visit = checkout_complete(member=member, lines=[LineInput(item_id=catalogue["cream"].pk)], actor=front_desk,
                              payments=[PaymentInput("cash", None)]).visit
    client = staff_client(front_desk)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    receipt = client.get(reverse("frontdesk:receipt", args=[visit.pk])).content.decode()

    assert visit.points_parts == []
    assert points_lines(receipt) == [(f"Visit #{visit.pk}", 500)]


def test_the_quote_shows_each_bonus_on_its_own_line_adding_up_to_what_checkout_credits(
        staff_client, front_desk, catalogue, rules):
    # Given 1 point per yuan, a first-visit bonus of 100 and a welcome bonus of 200 for a referred
    # member (the referrer's 300 goes to the referrer, not on this member's bill)
    rules.first_visit_bonus, rules.referral_bonus_referee, rules.referral_bonus_referrer = 100, 200, 300
    rules.save()
    referrer = member_register(name="推荐人", phone="13900000002", actor=front_desk)
    member = member_register(name="新朋友", phone="13900000003", actor=front_desk, referral_code=referrer.referral_code)
    basket = [(catalogue["cream"].pk, 2)]  # 2 × ¥500 skincare, no multipliers: 1000 points
    client = staff_client(front_desk)

    # When the desk asks for the quote in English and in Chinese
    quotes = {}
    for language in ("en", "zh-hans"):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        quotes[language] = client.post(reverse("frontdesk:checkout_quote", args=[member.pk]),
                                       checkout_post(basket, [("cash", "")])).content.decode()

    # Then each bonus has its own line, in the page's language
    assert points_lines(quotes["en"]) == [("Points for this visit", 1000), ("First-visit bonus", 100),
                                          ("Welcome bonus for being referred", 200)]
    assert points_lines(quotes["zh-hans"]) == [("本次消费积分", 1000), ("首次到店奖励", 100),
                                               ("被推荐新会员的欢迎奖励", 200)]
    assert 'id="quote-points">1300<' in quotes["en"]

    # And checking out credits the member exactly what the lines add up to
    visit = checkout_complete(member=member, lines=[LineInput(item_id=item, quantity=n) for item, n in basket],
                              actor=front_desk, payments=[PaymentInput("cash", None)]).visit
    credited = Entry.objects.filter(account__member=member, source_type="visit", source_id=str(visit.pk),
                                    kind__in=[Entry.Kind.EARN, Entry.Kind.BONUS]).aggregate(total=Sum("amount"))
    assert credited["total"] == sum(points for _text, points in points_lines(quotes["en"])) == 1300
    # And the receipt shows the same bonuses as their own lines
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    receipt = client.get(reverse("frontdesk:receipt", args=[visit.pk])).content.decode()
    assert points_lines(receipt)[1:] == points_lines(quotes["en"])[1:]

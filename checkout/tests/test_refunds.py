"""Refunds take back exactly the points the refunded lines earned, from the visit's own lot,
record what could not be taken back, and undo the bonuses of a fully refunded first visit."""

from decimal import Decimal

from checkout.services import LineInput, PaymentInput, checkout_complete, visit_refund
from members.services import member_merge, member_register
from points.ledger import account_for, available_balance
from points.models import Allocation, CategoryMultiplier, Entry, Lot
from points.selectors import ledger_verify
from points.tests.factories import constraints_check

URL = "/api/v1/visits/"


def pay(amount: str) -> list[PaymentInput]:
    return [PaymentInput(method="wechat_pay", amount=Decimal(amount))]


def buy(member, actor, *lines: LineInput, paid: str, points_to_use: int = 0):
    return checkout_complete(member=member, actor=actor, lines=list(lines), payments=pay(paid),
                             points_to_use=points_to_use)


def reversal_allocations(visit) -> dict[int, int]:
    """Lot id -> points taken by the refund's reversal entries of this visit."""
    return {lot: amount for lot, amount in Allocation.objects.filter(
        entry__kind=Entry.Kind.REVERSE, entry__source_type="visit", entry__source_id=str(visit.pk))
        .values_list("lot_id", "amount")}


def earn_lot(visit) -> Lot:
    return Lot.objects.get(entry__kind=Entry.Kind.EARN, entry__source_id=str(visit.pk))


def test_full_refund_while_points_are_pending_takes_back_the_visits_own_pending_lot(
        member, catalogue, front_desk, rules):
    # given a clinic with a 7-day pending period and a visit whose 3,000 points are still pending
    rules.pending_days = 7
    rules.save()
    visit = buy(member, front_desk, LineInput(item_id=catalogue["filler"].pk), paid="3000").visit
    lot = earn_lot(visit)
    assert available_balance(account_for(member)) == 0

    # when the visit is refunded in full
    refund = visit_refund(visit=visit, lines=[(visit.lines.get().pk, 1)], reason="取消", actor=front_desk)

    # then exactly the visit's own lot is emptied, and nothing is left unrecovered
    assert (refund.points_reversed, refund.points_unrecovered) == (3000, 0)
    assert reversal_allocations(visit) == {lot.pk: 3000}
    lot.refresh_from_db()
    assert lot.remaining == 0
    assert account_for(member).balance == 0
    constraints_check()
    assert ledger_verify() == []


def test_partial_refund_reverses_the_points_each_line_earned_not_its_share_of_value(
        member, catalogue, front_desk, rules):
    # given creams earning ×3 and a filler earning ×1: 1,500 + 3,000 points on one visit
    CategoryMultiplier.objects.create(category=catalogue["cream"].category, multiplier=Decimal("3"))
    other = buy(member, front_desk, LineInput(item_id=catalogue["filler"].pk), paid="3000").visit
    visit = buy(member, front_desk, LineInput(item_id=catalogue["cream"].pk),
                LineInput(item_id=catalogue["filler"].pk), paid="3500").visit
    cream, filler = visit.lines.order_by("id")
    assert (cream.points_earned, filler.points_earned) == (1500, 3000)
    before = account_for(member).balance

    # when only the cream is refunded
    refund = visit_refund(visit=visit, lines=[(cream.pk, 1)], reason="过敏", actor=front_desk)

    # then the 1,500 points the cream earned are taken back, all from this visit's lot
    assert refund.amount == Decimal("500.00")
    assert (refund.points_reversed, refund.points_unrecovered) == (1500, 0)
    assert reversal_allocations(visit) == {earn_lot(visit).pk: 1500}
    assert earn_lot(other).remaining == 3000
    assert account_for(member).balance == before - 1500

    # and refunding the filler afterwards takes back the other 3,000
    second = visit_refund(visit=visit, lines=[(filler.pk, 1)], reason="过敏", actor=front_desk)
    assert second.points_reversed == 3000
    assert earn_lot(visit).remaining == 0
    assert ledger_verify() == []


def test_points_already_spent_are_recorded_as_not_recovered_on_the_refund(
        member, catalogue, front_desk, staff_client, rules):
    # given a visit that earned 500 points, 400 of which were then spent as cash on another visit
    visit = buy(member, front_desk, LineInput(item_id=catalogue["cream"].pk), paid="500").visit
    buy(member, front_desk, LineInput(item_id=catalogue["cream"].pk), paid="496", points_to_use=400)
    # (the second visit earned 496 points of its own, in its own lot)
    second_lot = Lot.objects.exclude(pk=earn_lot(visit).pk).get(entry__kind=Entry.Kind.EARN)

    # when the first visit is refunded in full through the API
    response = staff_client(front_desk).post(
        f"{URL}{visit.pk}/refunds/", {"lines": [{"line_id": visit.lines.get().pk, "quantity": 1}],
                                      "reason": "不满意"}, content_type="application/json")

    # then what was left of its lot (100) is reversed first, then other spendable points: 496
    # of the second visit's lot cover the other 400, and nothing is short
    assert response.status_code == 201, response.json()
    assert response.json()["points_reversed"] == 500
    assert response.json()["points_unrecovered"] == 0
    assert reversal_allocations(visit) == {earn_lot(visit).pk: 100, second_lot.pk: 400}
    assert ledger_verify() == []


def test_shortfall_when_the_member_has_nothing_left_is_on_the_refund_and_in_the_statement(
        member, catalogue, front_desk, staff_client, rules):
    # given a visit that earned 500 points, of which 400 were spent at once on a visit with no points
    visit = buy(member, front_desk, LineInput(item_id=catalogue["cream"].pk), paid="500").visit
    rules.points_per_currency_unit = Decimal("0")
    rules.save()
    buy(member, front_desk, LineInput(item_id=catalogue["cream"].pk), paid="496", points_to_use=400)

    # when the first visit is refunded in full
    response = staff_client(front_desk).post(
        f"{URL}{visit.pk}/refunds/", {"lines": [{"line_id": visit.lines.get().pk, "quantity": 1}],
                                      "reason": "不满意"}, content_type="application/json")

    # then the 100 points left are reversed and the 400 spent ones are recorded as not recovered
    assert response.status_code == 201, response.json()
    assert (response.json()["points_reversed"], response.json()["points_unrecovered"]) == (100, 400)
    assert reversal_allocations(visit) == {earn_lot(visit).pk: 100}
    reverse = Entry.objects.get(kind=Entry.Kind.REVERSE)
    assert "400" in reverse.reason
    statement = staff_client(front_desk).get(f"/api/v1/points/members/{member.pk}/statement/").json()
    assert any("400" in entry["reason"] for entry in statement["entries"])
    assert account_for(member).balance == 0
    assert ledger_verify() == []


def test_refund_after_a_merge_gives_points_back_to_the_survivor_and_the_ledger_agrees(
        front_desk, manager, catalogue, rules, staff_client):
    # given a duplicate member who earned 3,000 points and paid ¥20 of a later visit with 2,000
    survivor = member_register(name="张小美", phone="13900008888", actor=front_desk)
    duplicate = member_register(name="张小美", phone="13900009999", actor=front_desk)
    buy(duplicate, front_desk, LineInput(item_id=catalogue["filler"].pk), paid="3000")
    visit = buy(duplicate, front_desk, LineInput(item_id=catalogue["cream"].pk), paid="480",
                points_to_use=2000).visit
    assert account_for(duplicate).balance == 3000 - 2000 + 480

    # and the duplicate merged into the survivor
    member_merge(survivor=survivor, duplicate=duplicate, actor=manager)

    # when that visit is refunded in full through the API
    response = staff_client(front_desk).post(
        f"{URL}{visit.pk}/refunds/", {"lines": [{"line_id": visit.lines.get().pk, "quantity": 1}],
                                      "reason": "重复"}, content_type="application/json")

    # then the 480 earned points come out of the survivor's moved lot, the 2,000 used come back
    # to the survivor, and the duplicate's account stays at 0
    assert response.status_code == 201, response.json()
    assert (response.json()["points_reversed"], response.json()["points_restored"]) == (480, 2000)
    moved_earn_lot = Lot.objects.get(moved_from=earn_lot(visit))
    assert reversal_allocations(visit) == {moved_earn_lot.pk: 480}
    assert account_for(survivor).balance == 3000
    assert account_for(duplicate).balance == 0
    constraints_check()
    assert ledger_verify() == []


def test_full_refund_of_the_first_paid_visit_takes_back_its_first_visit_and_referral_bonuses(
        front_desk, catalogue, rules):
    # given first-visit and referral bonuses, and a referee's first paid visit that paid them
    rules.first_visit_bonus = 100
    rules.referral_bonus_referrer = 300
    rules.referral_bonus_referee = 200
    rules.save()
    referrer = member_register(name="推荐人", phone="13900000002", actor=front_desk)
    referee = member_register(name="新朋友", phone="13900000003", actor=front_desk,
                              referral_code=referrer.referral_code)
    visit = buy(referee, front_desk, LineInput(item_id=catalogue["cream"].pk, quantity=2), paid="1000").visit
    assert (account_for(referee).balance, account_for(referrer).balance) == (1000 + 100 + 200, 300)
    line = visit.lines.get()

    # when half of it is refunded, the bonuses stay
    half = visit_refund(visit=visit, lines=[(line.pk, 1)], reason="一半", actor=front_desk)
    assert half.points_reversed == 500
    assert (account_for(referee).balance, account_for(referrer).balance) == (500 + 100 + 200, 300)

    # when the rest is refunded, the visit no longer qualifies: all three bonuses are taken back
    rest = visit_refund(visit=visit, lines=[(line.pk, 1)], reason="全部", actor=front_desk)

    assert (rest.points_reversed, rest.points_unrecovered) == (500 + 100 + 200 + 300, 0)
    assert (account_for(referee).balance, account_for(referrer).balance) == (0, 0)
    bonus_lots = Lot.objects.filter(entry__kind=Entry.Kind.BONUS)
    assert {lot.remaining for lot in bonus_lots} == {0}
    assert set(Entry.objects.filter(kind=Entry.Kind.REVERSE).exclude(dedupe_key=None)
               .values_list("dedupe_key", flat=True)) == {
        f"reverse:first-visit:{referee.pk}", f"reverse:referral:referee:{referee.pk}",
        f"reverse:referral:referrer-of:{referee.pk}"}
    assert ledger_verify() == []


def test_a_later_paid_visit_does_not_pay_the_reversed_first_visit_bonus_again(front_desk, catalogue, rules):
    # given a first paid visit whose bonus was taken back by a full refund
    rules.first_visit_bonus = 100
    rules.save()
    member = member_register(name="王芳", phone="13900000004", actor=front_desk)
    visit = buy(member, front_desk, LineInput(item_id=catalogue["cream"].pk), paid="500").visit
    visit_refund(visit=visit, lines=[(visit.lines.get().pk, 1)], reason="退", actor=front_desk)

    # when the member pays for another visit
    again = buy(member, front_desk, LineInput(item_id=catalogue["cream"].pk), paid="500")

    # then no first-visit bonus is paid: the refunded visit was the first paid one
    assert again.bonuses == {}
    assert account_for(member).balance == 500

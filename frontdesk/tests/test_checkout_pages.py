"""Checkout, receipt, refund, rewards, adjustments and approvals through the real views."""

from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from checkout.services import LineInput, PaymentInput, checkout_complete
from frontdesk.tests.helpers import checkout_post
from idempotency.forms import idempotency_key_new
from points.adjustments import points_adjust
from points.models import PointsAdjustment, Redemption
from points.rewards import reward_create
from points.selectors import points_balance
from points.tests.factories import points_give
from tiers.models import MemberTier
from visits.models import Payment, Visit

CHECKOUT_MAX_QUERIES = 60


def test_checkout_records_the_visit_and_the_receipt_shows_points_and_the_upgrade(
        staff_client, front_desk, member, catalogue):
    # Given a Regular member (Silver needs ¥5000 in 12 months)
    client = staff_client(front_desk)
    # When the front desk checks out two fillers, paid by WeChat Pay
    response = client.post(reverse("frontdesk:checkout", args=[member.pk]),
                           checkout_post([(catalogue["filler"].pk, 2)], [("wechat_pay", "6000.00")]))
    # Then the visit is recorded and the receipt shows 6000 points earned and the upgrade
    visit = Visit.objects.get(member=member)
    assert response.status_code == 302 and response.url.startswith(reverse("frontdesk:receipt", args=[visit.pk]))
    receipt = client.get(response.url)
    html = receipt.content.decode()
    assert receipt.context["receipt"].points_earned == 6000
    assert 'id="tier-change"' in html and MemberTier.objects.get(member=member).tier.name in html
    assert visit.total == Decimal("6000.00")


def test_an_empty_payment_amount_pays_the_rest(staff_client, front_desk, member, catalogue):
    staff_client(front_desk).post(reverse("frontdesk:checkout", args=[member.pk]),
                                  checkout_post([(catalogue["cream"].pk, 1)], [("cash", "200.00"), ("alipay", "")]))
    visit = Visit.objects.get(member=member)
    assert dict(Payment.objects.filter(visit=visit).values_list("method", "amount")) == {
        "cash": Decimal("200.00"), "alipay": Decimal("300.00")}


def test_payments_that_do_not_add_up_are_refused_and_nothing_is_recorded(
        staff_client, front_desk, member, catalogue):
    response = staff_client(front_desk).post(reverse("frontdesk:checkout", args=[member.pk]),
                                             checkout_post([(catalogue["cream"].pk, 1)], [("cash", "100.00")]))
    assert response.status_code == 400
    assert 'id="payments-error"' in response.content.decode()
    assert not Visit.objects.filter(member=member).exists()


def test_an_unknown_coupon_is_shown_next_to_its_field(staff_client, front_desk, member, catalogue):
    response = staff_client(front_desk).post(
        reverse("frontdesk:checkout", args=[member.pk]),
        checkout_post([(catalogue["cream"].pk, 1)], [("cash", "")], coupon_code="NOPE"))
    assert response.status_code == 400
    assert response.context["form"].errors["coupon_code"]
    assert not Visit.objects.exists()


def test_points_as_cash_reduce_the_bill(staff_client, front_desk, member, catalogue):
    points_give(member, 10_000)
    staff_client(front_desk).post(reverse("frontdesk:checkout", args=[member.pk]),
                                  checkout_post([(catalogue["cream"].pk, 1)], [("cash", "")], points_to_use=5000))
    visit = Visit.objects.get(member=member)
    assert visit.points_discount == Decimal("50.00") and visit.total == Decimal("450.00")


def test_a_double_submitted_checkout_records_one_visit(staff_client, front_desk, member, catalogue):
    client = staff_client(front_desk)
    data = checkout_post([(catalogue["cream"].pk, 1)], [("cash", "500.00")])
    first = client.post(reverse("frontdesk:checkout", args=[member.pk]), data)
    second = client.post(reverse("frontdesk:checkout", args=[member.pk]), data)
    assert Visit.objects.filter(member=member).count() == 1
    assert first.url == second.url
    assert points_balance(member).balance == 500


def test_the_totals_panel_quotes_without_recording(staff_client, front_desk, member, catalogue):
    response = staff_client(front_desk).post(reverse("frontdesk:checkout_quote", args=[member.pk]),
                                             checkout_post([(catalogue["filler"].pk, 2)]))
    assert response.context["quote"].total == Decimal("6000.00")
    assert response.context["quote"].points_earned == 6000
    assert response.context["quote"].tier_change is not None
    assert not Visit.objects.exists() and not MemberTier.objects.filter(member=member).exists()


def test_checkout_query_count_does_not_grow_with_lines(staff_client, front_desk, member, catalogue,
                                                       django_assert_max_num_queries):
    client = staff_client(front_desk)

    def queries(lines) -> int:
        with CaptureQueriesContext(connection) as captured:
            client.post(reverse("frontdesk:checkout", args=[member.pk]), checkout_post(lines, [("cash", "")]))
        return len(captured)

    one_line = queries([(catalogue["cream"].pk, 1)])
    four_lines = queries([(catalogue["cream"].pk, 1), (catalogue["filler"].pk, 1), (catalogue["cream"].pk, 2),
                          (catalogue["filler"].pk, 3)])
    assert Visit.objects.filter(member=member).count() == 2
    assert four_lines <= one_line + 2  # a tier upgrade may add its own writes, lines add none
    with django_assert_max_num_queries(CHECKOUT_MAX_QUERIES):
        client.get(reverse("frontdesk:checkout", args=[member.pk]))
    with django_assert_max_num_queries(CHECKOUT_MAX_QUERIES):
        client.post(reverse("frontdesk:checkout", args=[member.pk]),
                    checkout_post([(catalogue["cream"].pk, 1)], [("cash", "")]))


def _paid_visit(member, front_desk, catalogue) -> Visit:
    return checkout_complete(member=member, actor=front_desk,
                             lines=[LineInput(item_id=catalogue["cream"].pk, quantity=2)],
                             payments=[PaymentInput(method="cash", amount=Decimal("1000.00"))]).visit


def test_a_partial_refund_gives_money_back_and_reverses_points(staff_client, front_desk, member, catalogue):
    visit = _paid_visit(member, front_desk, catalogue)
    line = visit.lines.get()
    response = staff_client(front_desk).post(reverse("frontdesk:refund", args=[visit.pk]), {
        "idempotency_key": idempotency_key_new(), "reason": "过敏反应", f"line_{line.pk}": "1"})
    visit.refresh_from_db()
    assert response.status_code == 302
    assert visit.refunded_total == Decimal("500.00")
    assert points_balance(member).balance == 500


def test_a_refund_needs_a_reason_and_a_quantity(staff_client, front_desk, member, catalogue):
    visit = _paid_visit(member, front_desk, catalogue)
    line = visit.lines.get()
    client = staff_client(front_desk)
    no_reason = client.post(reverse("frontdesk:refund", args=[visit.pk]),
                            {"idempotency_key": idempotency_key_new(), "reason": "", f"line_{line.pk}": "1"})
    too_many = client.post(reverse("frontdesk:refund", args=[visit.pk]),
                           {"idempotency_key": idempotency_key_new(), "reason": "退", f"line_{line.pk}": "3"})
    nothing = client.post(reverse("frontdesk:refund", args=[visit.pk]),
                          {"idempotency_key": idempotency_key_new(), "reason": "退", f"line_{line.pk}": "0"})
    assert no_reason.status_code == too_many.status_code == nothing.status_code == 400
    assert no_reason.context["form"].errors["reason"]
    assert too_many.context["form"].errors[f"line_{line.pk}"]
    assert nothing.context["form"].non_field_errors()
    visit.refresh_from_db()
    assert visit.refunded_total == 0


def test_a_double_submitted_refund_refunds_once(staff_client, front_desk, member, catalogue):
    visit = _paid_visit(member, front_desk, catalogue)
    line = visit.lines.get()
    data = {"idempotency_key": idempotency_key_new(), "reason": "退款", f"line_{line.pk}": "1"}
    client = staff_client(front_desk)
    client.post(reverse("frontdesk:refund", args=[visit.pk]), data)
    client.post(reverse("frontdesk:refund", args=[visit.pk]), data)
    visit.refresh_from_db()
    assert visit.refunded_total == Decimal("500.00") and visit.refunds.count() == 1


def test_redeeming_a_reward_spends_points_once(staff_client, front_desk, member, catalogue):
    reward = reward_create(name="免费面霜", kind="product", points_cost=800, item=catalogue["cream"])
    points_give(member, 1000)
    client = staff_client(front_desk)
    page = client.get(reverse("frontdesk:rewards", args=[member.pk]))
    assert page.context["rows"][0][0].can_redeem
    data = {"idempotency_key": idempotency_key_new(), "reward": str(reward.pk)}
    first = client.post(reverse("frontdesk:rewards", args=[member.pk]), data)
    client.post(reverse("frontdesk:rewards", args=[member.pk]), data)
    assert first.status_code == 302
    assert Redemption.objects.filter(member=member).count() == 1
    assert points_balance(member).balance == 200


def test_a_reward_beyond_the_balance_is_refused_with_the_reason(staff_client, front_desk, member, catalogue):
    reward = reward_create(name="免费填充", kind="treatment", points_cost=5000, item=catalogue["filler"])
    points_give(member, 100)
    response = staff_client(front_desk).post(reverse("frontdesk:rewards", args=[member.pk]),
                                             {"idempotency_key": idempotency_key_new(), "reward": str(reward.pk)})
    assert response.status_code == 400
    assert "100" in response.context["error"] and "5000" in response.context["error"]
    assert not Redemption.objects.exists()


def test_a_small_adjustment_applies_and_a_large_one_waits_for_a_manager(
        staff_client, front_desk, manager, member):
    client = staff_client(front_desk)
    client.post(reverse("frontdesk:adjust", args=[member.pk]), {
        "idempotency_key": idempotency_key_new(), "amount": "200", "reason_code": "goodwill", "note": "等待太久"})
    client.post(reverse("frontdesk:adjust", args=[member.pk]), {
        "idempotency_key": idempotency_key_new(), "amount": "3000", "reason_code": "migration", "note": "旧系统积分"})
    assert points_balance(member).balance == 200
    pending = PointsAdjustment.objects.get(status=PointsAdjustment.Status.PENDING)
    # When a manager approves it from the queue
    queue = staff_client(manager)
    assert pending in [row[0] for row in queue.get(reverse("frontdesk:approvals")).context["rows"]]
    queue.post(reverse("frontdesk:approval_decide", args=[pending.pk]),
               {"idempotency_key": idempotency_key_new(), "decision": "approve", "note": "核实"})
    pending.refresh_from_db()
    assert pending.status == PointsAdjustment.Status.APPLIED and pending.decided_by == manager
    assert points_balance(member).balance == 3200


def test_an_adjustment_needs_a_note_and_a_non_zero_amount(staff_client, front_desk, member):
    client = staff_client(front_desk)
    no_note = client.post(reverse("frontdesk:adjust", args=[member.pk]), {
        "idempotency_key": idempotency_key_new(), "amount": "100", "reason_code": "goodwill", "note": ""})
    zero = client.post(reverse("frontdesk:adjust", args=[member.pk]), {
        "idempotency_key": idempotency_key_new(), "amount": "0", "reason_code": "goodwill", "note": "补"})
    assert no_note.status_code == zero.status_code == 400
    assert no_note.context["form"].errors["note"]
    assert zero.context["form"].errors["amount"]
    assert not PointsAdjustment.objects.exists()


def test_the_approval_queue_is_for_managers_only(staff_client, front_desk, practitioner, member):
    pending = points_adjust(member=member, amount=5000, reason_code="goodwill", note="补偿", actor=front_desk)
    for user in (front_desk, practitioner):
        client = staff_client(user)
        assert client.get(reverse("frontdesk:approvals")).status_code == 403
        assert client.post(reverse("frontdesk:approval_decide", args=[pending.pk]),
                           {"decision": "approve"}).status_code == 403
    pending.refresh_from_db()
    assert pending.status == PointsAdjustment.Status.PENDING


def test_a_manager_cannot_approve_their_own_adjustment(staff_client, manager, member):
    own = points_adjust(member=member, amount=5000, reason_code="goodwill", note="补偿", actor=manager)
    response = staff_client(manager).post(reverse("frontdesk:approval_decide", args=[own.pk]),
                                          {"idempotency_key": idempotency_key_new(), "decision": "approve"})
    assert response.status_code == 400 and own.pk in response.context["errors"]
    own.refresh_from_db()
    assert own.status == PointsAdjustment.Status.PENDING


def test_ledger_reasons_and_the_receipt_read_in_the_viewers_language(staff_client, front_desk, member, catalogue,
                                                                      rules):
    from django.conf import settings
    from django.utils import translation

    rules.first_visit_bonus = 50
    rules.save()
    # Checked out while the desk worked in Chinese: the reasons are stored in Chinese
    with translation.override("zh-hans"):
        visit = checkout_complete(member=member, lines=[LineInput(item_id=catalogue["cream"].pk)], actor=front_desk,
                                  payments=[PaymentInput("cash", None)]).visit
    client = staff_client(front_desk)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = client.get(reverse("frontdesk:member_detail", args=[member.pk])).content.decode()
    receipt = client.get(reverse("frontdesk:receipt", args=[visit.pk])).content.decode()

    assert f"Visit #{visit.pk}" in page and "First-visit bonus" in page
    assert "首次到店奖励" not in page and "首次到店奖励" not in receipt
    assert receipt.count('class="points-line"') == 4  # two lines, each <dt> and <dd>
    assert "First-visit bonus" in receipt and "+50" in receipt and "+500" in receipt
    assert 'id="points-earned">550<' in receipt
    # And the same entries read in Chinese on a Chinese page, whatever language they were written in
    with translation.override("en"):
        later = checkout_complete(member=member, lines=[LineInput(item_id=catalogue["cream"].pk)], actor=front_desk,
                                  payments=[PaymentInput("cash", None)]).visit
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.get(reverse("frontdesk:member_detail", args=[member.pk])).content.decode()
    receipt = client.get(reverse("frontdesk:receipt", args=[visit.pk])).content.decode()
    assert f"到店消费 #{later.pk}" in page and "首次到店奖励" in page and "首次到店奖励" in receipt
    assert "First-visit bonus" not in page and "First-visit bonus" not in receipt and "Visit #" not in page

"""Visit read-outs, refund bad input and coupon codes at checkout, through the API."""

from decimal import Decimal

import pytest

from checkout.services import LineInput, PaymentInput, checkout_complete
from members.services import member_register
from points.coupons import coupon_issue, coupon_template_create
from points.models import Coupon
from visits.models import Refund, Visit

URL = "/api/v1/visits/"
JSON = "application/json"


@pytest.fixture
def visit(member, catalogue, front_desk) -> Visit:
    return checkout_complete(member=member, actor=front_desk,
                             lines=[LineInput(item_id=catalogue["cream"].pk, quantity=2)],
                             payments=[PaymentInput("cash", Decimal("1000"))]).visit


def test_a_visit_read_back_with_lines_payments_and_refunds(staff_client, practitioner, visit, front_desk):
    client = staff_client(practitioner)
    line = visit.lines.get()
    staff_client(front_desk).post(f"{URL}{visit.pk}/refunds/", {"lines": [{"line_id": line.pk, "quantity": 1}],
                                                               "reason": "一支过敏"}, content_type=JSON)

    body = client.get(f"{URL}{visit.pk}/").json()

    assert (body["total"], body["refunded_total"], body["staff"]) == ("1000.00", "500.00", front_desk.pk)
    assert [(row["quantity"], row["refunded_quantity"], row["points_earned"])
            for row in body["lines"]] == [(2, 1, 1000)]
    assert [row["amount"] for row in body["payments"]] == ["1000.00", "-500.00"]
    [refund] = body["refunds"]
    assert (refund["amount"], refund["reason"], refund["points_reversed"], refund["points_unrecovered"]) == (
        "500.00", "一支过敏", 500, 0)
    assert client.get(f"{URL}999999/").status_code == 404


def test_a_members_visits_newest_first(staff_client, front_desk, member, catalogue, visit):
    later = checkout_complete(member=member, actor=front_desk, lines=[LineInput(item_id=catalogue["filler"].pk)],
                              payments=[PaymentInput("alipay", Decimal("3000"))]).visit
    other = member_register(name="李娜", phone="13900000009", actor=front_desk)

    rows = staff_client(front_desk).get(f"/api/v1/members/{member.pk}/visits/").json()

    assert [row["id"] for row in rows] == [later.pk, visit.pk]
    assert staff_client(front_desk).get(f"/api/v1/members/{other.pk}/visits/").json() == []
    assert staff_client(front_desk).get("/api/v1/members/999999/visits/").status_code == 404


def test_refund_bad_input_is_a_400_naming_the_field_and_moves_nothing(staff_client, front_desk, visit, member,
                                                                      catalogue):
    client = staff_client(front_desk)
    url = f"{URL}{visit.pk}/refunds/"
    line = visit.lines.get()
    other_visit = checkout_complete(member=member, actor=front_desk, lines=[LineInput(item_id=catalogue["cream"].pk)],
                                    payments=[PaymentInput("cash", Decimal("500"))]).visit

    cases = [
        ({"lines": [{"line_id": line.pk, "quantity": 1}]}, "reason"),
        ({"lines": [{"line_id": line.pk, "quantity": 1}], "reason": "   "}, "reason"),
        ({"lines": [], "reason": "x"}, "lines.non_field_errors"),
        ({"lines": [{"line_id": line.pk, "quantity": 0}], "reason": "x"}, "lines.0.quantity"),
        ({"lines": [{"line_id": line.pk, "quantity": 3}], "reason": "x"}, "lines"),
        ({"lines": [{"line_id": other_visit.lines.get().pk, "quantity": 1}], "reason": "x"}, "lines"),
        ({"lines": [{"line_id": "one", "quantity": 1}], "reason": "x"}, "lines.0.line_id"),
    ]
    for body, field in cases:
        response = client.post(url, body, content_type=JSON)
        assert response.status_code == 400, (body, response.json())
        assert field in response.json()["error"]["fields"], (body, response.json())

    assert client.post(f"{URL}999999/refunds/", cases[0][0] | {"reason": "x"}, content_type=JSON).status_code == 404
    assert not Refund.objects.exists()
    visit.refresh_from_db()
    assert visit.refunded_total == 0


@pytest.mark.parametrize("typed", ["{code}", "{lower}", " {first}-{rest} ", "{first} {rest}", "{first}-{rest}".lower()])
def test_checkout_accepts_a_coupon_code_typed_with_spaces_hyphens_or_lower_case(
        staff_client, front_desk, manager, member, catalogue, typed):
    template = coupon_template_create(name="满500减50", kind="fixed", amount=Decimal("50"), valid_days=30)
    code = coupon_issue(template=template, member=member, actor=manager, source="manual").code
    entered = typed.format(code=code, lower=code.lower(), first=code[:5], rest=code[5:])

    response = staff_client(front_desk).post(URL, {
        "member_id": member.pk, "lines": [{"item_id": catalogue["cream"].pk}], "coupon_code": entered,
        "payments": [{"method": "cash", "amount": "450.00"}]}, content_type=JSON)

    assert response.status_code == 201, response.json()
    assert response.json()["visit"]["coupon_discount"] == "50.00"
    assert Coupon.objects.get(code=code).status == Coupon.Status.REDEEMED

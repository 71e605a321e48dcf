from decimal import Decimal

from checkout.services import LineInput, PaymentInput, checkout_complete
from points.ledger import account_for
from visits.models import Visit

URL = "/api/v1/visits/"


def body(member, catalogue, **extra):
    return {"member_id": member.pk, "lines": [{"item_id": catalogue["cream"].pk, "quantity": 1}],
            "payments": [{"method": "alipay", "amount": "500.00"}], **extra}


def test_checkout_api_returns_visit_points_and_tier_change(staff_client, front_desk, member, catalogue):
    response = staff_client(front_desk).post(URL, body(member, catalogue), content_type="application/json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["points_earned"] == 500
    assert data["visit"]["total"] == "500.00"
    assert data["visit"]["lines"][0]["name"] == "修护面霜"


def test_retry_with_the_same_idempotency_key_returns_the_first_result_and_moves_nothing(
        staff_client, front_desk, member, catalogue):
    client = staff_client(front_desk)
    first = client.post(URL, body(member, catalogue), content_type="application/json",
                        headers={"Idempotency-Key": "abc-123"})
    again = client.post(URL, body(member, catalogue), content_type="application/json",
                        headers={"Idempotency-Key": "abc-123"})

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replay"] == "true"
    assert Visit.objects.count() == 1
    assert account_for(member).balance == 500


def test_same_key_for_a_different_request_is_refused(staff_client, front_desk, member, catalogue):
    client = staff_client(front_desk)
    client.post(URL, body(member, catalogue), content_type="application/json", headers={"Idempotency-Key": "k1"})
    other = body(member, catalogue, payments=[{"method": "cash", "amount": "500.00"}])

    response = client.post(URL, other, content_type="application/json", headers={"Idempotency-Key": "k1"})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Visit.objects.count() == 1


def test_a_refused_request_keeps_the_key_free_for_a_corrected_retry(staff_client, front_desk, member, catalogue):
    client = staff_client(front_desk)
    bad = body(member, catalogue, payments=[{"method": "cash", "amount": "1.00"}])
    refused = client.post(URL, bad, content_type="application/json", headers={"Idempotency-Key": "k2"})
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"]["payments"]

    fixed = client.post(URL, body(member, catalogue), content_type="application/json",
                        headers={"Idempotency-Key": "k2"})
    assert fixed.status_code == 201


def test_nested_line_errors_name_the_line(staff_client, front_desk, member, catalogue):
    bad = body(member, catalogue, lines=[{"item_id": catalogue["cream"].pk, "quantity": 0}])
    response = staff_client(front_desk).post(URL, bad, content_type="application/json")
    assert response.status_code == 400
    assert "lines.0.quantity" in response.json()["error"]["fields"]


def test_refund_api_is_idempotent(staff_client, front_desk, member, catalogue):
    visit = checkout_complete(member=member, actor=front_desk, lines=[LineInput(item_id=catalogue["cream"].pk)],
                              payments=[PaymentInput("cash", Decimal("500"))]).visit
    client = staff_client(front_desk)
    refund = {"lines": [{"line_id": visit.lines.get().pk, "quantity": 1}], "reason": "不满意"}

    first = client.post(f"{URL}{visit.pk}/refunds/", refund, content_type="application/json",
                        headers={"Idempotency-Key": "r1"})
    again = client.post(f"{URL}{visit.pk}/refunds/", refund, content_type="application/json",
                        headers={"Idempotency-Key": "r1"})

    assert first.status_code == again.status_code == 201
    assert first.json()["amount"] == "500.00"
    assert visit.refunds.count() == 1
    assert account_for(member).balance == 0


def test_unknown_item_and_member_are_4xx(staff_client, front_desk, member, catalogue):
    client = staff_client(front_desk)
    assert client.post(URL, body(member, catalogue, lines=[{"item_id": 999999}]),
                       content_type="application/json").status_code == 400
    assert client.post(URL, {**body(member, catalogue), "member_id": 999999},
                       content_type="application/json").status_code == 404


def test_checkout_answer_is_what_the_visit_reads_back(staff_client, front_desk, member, catalogue):
    client = staff_client(front_desk)
    created = client.post(URL, body(member, catalogue, lines=[
        {"item_id": catalogue["cream"].pk, "quantity": 2, "discount": "100.00"},
        {"item_id": catalogue["filler"].pk, "quantity": 1}],
        payments=[{"method": "alipay", "amount": "900.00"}, {"method": "cash", "amount": "3000.00"}]),
        content_type="application/json").json()["visit"]

    assert client.get(f"{URL}{created['id']}/").json() == created


def test_checkout_api_lists_what_each_rule_multiplier_added(staff_client, front_desk, member, catalogue):
    from points.models import CategoryMultiplier
    from visits.models import Category

    skincare = Category.objects.get(pk=catalogue["cream"].category_id)
    CategoryMultiplier.objects.create(category=skincare, multiplier=Decimal("2"))

    response = staff_client(front_desk).post(URL, body(member, catalogue), content_type="application/json")

    assert response.status_code == 201, response.json()
    data = response.json()
    # ¥500 at 1 point per yuan is 500 points; the category's ×2 adds 500 more.
    assert data["points_earned"] == 1000
    assert data["rule_multiplier_points"] == [{"kind": "category", "key": str(skincare.pk), "name": skincare.name,
                                               "multiplier": "2.00", "points": 500}]

"""The API and the desk pages call the services: idempotent money movements, refusals in the
user's language that change nothing, managers only where the rules say."""

from decimal import Decimal

from django.utils import timezone

from points.models import Account, Asset
from points.rules import clinic_zone
from storedvalue.models import CashOut, TopUp
from storedvalue.services import stored_value_top_up

BASE = "/api/v1/stored-value"


def card(member) -> tuple[int, int]:
    found = dict(Account.objects.filter(member=member).values_list("asset", "balance"))
    return found.get(Asset.STORED_VALUE_PRINCIPAL, 0), found.get(Asset.STORED_VALUE_BONUS, 0)


def test_top_up_api_is_idempotent_and_pays_with_the_card_through_checkout(
        staff_client, front_desk, member, plan_5000, catalogue):
    client = staff_client(front_desk)
    url = f"{BASE}/members/{member.pk}/top-ups/"
    body = {"plan": plan_5000.pk, "method": "wechat_pay", "reference": "WX1"}
    first = client.post(url, body, content_type="application/json", headers={"Idempotency-Key": "t-1"})
    again = client.post(url, body, content_type="application/json", headers={"Idempotency-Key": "t-1"})
    assert first.status_code == again.status_code == 201, first.json()
    assert again.json() == first.json() and again.headers["Idempotent-Replay"] == "true"
    assert first.json()["receipt_number"].startswith("SV")
    assert TopUp.objects.count() == 1 and card(member) == (500_000, 50_000)

    response = client.get(f"{BASE}/members/{member.pk}/")
    assert response.json()["total"] == "5500.00"

    visit = client.post("/api/v1/visits/", {"member_id": member.pk, "lines": [{"item_id": catalogue["filler"].pk}],
                                            "payments": [{"method": "stored_value", "amount": "3000.00"}]},
                        content_type="application/json", headers={"Idempotency-Key": "v-1"})
    assert visit.status_code == 201, visit.json()
    assert sum(card(member)) == 550_000 - 300_000
    line = visit.json()["visit"]["lines"][0]["id"]
    refund = client.post(f"/api/v1/visits/{visit.json()['visit']['id']}/refunds/",
                         {"lines": [{"line_id": line, "quantity": 1}], "reason": "不满意"},
                         content_type="application/json", headers={"Idempotency-Key": "r-1"})
    assert refund.status_code == 201, refund.json()
    assert card(member) == (500_000, 50_000)


def test_bad_input_is_a_400_in_the_users_language_and_changes_nothing(staff_client, front_desk, member,
                                                                      plan_5000, catalogue):
    client = staff_client(front_desk)
    url = f"{BASE}/members/{member.pk}/top-ups/"
    response = client.post(url, {"plan": plan_5000.pk, "paid": "100.00", "method": "cash"},
                           content_type="application/json", headers={"Accept-Language": "zh-hans"})
    assert response.status_code == 400
    assert response.json()["error"]["code"]
    response = client.post(url, {"method": "cash"}, content_type="application/json")
    assert response.status_code == 400
    overdraw = client.post("/api/v1/visits/", {
        "member_id": member.pk, "lines": [{"item_id": catalogue["filler"].pk}],
        "payments": [{"method": "stored_value", "amount": "3000.00"}]}, content_type="application/json")
    assert overdraw.status_code == 400
    assert "Not enough stored value" in str(overdraw.json())
    assert card(member) == (0, 0) and not TopUp.objects.exists()


def test_cash_out_api_needs_a_manager_and_the_confirmed_figure(staff_client, front_desk, manager, member,
                                                              plan_5000):
    stored_value_top_up(member=member, actor=front_desk, plan=plan_5000, method="cash")
    url = f"{BASE}/members/{member.pk}/cash-out/"
    quote = staff_client(front_desk).get(url).json()
    assert quote["refund"] == "5000.00" and quote["bonus"] == "500.00"
    body = {"reason": "搬家", "method": "cash", "expected_refund": quote["refund"]}
    assert staff_client(front_desk).post(url, body, content_type="application/json").status_code == 403
    stale = staff_client(manager).post(url, {**body, "expected_refund": "10.00"}, content_type="application/json")
    assert stale.status_code == 400
    done = staff_client(manager).post(url, body, content_type="application/json", headers={"Idempotency-Key": "c"})
    assert done.status_code == 201, done.json()
    assert card(member) == (0, 0) and CashOut.objects.get().refund == Decimal("5000.00")


def test_plans_and_liability_api(staff_client, manager, front_desk, member):
    client = staff_client(manager)
    created = client.post(f"{BASE}/plans/", {"name": "充10000送1500", "pay_amount": "10000.00",
                                             "bonus_amount": "1500.00", "bonus_valid_days": 365},
                          content_type="application/json")
    assert created.status_code == 201, created.json()
    assert staff_client(front_desk).post(f"{BASE}/plans/", {"name": "x", "pay_amount": "1.00"},
                                         content_type="application/json").status_code == 403
    assert client.post(f"{BASE}/plans/", {"name": "x", "pay_amount": "0"},
                       content_type="application/json").status_code == 400
    stored_value_top_up(member=member, actor=front_desk, paid=Decimal("800"), method="cash")
    report = client.get(f"{BASE}/liability/").json()
    assert report["total"] == "800.00" and report["sections"][0]["reconciles"] is True
    assert client.get(f"{BASE}/liability/?as_of=2999-01-01").status_code == 400
    today = timezone.localdate(timezone.now(), clinic_zone())
    kpi = client.get(f"/api/v1/kpis/stored-value/?from={today.replace(day=1)}&to={today}").json()
    assert kpi["topped_up"] == "800.00" and kpi["outstanding"] == "800.00"


def test_desk_pages_top_up_receipt_and_cash_out(staff_client, front_desk, manager, member, plan_5000):
    client = staff_client(front_desk)
    page = client.get(f"/stored-value/members/{member.pk}/")
    assert page.status_code == 200 and "充5000送500" in page.content.decode()
    response = client.post(f"/stored-value/members/{member.pk}/", {"plan": plan_5000.pk, "method": "cash",
                                                                    "idempotency_key": "form-1"})
    assert response.status_code == 302
    receipt = client.get(response["Location"])
    assert "5000.00" in receipt.content.decode()
    client.post(f"/stored-value/members/{member.pk}/", {"plan": plan_5000.pk, "method": "cash",
                                                         "idempotency_key": "form-1"})
    assert TopUp.objects.count() == 1
    refused = client.post(f"/stored-value/members/{member.pk}/", {"method": "cash"})
    assert refused.status_code == 400 and TopUp.objects.count() == 1

    assert client.get(f"/stored-value/members/{member.pk}/cash-out/").status_code == 403
    boss = staff_client(manager)
    page = boss.get(f"/stored-value/members/{member.pk}/cash-out/")
    assert "5000.00" in page.content.decode()
    stale = boss.post(f"/stored-value/members/{member.pk}/cash-out/", {
        "reason": "退卡", "method": "cash", "expected_refund": "1.00"})
    assert stale.status_code == 400 and card(member) == (500_000, 50_000)
    done = boss.post(f"/stored-value/members/{member.pk}/cash-out/", {
        "reason": "退卡", "method": "cash", "expected_refund": "5000.00"})
    assert done.status_code == 302 and card(member) == (0, 0)
    assert boss.get("/stored-value/plans/").status_code == 200
    assert boss.get("/stored-value/liability/").status_code == 200
    assert boss.get("/insights/").status_code == 200
    assert client.get(f"/members/{member.pk}/").status_code == 200

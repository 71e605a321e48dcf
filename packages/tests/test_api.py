from decimal import Decimal

from packages.models import PackageProduct, PackagePurchase
from visits.models import Visit

D = Decimal


def test_manager_creates_a_package_and_the_desk_sells_and_uses_it_through_the_api(staff_client, manager, front_desk,
                                                                                  member, catalogue):
    created = staff_client(manager).post("/api/v1/packages/products/", {
        "name": "光子嫩肤3次卡", "sku": "pkg-ipl3", "category": catalogue["category"].pk, "price": "1000.00",
        "sessions": 3, "treatments": [catalogue["ipl"].pk]}, content_type="application/json")
    assert created.status_code == 201, created.json()
    product = created.json()
    assert product["validity_months"] == 12 and product["sku"] == "PKG-IPL3"
    desk = staff_client(front_desk)
    sold = desk.post("/api/v1/visits/", {"member_id": member.pk, "lines": [{"item_id": product["item_id"]}],
                                         "payments": [{"method": "wechat_pay", "amount": "1000.00"}]},
                     content_type="application/json", headers={"Idempotency-Key": "sell-1"})
    assert sold.status_code == 201, sold.json()
    body = {"member_id": member.pk, "lines": [{"item_id": catalogue["ipl"].pk, "package_id": product["id"]}]}
    used = desk.post("/api/v1/visits/", body, content_type="application/json", headers={"Idempotency-Key": "use-1"})
    again = desk.post("/api/v1/visits/", body, content_type="application/json", headers={"Idempotency-Key": "use-1"})
    assert used.status_code == again.status_code == 201
    assert used.json()["visit"]["total"] == "0.00"
    holdings = desk.get(f"/api/v1/packages/members/{member.pk}/").json()
    assert [(h["name"], h["sessions"], h["left"], h["status"], h["value_left"]) for h in holdings] == [
        ("光子嫩肤3次卡", 3, 2, "active", "666.67")]
    assert holdings[0]["last_day"]
    outstanding = staff_client(manager).get("/api/v1/packages/outstanding/?members=true").json()
    assert outstanding["sessions"] == 2 and outstanding["value"] == "666.67"
    assert outstanding["members"] == [{"member_id": member.pk, "sessions": 2, "value": "666.67"}]


def test_refund_api_is_for_managers_idempotent_and_refuses_too_much(staff_client, manager, front_desk, member,
                                                                   ipl_package):
    from packages.tests.test_sell_use import sell
    sell(member, ipl_package, front_desk)
    purchase = PackagePurchase.objects.get()
    url = f"/api/v1/packages/purchases/{purchase.pk}/refunds/"
    assert staff_client(front_desk).post(url, {"reason": "x"}, content_type="application/json").status_code == 403
    client = staff_client(manager)
    quote = client.get(f"/api/v1/packages/purchases/{purchase.pk}/refund-quote/").json()
    assert quote["amount"] == "1000.00" and quote["sessions"] == 3
    too_much = client.post(url, {"reason": "x", "amount": "1000.01"}, content_type="application/json")
    assert too_much.status_code == 400 and "amount" in too_much.json()["error"]["fields"]
    first = client.post(url, {"reason": "leaving"}, content_type="application/json", headers={"Idempotency-Key": "r1"})
    again = client.post(url, {"reason": "leaving"}, content_type="application/json", headers={"Idempotency-Key": "r1"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert Visit.objects.get().refunded_total == D("1000.00")
    nothing_left = client.post(url, {"reason": "again"}, content_type="application/json")
    assert nothing_left.status_code == 400


def test_using_a_session_without_one_is_a_clear_400(staff_client, front_desk, member, ipl_package, catalogue):
    response = staff_client(front_desk).post("/api/v1/visits/", {
        "member_id": member.pk, "lines": [{"item_id": catalogue["ipl"].pk, "package_id": ipl_package.pk}]},
        content_type="application/json")
    assert response.status_code == 400
    assert "光子嫩肤3次卡”剩余0次" in response.json()["error"]["fields"]["lines"][0]  # the clinic's language
    assert not Visit.objects.exists()


def test_bad_product_input_is_refused(staff_client, manager, catalogue):
    response = staff_client(manager).post("/api/v1/packages/products/", {
        "name": "x", "sku": "x", "category": catalogue["category"].pk, "price": "10", "sessions": 0,
        "treatments": [catalogue["cream"].pk]}, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) >= {"sessions", "treatments"}
    assert not PackageProduct.objects.exists()


def test_figures_of_the_clinics_days(staff_client, manager, front_desk, member, ipl_package, catalogue):
    from django.utils import timezone

    from packages.tests.test_sell_use import sell, use
    from points.rules import local_date
    sell(member, ipl_package, front_desk)
    use(member, ipl_package, catalogue["ipl"], front_desk)
    today = local_date(timezone.now()).isoformat()
    figures = staff_client(manager).get(f"/api/v1/packages/figures/?date_from={today}&date_until={today}").json()
    assert (figures["sold"], figures["sales"], figures["sessions_used"], figures["used_value"],
            figures["recognised"]) == (1, "1000.00", 1, "333.33", "333.33")
    bad = staff_client(manager).get(f"/api/v1/packages/figures/?date_from={today}&date_until=2000-01-01")
    assert bad.status_code == 400
    assert staff_client(front_desk).get(f"/api/v1/packages/figures/?date_from={today}&date_until={today}")\
        .status_code == 403

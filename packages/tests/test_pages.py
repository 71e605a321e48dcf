"""The package pages through the real views: the manager's products and refund rule, selling
and using at the checkout page, the member page, the refund page and the member portal."""

from decimal import Decimal

from django.urls import reverse
from django.utils import translation

from frontdesk.tests.helpers import checkout_post
from idempotency.forms import idempotency_key_new
from packages.models import PackageProduct, PackagePurchase, PackageSettings
from packages.tests.test_sell_use import account, sell, use
from portal.tests.conftest import member_client
from visits.models import Visit

D = Decimal


def test_manager_creates_a_package_and_sets_the_refund_rule(staff_client, manager, front_desk, catalogue):
    client = staff_client(manager)
    assert client.get(reverse("manager:packages")).status_code == 200
    page = client.get(reverse("manager:package_create"))
    token = page.context["token"]
    response = client.post(reverse("manager:package_create"), {
        "_once": token, "name": "光子嫩肤10次卡", "sku": "pkg-ipl10", "category": catalogue["category"].pk,
        "price": "6800.00", "sessions": "10", "treatments": [catalogue["ipl"].pk, catalogue["facial"].pk],
        "validity_months": "12", "validity_start": "first_use"} | {page.context["token_field"]: token})
    assert response.status_code == 302, response.content.decode()[:2000]
    product = PackageProduct.objects.get()
    assert product.sessions == 10 and product.item.price == D("6800.00")
    assert set(product.treatments.all()) == {catalogue["ipl"], catalogue["facial"]}
    assert "光子嫩肤10次卡" in client.get(reverse("manager:packages")).content.decode()
    saved = client.post(reverse("manager:package_settings"), {"refund_rule": "list_price", "refund_fee_percent": "5",
                                                              "expiry_warning_days": "30"})
    assert saved.status_code == 302
    assert PackageSettings.objects.get().refund_rule == "list_price"
    bad = client.post(reverse("manager:package_settings"), {"refund_rule": "pro_rata", "refund_fee_percent": "101",
                                                            "expiry_warning_days": "30"})
    assert bad.status_code == 400 and PackageSettings.objects.get().refund_fee_percent == 5
    assert staff_client(front_desk).get(reverse("manager:packages")).status_code == 403


def test_the_desk_sells_then_uses_a_session_on_the_checkout_page(staff_client, front_desk, member, ipl_package,
                                                                catalogue):
    client = staff_client(front_desk)
    url = reverse("frontdesk:checkout", args=[member.pk])
    assert 'name="lines-0-package"' not in client.get(url).content.decode()
    sold = client.post(url, checkout_post([(ipl_package.item_id, 1)], [("cash", "")]))
    assert sold.status_code == 302
    receipt = client.get(sold.url).content.decode()
    assert "购买3次" in receipt  # the clinic's language
    page = client.get(url).content.decode()
    assert 'name="lines-0-package"' in page and "光子嫩肤3次卡（剩3次）" in page
    data = checkout_post([(catalogue["ipl"].pk, 1)], [])
    data["lines-0-package"] = str(ipl_package.pk)
    used = client.post(url, data)
    assert used.status_code == 302
    assert "使用1次 · 剩余2次" in client.get(used.url).content.decode()
    assert Visit.objects.latest("id").total == 0
    assert account(member, ipl_package).balance == 2
    detail = client.get(reverse("frontdesk:member_detail", args=[member.pk])).content.decode()
    assert 'id="member-packages"' in detail and "2 / 3" in detail
    assert "Refund unused" not in detail


def test_a_session_too_many_is_shown_on_the_form_and_nothing_changes(staff_client, front_desk, member, ipl_package,
                                                                    catalogue):
    sell(member, ipl_package, front_desk)
    use(member, ipl_package, catalogue["ipl"], front_desk, quantity=2)
    data = checkout_post([(catalogue["ipl"].pk, 2)], [])
    data["lines-0-package"] = str(ipl_package.pk)
    visits = Visit.objects.count()
    with translation.override("zh-hans"):
        response = staff_client(front_desk).post(reverse("frontdesk:checkout", args=[member.pk]), data,
                                                 HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert 'id="lines-error"' in response.content.decode()
    assert Visit.objects.count() == visits and account(member, ipl_package).balance == 1


def test_a_manager_refunds_the_unused_sessions_from_the_member_page(staff_client, manager, front_desk, member,
                                                                   ipl_package, catalogue):
    sell(member, ipl_package, front_desk)
    use(member, ipl_package, catalogue["ipl"], front_desk)
    purchase = PackagePurchase.objects.get()
    client = staff_client(manager)
    detail = client.get(reverse("frontdesk:member_detail", args=[member.pk])).content.decode()
    url = reverse("frontdesk:package_refund", args=[purchase.pk])
    assert url in detail
    page = client.get(url).content.decode()
    assert "666.67" in page
    assert staff_client(front_desk).get(url).status_code == 403
    too_much = client.post(url, {"idempotency_key": idempotency_key_new(), "reason": "leaving", "amount": "700"})
    assert too_much.status_code == 400 and "最多可退666.67" in too_much.content.decode()
    assert account(member, ipl_package).balance == 2
    done = client.post(url, {"idempotency_key": idempotency_key_new(), "reason": "leaving", "amount": ""})
    assert done.status_code == 302
    assert account(member, ipl_package).balance == 0
    assert Visit.objects.order_by("id").first().refunded_total == D("666.67")


def test_the_portal_shows_sessions_and_the_last_usable_day(clinic, member, ipl_package, front_desk):
    sell(member, ipl_package, front_desk)
    holding_day = PackagePurchase.objects.get().lot.expires_at
    client = member_client(clinic, member)
    html = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="packages"' in html and "光子嫩肤3次卡" in html
    assert holding_day is not None


def test_the_portal_home_shows_card_and_packages_in_the_same_queries_however_many(clinic, member, ipl_package,
                                                                                  catalogue, front_desk):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from packages.services import package_product_create
    from storedvalue.services import stored_value_top_up
    from tiers.models import Tier

    for tier in Tier.objects.filter(rank__gt=0):  # the member stays in the entry tier throughout
        tier.min_spend, tier.min_visits = D(1_000_000 * tier.rank), 1000 * tier.rank
        tier.save()
    client = member_client(clinic, member)

    def queries() -> tuple[list[str], str]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200
        return [query["sql"] for query in captured.captured_queries], response.content.decode()

    stored_value_top_up(member=member, actor=front_desk, paid=D("100"), method="cash")
    sell(member, ipl_package, front_desk)
    few, html = queries()
    assert 'id="card-balance">¥100.00' in html and html.count("光子嫩肤3次卡") == 1

    facial = package_product_create(name="水光护理5次卡", sku="PKG-HF5", category=catalogue["category"],
                                    price=D("2000.00"), sessions=5, treatments=[catalogue["facial"]],
                                    validity_months=6)
    for _n in range(5):
        stored_value_top_up(member=member, actor=front_desk, paid=D("100"), method="cash")
    for product in (ipl_package, facial, facial):
        sell(member, product, front_desk)
    many, html = queries()
    assert 'id="card-balance">¥600.00' in html
    assert html.count("光子嫩肤3次卡") == 2 and html.count("水光护理5次卡") == 2
    assert len(many) == len(few)

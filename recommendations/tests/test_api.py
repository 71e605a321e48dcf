from datetime import timedelta

from django.utils import timezone

from recommendations.models import ItemAssociation
from recommendations.tests.conftest import buy, new_member


def test_a_members_recommendations_with_reasons_in_the_callers_language(shop, staff_client, front_desk):
    ItemAssociation.objects.create(item=shop.laser, related=shop.aftercare, pair_members=8, item_members=10,
                                   related_members=12, confidence=0.8, lift=2.5)
    member = new_member("王小美", gender="female")
    buy(member, [shop.laser], timezone.now() - timedelta(days=2))
    client = staff_client(front_desk)

    response = client.get(f"/api/v1/members/{member.pk}/recommendations/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    [rec] = response.json()
    assert rec["item"]["id"] == shop.aftercare.pk and rec["signal"] == "with" and rec["score"] == 0.8
    assert rec["because"] == "光子嫩肤"
    assert rec["reason"] == "Often bought with 光子嫩肤 by members like her"
    chinese = client.get(f"/api/v1/members/{member.pk}/recommendations/", HTTP_ACCEPT_LANGUAGE="zh-Hans").json()
    assert chinese[0]["reason"] == "和她相似的会员常与光子嫩肤一起购买"


def test_bad_parameters_and_unknown_ids_are_4xx(shop, staff_client, front_desk):
    client = staff_client(front_desk)
    member = new_member()

    assert client.get(f"/api/v1/members/{member.pk}/recommendations/?limit=0").status_code == 400
    assert client.get(f"/api/v1/members/{member.pk}/recommendations/?kind=x").status_code == 400
    assert client.get("/api/v1/members/999999/recommendations/").status_code == 404
    assert client.get("/api/v1/catalogue/items/999999/related/").status_code == 404
    assert client.get(f"/api/v1/catalogue/items/{shop.laser.pk}/related/?limit=abc").status_code == 400


def test_related_items_of_an_item(shop, staff_client, front_desk):
    ItemAssociation.objects.create(item=shop.laser, related=shop.aftercare, pair_members=8, item_members=10,
                                   related_members=12, confidence=0.8, lift=2.5)

    response = staff_client(front_desk).get(f"/api/v1/catalogue/items/{shop.laser.pk}/related/")

    assert response.status_code == 200
    assert response.json() == [{"item": {"id": shop.aftercare.pk, "name": "修护面膜", "kind": "product", "sku": "AFT",
                                         "price": "200.00"},
                                "confidence": 0.8, "lift": 2.5, "pair_members": 8}]


def test_anonymous_callers_are_refused(shop, anon_client):
    member = new_member()

    assert anon_client.get(f"/api/v1/members/{member.pk}/recommendations/").status_code in (401, 403)

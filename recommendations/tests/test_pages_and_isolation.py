"""Where people see recommendations (the front-desk member page and checkout, the member portal),
and the nightly tables of one clinic never mixing with another's."""

from datetime import timedelta

from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import tenant_context

from appointments.schedule import practitioner_create
from members.services import member_register
from portal.tests.conftest import member_client
from recommendations.learning import recommendations_learn
from recommendations.models import ItemAssociation, ItemInterval, ItemPopularity, Learning
from recommendations.tests.conftest import buy, new_member
from visits.services import catalogue_item_update


def _suggest_aftercare(shop):
    ItemAssociation.objects.create(item=shop.laser, related=shop.aftercare, pair_members=8, item_members=10,
                                   related_members=12, confidence=0.8, lift=2.5)
    member = new_member("王小美", gender="female")
    buy(member, [shop.laser], timezone.now() - timedelta(days=2))
    return member


def test_the_member_page_suggests_with_the_reason_and_links_to_add_or_book(shop, staff_client, front_desk):
    member = _suggest_aftercare(shop)
    ItemAssociation.objects.create(item=shop.laser, related=shop.botox, pair_members=6, item_members=10,
                                   related_members=12, confidence=0.6, lift=2.0)

    page = staff_client(front_desk).get(f"/members/{member.pk}/").content.decode()

    assert 'id="member-suggestions"' in page
    assert "和她相似的会员常与光子嫩肤一起购买" in page  # the clinic's language
    assert f"/members/{member.pk}/checkout/?add={shop.aftercare.pk}" in page
    assert f"?member={member.pk}&amp;treatment={shop.botox.pk}" in page  # a treatment can be booked
    assert f"treatment={shop.aftercare.pk}" not in page  # a product cannot


def test_the_checkout_link_of_a_suggestion_puts_the_item_on_the_bill(shop, staff_client, front_desk):
    member = _suggest_aftercare(shop)

    response = staff_client(front_desk).get(f"/members/{member.pk}/checkout/?add={shop.aftercare.pk}&add=x&add=999999")

    assert response.status_code == 200
    lines = response.context["lines"]
    assert [form.initial.get("item") for form in lines.forms if form.initial] == [shop.aftercare.pk]
    assert "常与光子嫩肤一起购买" in response.content.decode()


def test_the_portal_recommends_to_the_member_with_the_reason_in_her_words(shop, clinic):
    member = _suggest_aftercare(shop)

    page = member_client(clinic, member).get("/m/").content.decode()

    assert 'id="recommended"' in page and "修护面膜" in page
    assert "和您相似的会员常与光子嫩肤一起购买" in page


def test_the_portal_links_a_recommended_treatment_to_booking_it_online(shop, clinic, practitioner):
    practitioner_create(user=practitioner, treatments=[shop.facial])
    ItemInterval.objects.create(item=shop.facial, days=30, repeats=30, members=10)
    ItemInterval.objects.create(item=shop.botox, days=100, repeats=30, members=10)
    member = new_member("王小美", gender="female")
    buy(member, [shop.facial], timezone.now() - timedelta(days=40))
    buy(member, [shop.botox], timezone.now() - timedelta(days=130))  # due, but nobody performs it

    page = member_client(clinic, member).get("/m/").content.decode()

    card = page[page.index('id="recommended"'):]
    assert "该做了：您上次做水光针是 40 天前，通常每 30 天做一次" in card
    assert "该做了：您上次做肉毒素是 130 天前，通常每 100 天做一次" in card
    assert f'href="{reverse("portal:book")}?treatment={shop.facial.pk}"' in card
    assert f"?treatment={shop.botox.pk}" not in card  # not bookable online: no link


def test_the_portal_shows_no_recommendations_card_without_any(shop, clinic):
    member = new_member()
    catalogue_item_update(item=shop.laser, active=False)

    assert 'id="recommended"' not in member_client(clinic, member).get("/m/").content.decode()


def test_each_clinic_learns_from_its_own_visits_into_its_own_tables(shop, other_clinic):
    for n in range(6):
        member = new_member(f"会员{n}")
        for days in (200, 150, 100, 50, 10):
            buy(member, [shop.botox], timezone.now() - timedelta(days=days))
    with tenant_context(other_clinic):
        from visits.services import catalogue_item_create, category_create

        item = catalogue_item_create(kind="treatment", name="别家项目", sku="OTHER", price=1,
                                     category=category_create(name="别家", code="other"), duration_minutes=30)
        other_member = member_register(name="别家会员", phone="13900000001", actor=None)
        buy(other_member, [item], timezone.now() - timedelta(days=3))
        recommendations_learn()
        assert ItemInterval.objects.count() == 0
        assert list(ItemPopularity.objects.values_list("item_id", flat=True)) == [item.pk]
    connection.set_tenant(connection.tenant)

    learning = recommendations_learn()

    assert learning.visit_lines == 30
    assert list(ItemInterval.objects.values_list("item_id", "days")) == [(shop.botox.pk, 50)]
    assert Learning.objects.count() == 1
    assert not ItemPopularity.objects.filter(item_id=item.pk).exclude(item=shop.botox).exists()
    with tenant_context(other_clinic):
        assert Learning.objects.count() == 1
        assert ItemInterval.objects.count() == 0

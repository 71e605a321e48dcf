"""Bulk coupon issue to a segment or a list, all or nothing within the template's total limit,
once per run: the service and `POST /api/v1/points/coupon-templates/<id>/bulk-issue/`."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import translation

from members.services import member_archive, member_tag_add
from points.coupons import coupon_issue, coupon_template_create, coupons_bulk_issue, coupons_bulk_plan
from points.models import Coupon, CouponEvent, CouponTemplate
from segments.services import segment_create


def template_with(**limits) -> CouponTemplate:
    return coupon_template_create(name="批量券", kind=CouponTemplate.Kind.FIXED, amount=Decimal("30"), valid_days=30,
                                  **limits)


def test_the_plan_counts_who_gets_one_and_why_the_others_do_not(make_member):
    template = template_with(per_member_limit=1, total_limit=5)
    a, b, c = make_member("甲"), make_member("乙"), make_member("丙")
    coupon_issue(member=b, template=template, source=Coupon.Source.MANUAL, actor=None)
    member_archive(member=c, actor=None)
    plan = coupons_bulk_plan(template=template, member_ids=[a.pk, b.pk, c.pk, a.pk])
    assert plan.member_ids == [a.pk, b.pk, c.pk]
    assert plan.to_issue == [a.pk]
    assert [m.pk for m in plan.at_limit] == [b.pk] and [m.pk for m in plan.not_active] == [c.pk]
    assert (plan.room, plan.error) == (4, "")


def test_over_the_total_limit_nothing_is_issued(make_member):
    template = template_with(total_limit=3)
    members = [make_member(f"会员{n}") for n in range(4)]
    with pytest.raises(ValidationError) as refused:
        coupons_bulk_issue(template=template, member_ids=[m.pk for m in members], actor=None, run_key="r1")
    assert "only 3 of its 3 coupons are left" in refused.value.messages[0]
    assert not Coupon.objects.exists()
    template.refresh_from_db()
    assert template.issued_count == 0
    done = coupons_bulk_issue(template=template, member_ids=[m.pk for m in members[:3]], actor=None, run_key="r2")
    assert len(done.issued) == 3 and Coupon.objects.count() == 3


def test_a_run_sent_twice_issues_once_and_another_run_issues_again(make_member, owner):
    template = template_with()
    members = [make_member(f"会员{n}") for n in range(3)]
    ids = [m.pk for m in members]
    first = coupons_bulk_issue(template=template, member_ids=ids, actor=owner, run_key="run-a")
    again = coupons_bulk_issue(template=template, member_ids=ids, actor=owner, run_key="run-a")
    assert (len(first.issued), first.repeated) == (3, False)
    assert (again.issued, again.repeated) == (first.issued, True)
    assert Coupon.objects.count() == 3
    assert set(Coupon.objects.values_list("issued_by", "source")) == {(owner.pk, Coupon.Source.MANUAL)}
    assert CouponEvent.objects.filter(kind="issued", actor=owner).count() == 3
    coupons_bulk_issue(template=template, member_ids=ids, actor=owner, run_key="run-b")
    assert Coupon.objects.count() == 6


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_never_exceed_the_total_limit(clinic, make_member):
    """Two concurrent bulk runs of 3 each against a limit of 4: the template row lock makes the
    second wait and see the first's coupons, so it is refused whole."""
    template = template_with(total_limit=4)
    group_a = [make_member(f"A{n}").pk for n in range(3)]
    group_b = [make_member(f"B{n}").pk for n in range(3)]
    outcomes = []

    def run(ids, key):
        from django_tenants.utils import tenant_context
        try:
            with tenant_context(clinic):
                coupons_bulk_issue(template=template, member_ids=ids, actor=None, run_key=key)
            outcomes.append("issued")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(group_a, "a")), threading.Thread(target=run, args=(group_b, "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["issued", "refused"]
    assert Coupon.objects.count() == 3


# --- API -----------------------------------------------------------------------------------

def url(template) -> str:
    return f"/api/v1/points/coupon-templates/{template.pk}/bulk-issue/"


def test_the_api_previews_and_issues_to_a_segment_once_per_key(staff_client, owner, make_member):
    template = template_with(total_limit=10)
    vips = [make_member(f"VIP{n}") for n in range(3)]
    make_member("普通")
    for member in vips:
        member_tag_add(member=member, actor=None, tag="vip")
    segment = segment_create(actor=owner, name="VIP", conditions={"all": [{"kind": "tag", "tags": ["vip"]}]})
    api = staff_client(owner)
    preview = api.post(url(template), {"segment_id": segment.pk, "dry_run": True}, content_type="application/json")
    assert preview.status_code == 200
    assert {k: preview.json()[k] for k in ("members", "to_issue", "room", "refused", "issued")} == {
        "members": 3, "to_issue": 3, "room": 10, "refused": "", "issued": 0}
    assert not Coupon.objects.exists()

    no_key = api.post(url(template), {"segment_id": segment.pk}, content_type="application/json")
    assert no_key.status_code == 400 and not Coupon.objects.exists()

    first = api.post(url(template), {"segment_id": segment.pk}, content_type="application/json",
                     HTTP_IDEMPOTENCY_KEY="bulk-1")
    again = api.post(url(template), {"segment_id": segment.pk}, content_type="application/json",
                     HTTP_IDEMPOTENCY_KEY="bulk-1")
    assert first.status_code == again.status_code == 200
    assert first.json()["issued"] == 3
    assert sorted(Coupon.objects.values_list("member_id", flat=True)) == sorted(m.pk for m in vips)


def test_the_api_takes_phones_and_lists_the_unknown_ones(staff_client, owner, make_member):
    template = template_with()
    a, b = make_member("甲"), make_member("乙")
    phones = [a.phone.removeprefix("+86"), b.phone, "13999999999", "nonsense"]
    response = staff_client(owner).post(url(template), {"phones": phones}, content_type="application/json",
                                        HTTP_IDEMPOTENCY_KEY="phones-1")
    assert response.status_code == 200
    assert response.json()["issued"] == 2 and response.json()["unknown"] == ["13999999999", "nonsense"]


def test_the_api_refuses_over_the_cap_and_issues_nothing(staff_client, owner, make_member):
    template = template_with(total_limit=1)
    members = [make_member(f"会员{n}") for n in range(2)]
    api = staff_client(owner)
    preview = api.post(url(template), {"member_ids": [m.pk for m in members], "dry_run": True},
                       content_type="application/json")
    with translation.override("zh-hans"):
        expected = translation.gettext(
            "%(count)s members would get the coupon “%(name)s”, but only %(room)s of its %(limit)s coupons are left. "
            "Nothing was issued: choose fewer members or raise the total limit.") % {
            "count": 2, "name": template.name, "room": 1, "limit": 1}
    assert preview.status_code == 200 and preview.json()["refused"] == expected
    refused = api.post(url(template), {"member_ids": [m.pk for m in members]}, content_type="application/json",
                       HTTP_IDEMPOTENCY_KEY="cap-1")
    assert refused.status_code == 400 and expected in refused.json()["error"]["message"]
    assert not Coupon.objects.exists()


@pytest.mark.parametrize("body", [{}, {"segment_id": 1, "member_ids": [1]}, {"member_ids": [1], "extra": 1}])
def test_the_api_wants_exactly_one_source_and_no_unknown_fields(staff_client, owner, body):
    template = template_with()
    response = staff_client(owner).post(url(template), body, content_type="application/json")
    assert response.status_code == 400 and not Coupon.objects.exists()


def test_front_desk_may_not_bulk_issue(staff_client, front_desk, make_member):
    template = template_with()
    member = make_member()
    response = staff_client(front_desk).post(url(template), {"member_ids": [member.pk]},
                                             content_type="application/json", HTTP_IDEMPOTENCY_KEY="fd")
    assert response.status_code == 403 and not Coupon.objects.exists()

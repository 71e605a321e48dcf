"""Issuing coupons by hand: one to a member from the member page, and one to every member of an
uploaded CSV list; owners and managers only; the template's limits hold."""

import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from idempotency.forms import idempotency_key_new
from members.models import Member
from members.services import member_tag_add
from points.coupons import coupon_issue, coupon_template_create
from points.models import Coupon, CouponEvent, CouponTemplate
from segments.services import segment_create


def zh(text: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(text)


@pytest.fixture
def template(db) -> CouponTemplate:
    return coupon_template_create(name="限量50元券", kind=CouponTemplate.Kind.FIXED, amount=Decimal("50.00"),
                                  valid_days=30, total_limit=2)


def csv_file(text: str, name: str = "list.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8-sig"), content_type="text/csv")


def bulk_post(template, text: str, key: str | None = None) -> dict:
    return {"template": template.pk, "idempotency_key": key or idempotency_key_new(), "members_file": csv_file(text)}


# --- One member -----------------------------------------------------------------------------

def test_a_manager_issues_a_coupon_from_the_member_page(staff_client, manager, make_member, template):
    member = make_member()
    client = staff_client(manager)
    url = reverse("manager:coupon_issue", args=[member.pk])
    assert url in client.get(reverse("frontdesk:member_detail", args=[member.pk])).content.decode()
    response = client.post(url, {"template": template.pk, "idempotency_key": idempotency_key_new()})
    assert response.status_code == 302
    coupon = Coupon.objects.get(member=member)
    assert (coupon.template, coupon.source, coupon.issued_by) == (template, Coupon.Source.MANUAL, manager)


@pytest.mark.parametrize("role_fixture", ["front_desk", "practitioner"])
def test_other_roles_cannot_issue(request, staff_client, make_member, template, role_fixture):
    member = make_member()
    client = staff_client(request.getfixturevalue(role_fixture))
    url = reverse("manager:coupon_issue", args=[member.pk])
    assert url not in client.get(reverse("frontdesk:member_detail", args=[member.pk])).content.decode()
    assert client.post(url, {"template": template.pk, "idempotency_key": idempotency_key_new()}).status_code == 403
    assert client.post(reverse("manager:coupon_bulk_issue"), bulk_post(template, "phone\n13900000001\n")
                       ).status_code == 403
    assert not Coupon.objects.exists()


def test_the_total_limit_is_shown_on_the_form_in_the_users_language(staff_client, manager, make_member, template):
    a, b, c = make_member("甲"), make_member("乙"), make_member("丙")
    client = staff_client(manager)
    for member in (a, b):
        client.post(reverse("manager:coupon_issue", args=[member.pk]),
                    {"template": template.pk, "idempotency_key": idempotency_key_new()})
    response = client.post(reverse("manager:coupon_issue", args=[c.pk]),
                           {"template": template.pk, "idempotency_key": idempotency_key_new()})
    assert response.status_code == 400
    with translation.override("zh-hans"):
        expected = translation.gettext("All %(limit)s coupons “%(name)s” have been issued; no more can be.") % {
            "limit": 2, "name": template.name}
    assert expected in response.content.decode()
    assert not Coupon.objects.filter(member=c).exists()


def test_no_template_chosen_is_a_form_error(staff_client, manager, make_member):
    member = make_member()
    response = staff_client(manager).post(reverse("manager:coupon_issue", args=[member.pk]),
                                          {"template": "", "idempotency_key": idempotency_key_new()})
    assert response.status_code == 400 and 'id="id_template-error"' in response.content.decode()
    assert not Coupon.objects.exists()


def test_a_double_submitted_issue_gives_one_coupon(staff_client, manager, make_member, template):
    member = make_member()
    data = {"template": template.pk, "idempotency_key": idempotency_key_new()}
    client = staff_client(manager)
    client.post(reverse("manager:coupon_issue", args=[member.pk]), data)
    client.post(reverse("manager:coupon_issue", args=[member.pk]), data)
    assert Coupon.objects.filter(member=member).count() == 1


# --- A segment or a list of members: preview, then confirm ----------------------------------

URL = "/manage/coupons/issue/"


def plan_token(html: str) -> str:
    return re.search(r'name="plan" value="([^"]+)"', html).group(1)


def preview_number(html: str, name: str) -> str:
    return re.search(rf'id="preview-{name}">([^<]*)<', html).group(1)


def segment_post(template, segment, key: str | None = None) -> dict:
    return {"template": template.pk, "idempotency_key": key or idempotency_key_new(), "source": "segment",
            "segment": segment.pk}


def test_the_list_preview_counts_and_names_the_rest_and_the_confirmation_issues(staff_client, manager,
                                                                                 make_member):
    per_member = coupon_template_create(name="每人一张", kind=CouponTemplate.Kind.FIXED, amount=Decimal("20"),
                                        valid_days=30, per_member_limit=1, total_limit=10)
    a, b, c = make_member("甲"), make_member("乙"), make_member("丙")
    coupon_issue(member=c, template=per_member, source=Coupon.Source.MANUAL, actor=None)
    text = (f"member_number,phone\n{a.member_number},\n,{b.phone}\n,139 0009 9999\n{c.member_number},\n"
            f"{a.member_number},\n")
    client = staff_client(manager)
    preview = client.post(URL, {**bulk_post(per_member, text), "source": "list"})
    html = preview.content.decode()
    assert preview.status_code == 200
    assert (preview_number(html, "listed"), preview_number(html, "to-issue"), preview_number(html, "room")) == (
        "3", "2", "9")
    # The unknown phone (line 4) and the repeated member (line 6) are listed by line; 丙 by name
    assert 'id="list-errors"' in html and "<td>4</td>" in html and "<td>6</td>" in html
    assert 'id="bulk-refused"' in html and "丙" in html
    assert Coupon.objects.filter(template=per_member).count() == 1, "the preview issues nothing"

    done = client.post(URL, {"plan": plan_token(html)})
    assert done.status_code == 200 and 'id="bulk-result"' in done.content.decode()
    issued = Coupon.objects.filter(template=per_member).exclude(member=c)
    assert sorted(issued.values_list("member_id", flat=True)) == sorted([a.pk, b.pk])
    assert {(x.source, x.issued_by) for x in issued} == {(Coupon.Source.MANUAL, manager)}
    assert set(CouponEvent.objects.filter(coupon__in=issued).values_list("kind", "actor")) == {("issued", manager.pk)}
    per_member.refresh_from_db()
    assert per_member.issued_count == 3


def test_a_segment_gets_one_coupon_each_and_a_resent_confirmation_issues_nothing_twice(staff_client, manager,
                                                                                       make_member):
    unlimited = coupon_template_create(name="普通券", kind=CouponTemplate.Kind.FIXED, amount=Decimal("10"),
                                       valid_days=10)
    vips = [make_member(f"VIP{n}") for n in range(3)]
    make_member("普通")
    for member in vips:
        member_tag_add(member=member, actor=None, tag="vip")
    segment = segment_create(actor=manager, name="VIP", conditions={"all": [{"kind": "tag", "tags": ["vip"]}]})
    client = staff_client(manager)
    preview = client.post(URL, segment_post(unlimited, segment))
    html = preview.content.decode()
    assert preview.status_code == 200 and preview_number(html, "to-issue") == "3"
    token = plan_token(html)
    first = client.post(URL, {"plan": token})
    again = client.post(URL, {"plan": token})
    assert first.status_code == again.status_code == 200
    assert sorted(Coupon.objects.values_list("member_id", flat=True)) == sorted(m.pk for m in vips)
    assert 'id="bulk-repeated"' in again.content.decode()


def test_over_the_total_limit_the_preview_refuses_and_nothing_is_issued(staff_client, manager, make_member,
                                                                         template):
    for n in range(3):
        make_member(f"会员{n}")
    segment = segment_create(actor=manager, name="全部", conditions={"all": []})
    client = staff_client(manager)
    preview = client.post(URL, segment_post(template, segment))
    html = preview.content.decode()
    assert preview.status_code == 400
    expected = zh("%(count)s members would get the coupon “%(name)s”, but only %(room)s of its %(limit)s coupons "
                  "are left. Nothing was issued: choose fewer members or raise the total limit.") % {
        "count": 3, "name": template.name, "room": 2, "limit": 2}
    assert expected in html.replace("&quot;", '"')
    assert 'id="bulk-confirm"' not in html
    assert not Coupon.objects.exists()


def test_a_confirmation_that_no_longer_fits_the_limit_issues_nothing(staff_client, manager, make_member, template):
    a, b, c = make_member("甲"), make_member("乙"), make_member("丙")
    client = staff_client(manager)
    preview = client.post(URL, {**bulk_post(template, f"phone\n{a.phone}\n{b.phone}\n"), "source": "list"})
    assert preview.status_code == 200
    coupon_issue(member=c, template=template, source=Coupon.Source.MANUAL, actor=None)
    refused = client.post(URL, {"plan": plan_token(preview.content.decode())})
    assert refused.status_code == 400
    assert "Nothing was issued" in refused.content.decode() or "未发" in refused.content.decode() or \
        zh("Nothing was issued") in refused.content.decode()
    assert list(Coupon.objects.values_list("member_id", flat=True)) == [c.pk]


def test_a_tampered_plan_is_refused(staff_client, manager, make_member, template):
    make_member()
    response = staff_client(manager).post(URL, {"plan": "abc:def"})
    assert response.status_code == 400
    assert zh("This preview has expired or is not valid; start again.") in response.content.decode()
    assert not Coupon.objects.exists()


@pytest.mark.parametrize("text", ["name\n张三\n", "phone\n", "phone\n139 0009 9999\n"])
def test_a_list_naming_no_member_is_refused_and_issues_nothing(staff_client, manager, make_member, template, text):
    make_member()
    response = staff_client(manager).post(URL, {**bulk_post(template, text), "source": "list"})
    assert response.status_code == 400
    assert 'id="id_members_file-error"' in response.content.decode()
    assert zh("The list names no member that can receive a coupon.") in response.content.decode()
    assert not Coupon.objects.exists()


def test_the_form_without_a_file_or_a_segment_is_a_form_error(staff_client, manager, template):
    client = staff_client(manager)
    no_file = client.post(URL, {"template": template.pk, "idempotency_key": idempotency_key_new(), "source": "list"})
    assert no_file.status_code == 400 and 'id="id_members_file-error"' in no_file.content.decode()
    no_segment = client.post(URL, {"template": template.pk, "idempotency_key": idempotency_key_new(),
                                   "source": "segment"})
    assert no_segment.status_code == 400 and 'id="id_segment-error"' in no_segment.content.decode()


def test_the_coupon_list_shows_issued_over_the_limit(staff_client, manager, make_member, template):
    response = staff_client(manager).get(reverse("manager:coupons"))
    html = response.content.decode()
    assert "0 / 2" in html and reverse("manager:coupon_bulk_issue") in html
    assert Member.objects.count() == 0

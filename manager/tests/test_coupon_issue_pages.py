"""Issuing coupons by hand: one to a member from the member page, and one to every member of an
uploaded CSV list; owners and managers only; the template's limits hold."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from idempotency.forms import idempotency_key_new
from members.models import Member
from points.coupons import coupon_template_create
from points.models import Coupon, CouponTemplate


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


# --- A list of members ----------------------------------------------------------------------

def test_a_list_gets_coupons_up_to_the_limit_and_the_page_names_the_rest(staff_client, manager, make_member,
                                                                          template):
    a, b, c = make_member("甲"), make_member("乙"), make_member("丙")
    text = (f"member_number,phone\n{a.member_number},\n,{b.phone}\n,139 0009 9999\n{c.member_number},\n"
            f"{a.member_number},\n")
    response = staff_client(manager).post(reverse("manager:coupon_bulk_issue"), bulk_post(template, text))
    html = response.content.decode()
    assert response.status_code == 200
    assert set(Coupon.objects.values_list("member_id", flat=True)) == {a.pk, b.pk}
    # The unknown phone (line 4) and the repeated member (line 6) are listed by line; 丙 by name
    assert 'id="list-errors"' in html and "<td>4</td>" in html and "<td>6</td>" in html
    assert 'id="bulk-refused"' in html and "丙" in html


def test_the_same_list_sent_twice_issues_nothing_twice(staff_client, manager, make_member):
    unlimited = coupon_template_create(name="普通券", kind=CouponTemplate.Kind.FIXED, amount=Decimal("10"),
                                       valid_days=10)
    a, b = make_member("甲"), make_member("乙")
    key = idempotency_key_new()
    client = staff_client(manager)
    for _ in range(2):
        response = client.post(reverse("manager:coupon_bulk_issue"),
                               bulk_post(unlimited, f"phone\n{a.phone}\n{b.phone}\n", key=key))
        assert response.status_code == 200
    assert Coupon.objects.filter(template=unlimited).count() == 2
    assert 'id="bulk-repeated"' in response.content.decode()


@pytest.mark.parametrize("text", ["name\n张三\n", "phone\n", "phone\n139 0009 9999\n"])
def test_a_list_naming_no_member_is_refused_and_issues_nothing(staff_client, manager, make_member, template, text):
    make_member()
    response = staff_client(manager).post(reverse("manager:coupon_bulk_issue"), bulk_post(template, text))
    assert response.status_code == 400
    assert 'id="id_members_file-error"' in response.content.decode()
    assert zh("The list names no member that can receive a coupon.") in response.content.decode()
    assert not Coupon.objects.exists()


def test_the_list_form_without_a_file_is_a_form_error(staff_client, manager, template):
    response = staff_client(manager).post(reverse("manager:coupon_bulk_issue"),
                                          {"template": template.pk, "idempotency_key": idempotency_key_new()})
    assert response.status_code == 400 and 'id="id_members_file-error"' in response.content.decode()


def test_the_coupon_list_shows_issued_over_the_limit(staff_client, manager, make_member, template):
    response = staff_client(manager).get(reverse("manager:coupons"))
    html = response.content.decode()
    assert "0 / 2" in html and reverse("manager:coupon_bulk_issue") in html
    assert Member.objects.count() == 0

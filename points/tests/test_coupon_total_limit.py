"""A coupon template's total limit: how many of its coupons may be issued to all members
together. Counted by the database (cancelled coupons do not count), held by the service with a
lock, and refused by a check constraint above it."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from members.models import Member
from members.services import member_register
from points.coupons import coupon_issue, coupon_issue_many, coupon_template_create, coupon_template_update, coupon_void
from points.models import Coupon, CouponTemplate

THREADS = 20
LIMIT = 5


def issue(member, template):
    return coupon_issue(member=member, template=template, source=Coupon.Source.MANUAL, actor=None)


def test_the_count_follows_issues_and_cancellations(make_member, make_template):
    template = make_template(total_limit=2)
    a, b, c = make_member("甲"), make_member("乙"), make_member("丙")
    first = issue(a, template)
    issue(b, template)
    template.refresh_from_db()
    assert template.issued_count == 2
    # The limit is reached: a third member gets none, in words that say so
    with pytest.raises(ValidationError) as refused:
        issue(c, template)
    assert refused.value.code == "coupon_total_limit"
    assert not Coupon.objects.filter(member=c).exists()
    # A cancelled coupon frees its place
    coupon_void(coupon=first, actor=None, reason="发错了")
    template.refresh_from_db()
    assert template.issued_count == 1
    issue(c, template)
    template.refresh_from_db()
    assert template.issued_count == 2
    assert Coupon.objects.filter(template=template).exclude(status=Coupon.Status.VOID).count() == 2


def test_the_database_refuses_a_count_above_the_limit(make_member, make_template):
    template = make_template(total_limit=1)
    issue(make_member("甲"), template)
    other = make_member("乙")
    # Even a write that bypasses the service cannot go past the limit
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Coupon.objects.create(code="BYPASS0001", template=template, member=other, source="manual",
                              issued_at=now, valid_from=now, valid_until=now + timedelta(days=1))


def test_the_limit_cannot_be_set_below_what_is_issued(make_member, make_template):
    template = make_template()
    for name in ("甲", "乙", "丙"):
        issue(make_member(name), template)
    with pytest.raises(ValidationError) as refused:
        coupon_template_update(template=template, total_limit=2)
    assert "total_limit" in refused.value.message_dict
    template.refresh_from_db()
    assert template.total_limit is None
    coupon_template_update(template=template, total_limit=3)
    template.refresh_from_db()
    assert template.total_limit == 3


def test_a_batch_issues_up_to_the_limit_and_names_the_others(make_member, make_template):
    template = make_template(total_limit=2)
    members = [make_member(f"会员{n}") for n in range(4)]
    outcomes = coupon_issue_many(members=members, template=template, actor=None, batch_key="k1")
    assert [o.coupon is not None for o in outcomes] == [True, True, False, False]
    assert all("2" in o.error for o in outcomes[2:])
    # The same batch sent again issues nothing twice
    again = coupon_issue_many(members=members, template=template, actor=None, batch_key="k1")
    assert [o.repeated for o in again] == [True, True, False, False]
    assert Coupon.objects.filter(template=template).count() == 2


def test_an_archived_member_in_a_batch_gets_none_and_the_others_do(make_member, make_template):
    template = make_template()
    active, archived = make_member("甲"), make_member("乙")
    Member.objects.filter(pk=archived.pk).update(status=Member.Status.ARCHIVED)
    archived.refresh_from_db()
    outcomes = coupon_issue_many(members=[archived, active], template=template, actor=None, batch_key="k2")
    assert outcomes[0].coupon is None and outcomes[0].error
    assert outcomes[1].coupon is not None


def test_the_existing_coupons_are_counted_when_the_limit_arrives(make_member, make_template):
    # coupon_template_create with no limit, then coupons, then a limit: the count is already right
    template = coupon_template_create(name="老券", kind=CouponTemplate.Kind.FIXED, amount=10, valid_days=5)
    issue(make_member("甲"), template)
    template.refresh_from_db()
    assert template.issued_count == 1


@pytest.fixture(scope="module")
def crowd(committed_clinic, django_db_blocker):
    clinic = committed_clinic("couponcap", "限量券诊所")
    with django_db_blocker.unblock(), schema_context(clinic.schema_name):
        template = coupon_template_create(name="限量券", kind=CouponTemplate.Kind.FIXED, amount=20, valid_days=10,
                                          total_limit=LIMIT)
        members = [member_register(name=f"会员{n}", phone=f"1360000{n:04d}", actor=None).pk for n in range(THREADS)]
    return clinic.schema_name, template.pk, members


def test_members_racing_for_a_limited_coupon_never_exceed_the_limit(crowd, django_db_blocker):
    slug, template_id, member_ids = crowd
    barrier = threading.Barrier(len(member_ids))
    outcomes: list[str] = []

    def attempt(member_id: int) -> None:
        try:
            with schema_context(slug):
                member, template = Member.objects.get(pk=member_id), CouponTemplate.objects.get(pk=template_id)
                barrier.wait(timeout=60)
                issue(member, template)
            outcomes.append("issued")
        except ValidationError:
            outcomes.append("refused")
        except Exception as exc:  # noqa: BLE001 - any other outcome is reported by the test
            outcomes.append(repr(exc))
        finally:
            connection.close()

    with django_db_blocker.unblock():
        threads = [threading.Thread(target=attempt, args=(pk,)) for pk in member_ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert outcomes.count("issued") == LIMIT, outcomes
        assert outcomes.count("refused") == THREADS - LIMIT
        with schema_context(slug):
            assert Coupon.objects.filter(template_id=template_id).count() == LIMIT
            assert CouponTemplate.objects.get(pk=template_id).issued_count == LIMIT

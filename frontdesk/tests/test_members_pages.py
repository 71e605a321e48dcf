"""Today, member search, registration and the member page, through the real views."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.services import booking_create
from appointments.tests.conftest import local, upcoming_monday
from checkout.services import LineInput, PaymentInput, checkout_complete
from feedback.models import Survey
from feedback.services import AnswerInput, followup_create, survey_answer_submit
from idempotency.forms import idempotency_key_new
from members.models import ConsentRecord, MedicalAccessLog, Member
from members.services import medical_profile_update, member_register
from points.adjustments import points_adjust
from points.models import PointsAdjustment
from points.rules import local_date
from points.tests.factories import points_give

# The member page's queries, with its survey answers, follow-ups and tag history (one query each).
# 30 before the stored-value card, the treatment packages card, the suggestions and the campaign
# offers (a query each).
MEMBER_PAGE_MAX_QUERIES = 34


def register_post(**fields) -> dict:
    data = {"idempotency_key": idempotency_key_new(), "name": "李晓雯", "phone": "13900001111",
            "gender": "female", "source": "walk_in", "consent_data_processing": "on",
            "consent_marketing_sms": "on"}
    return {**data, **fields}


def test_today_lists_birthdays_and_expiring_points(staff_client, front_desk, rules):
    # Given a member whose birthday is today and one whose points expire in a week
    today = local_date(timezone.now())
    birthday = member_register(name="王生日", phone="13800000001", actor=None,
                               birthday=today.replace(year=1990))
    expiring = member_register(name="赵过期", phone="13800000002", actor=None)
    points_give(expiring, 300, expires_at=timezone.now() + timedelta(days=7))
    # When the front desk opens Today
    response = staff_client(front_desk).get(reverse("frontdesk:home"))
    # Then both are listed, and approvals are not (they are for managers)
    html = response.content.decode()
    assert response.status_code == 200
    assert birthday.name in html and expiring.name in html
    assert response.context["today"].expiring[0].points == 300
    assert 'id="today-approvals"' not in html


def test_today_shows_pending_approvals_to_managers(staff_client, manager, front_desk, member, rules):
    points_adjust(member=member, amount=5000, reason_code="goodwill", note="投诉补偿", actor=front_desk)
    html = staff_client(manager).get(reverse("frontdesk:home")).content.decode()
    assert 'id="today-approvals"' in html and "+5000" in html


def test_type_ahead_returns_the_results_fragment(staff_client, front_desk, member):
    # When the search box asks through HTMX for the last 4 digits, then pinyin initials
    client = staff_client(front_desk)
    by_digits = client.get(reverse("frontdesk:member_search"), {"q": "5678"}, HTTP_HX_REQUEST="true")
    by_initials = client.get(reverse("frontdesk:member_search"), {"q": "zxm"}, HTTP_HX_REQUEST="true")
    # Then each answers with the results list only, holding the member
    for response in (by_digits, by_initials):
        assert member.name in response.content.decode()
        assert "<html" not in response.content.decode()


def test_enter_on_a_single_match_opens_the_member(staff_client, front_desk, member):
    response = staff_client(front_desk).get(reverse("frontdesk:member_search"), {"q": member.member_number, "go": "1"})
    assert response.status_code == 302
    assert response.url == reverse("frontdesk:member_detail", args=[member.pk])


def test_registration_records_the_member_and_each_consent(staff_client, front_desk, rules):
    # When the front desk registers a walk-in who agrees to data processing and SMS only
    response = staff_client(front_desk).post(reverse("frontdesk:member_register"), register_post())
    # Then the member exists, the page goes to them, and every purpose has a record
    member = Member.objects.get(phone="+8613900001111")
    assert response.status_code == 302 and response.url == reverse("frontdesk:member_detail", args=[member.pk])
    consents = dict(ConsentRecord.objects.filter(member=member).values_list("purpose", "granted"))
    assert consents == {"data_processing": True, "marketing_sms": True, "marketing_email": False,
                        "marketing_wechat": False, "photos": False}
    assert set(ConsentRecord.objects.filter(member=member).values_list("recorded_by", flat=True)) == {front_desk.pk}


def test_a_registered_phone_leads_to_the_existing_member(staff_client, front_desk, member):
    # When someone tries to register the same phone again
    response = staff_client(front_desk).post(reverse("frontdesk:member_register"),
                                             register_post(phone="138 1234 5678"))
    # Then the form is refused with the error next to the phone field and a link to the member
    assert response.status_code == 400
    assert response.context["form"].errors["phone"]
    assert reverse("frontdesk:member_detail", args=[member.pk]) in response.content.decode()
    assert Member.objects.filter(phone="+8613812345678").count() == 1


def test_the_phone_check_warns_while_typing(staff_client, front_desk, member):
    response = staff_client(front_desk).get(reverse("frontdesk:phone_check"), {"phone": "13812345678"})
    assert reverse("frontdesk:member_detail", args=[member.pk]) in response.content.decode()
    free = staff_client(front_desk).get(reverse("frontdesk:phone_check"), {"phone": "13812349999"})
    assert free.content.decode().strip() == ""


def test_registration_with_a_referral_code_links_the_referrer(staff_client, front_desk, member):
    staff_client(front_desk).post(reverse("frontdesk:member_register"),
                                  register_post(referral_code=member.referral_code.lower()))
    referee = Member.objects.get(phone="+8613900001111")
    assert referee.referred_by == member and referee.source == Member.Source.REFERRAL


@pytest.mark.parametrize(("fields", "field"), [
    ({"referral_code": "NOSUCH"}, "referral_code"),
    ({"phone": "12345"}, "phone"),
    ({"name": ""}, "name"),
    ({"email": "not-an-email"}, "email"),
])
def test_bad_registration_input_is_shown_next_to_its_field(staff_client, front_desk, rules, fields, field):
    response = staff_client(front_desk).post(reverse("frontdesk:member_register"), register_post(**fields))
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert f'id="id_{field}-error"' in response.content.decode()
    assert not Member.objects.filter(phone="+8613900001111").exists()


def test_a_double_submitted_registration_registers_once(staff_client, front_desk, rules):
    client = staff_client(front_desk)
    data = register_post()
    first = client.post(reverse("frontdesk:member_register"), data)
    second = client.post(reverse("frontdesk:member_register"), data)
    assert Member.objects.filter(phone="+8613900001111").count() == 1
    assert first.status_code == second.status_code == 302 and first.url == second.url


def test_every_staff_sees_the_allergy_flag_but_only_practitioners_read_details(
        staff_client, front_desk, practitioner, member):
    medical_profile_update(member=member, actor=practitioner, allergies="青霉素过敏")
    desk = staff_client(front_desk)
    # The front desk sees the badge, not the details, and may not fetch them
    page = desk.get(reverse("frontdesk:member_detail", args=[member.pk])).content.decode()
    assert 'id="allergy-badge"' in page and "青霉素" not in page
    assert desk.get(reverse("frontdesk:member_medical", args=[member.pk])).status_code == 403
    # A practitioner reads them, and the reading is logged
    details = staff_client(practitioner).get(reverse("frontdesk:member_medical", args=[member.pk]))
    assert "青霉素过敏" in details.content.decode()
    assert MedicalAccessLog.objects.filter(member=member, staff=practitioner,
                                           action=MedicalAccessLog.Action.READ).count() == 1


def test_the_member_page_shows_points_tier_and_referral_code(staff_client, front_desk, member):
    points_give(member, 1234, expires_at=timezone.now() + timedelta(days=300))
    html = staff_client(front_desk).get(reverse("frontdesk:member_detail", args=[member.pk])).content.decode()
    assert "1234" in html and member.referral_code in html and 'id="tier-next"' in html


def _member_page_queries(client, member) -> int:
    url = reverse("frontdesk:member_detail", args=[member.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_member_page_query_count_does_not_grow_with_history(
        staff_client, front_desk, world, rules, catalogue, django_assert_max_num_queries):
    client = staff_client(front_desk)
    member = world.member

    def add_history(n: int) -> None:
        visit = checkout_complete(member=member, actor=front_desk, lines=[LineInput(item_id=catalogue["cream"].pk)],
                                  payments=[PaymentInput(method="cash", amount=catalogue["cream"].price)]).visit
        survey = Survey.objects.create(visit=visit, member=member, due_at=timezone.now(),
                                       status=Survey.Status.SENT, sent_at=timezone.now())
        survey_answer_submit(survey=survey, data=AnswerInput(nps_score=n % 11, comment=f"第{n}次"))
        followup_create(member=member, actor=front_desk, due_at=timezone.now(), note=f"回访{n}")
        member_register(name=f"朋友{n}", phone=f"1370000000{n}", actor=None, referral_code=member.referral_code)
        upcoming, past = upcoming_monday(2 + n), upcoming_monday(-2 - n)
        booking_create(member=member, treatment=world.botox, starts_at=local(upcoming, 10), actor=front_desk)
        booking_create(member=member, treatment=world.facial, starts_at=local(past, 10), actor=front_desk,
                       now=local(past, 8))

    # Given a member with four visits (a Silver member), four referrals and appointments to come and past
    for n in range(4):
        add_history(n)
    with_little = _member_page_queries(client, member)
    # When they have more visits, entries, referrals, appointments, survey answers (some unhappy,
    # with their follow-ups), follow-ups and a pending adjustment
    for n in range(4, 10):
        add_history(n)
    points_adjust(member=member, amount=5000, reason_code="goodwill", note="补偿", actor=front_desk)
    # Then the page takes the same number of queries, and a small one
    assert _member_page_queries(client, member) == with_little
    with django_assert_max_num_queries(MEMBER_PAGE_MAX_QUERIES):
        response = client.get(reverse("frontdesk:member_detail", args=[member.pk]))
    assert len(response.context["o"].upcoming_appointments) == 10 and len(response.context["o"].past_appointments) == 10


def test_archived_and_unknown_members_answer_not_found_or_read_only(staff_client, front_desk):
    assert staff_client(front_desk).get(reverse("frontdesk:member_detail", args=[999999])).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(anon_client):
    response = anon_client.get(reverse("frontdesk:member_search"))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_a_pending_adjustment_is_counted_on_the_member_page(staff_client, front_desk, member):
    points_adjust(member=member, amount=5000, reason_code="goodwill", note="补偿", actor=front_desk)
    response = staff_client(front_desk).get(reverse("frontdesk:member_detail", args=[member.pk]))
    assert len(response.context["o"].pending_adjustments) == 1
    assert PointsAdjustment.objects.get().status == PointsAdjustment.Status.PENDING

"""The member's satisfaction surveys in the portal: the ones waiting for an answer and the ones
whose answer can still be changed, only the member's own, each opening the feedback app's survey
page with a link that lasts exactly as long as the one in the message; and turning surveys off in
the portal makes the survey job skip the member."""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from feedback.links import LINK_VALID_FOR, survey_from_token, survey_sent_link_path
from feedback.models import Survey, SurveyAnswer
from feedback.services import ANSWER_EDITABLE_FOR, AnswerInput, survey_answer_submit, surveys_plan, surveys_send_due
from feedback.tasks import feedback_surveys_send
from feedback.tests.conftest import catalogue, quiet_hours_off, visit_of  # noqa: F401 - the fixtures
from members.selectors import consent_current
from messaging.models import Message, Purpose
from points.models import LoyaltySettings
from points.rules import clinic_zone
from tiers.models import Tier

pytestmark = pytest.mark.django_db


@pytest.fixture
def surveys_on(quiet_hours_off):  # noqa: F811
    """Surveys go whatever the hour, and a visit's bill is the item's price (no tier discount)."""
    LoyaltySettings.objects.get_or_create(pk=1)
    Tier.objects.update(discount_percent=0)


@pytest.fixture
def send_survey(surveys_on, catalogue, visit_of):  # noqa: F811
    """A treatment visit of `member` whose survey the job sent `sent_ago` ago (24 h after the visit)."""

    def send(member, sent_ago: timedelta) -> Survey:
        sent_at = timezone.now() - sent_ago
        visit = visit_of(member, catalogue["ipl"], at=sent_at - timedelta(hours=24))
        surveys_plan(now=sent_at)
        surveys_send_due(now=sent_at)
        survey = Survey.objects.get(visit=visit)
        assert survey.status == Survey.Status.SENT and survey.sent_at == sent_at
        return survey

    return send


def answer(survey: Survey, answered_ago: timedelta, score: int = 9) -> SurveyAnswer:
    return survey_answer_submit(survey=survey, at=timezone.now() - answered_ago, data=AnswerInput(nps_score=score))


def portal_links(html: str) -> dict[int, str]:
    """The survey links on a page, by the survey they open."""
    return {survey_from_token(token).pk: f"/s/{token}/{query}"
            for token, query in re.findall(r'href="/s/([^"/]+)/(\?from=portal)?"', html)}


def english_day(day) -> str:
    """A day as the English pages show it: "Sat 5 Dec 2026"."""
    return f"{day:%a} {day.day} {day:%b} {day.year}"


def section(html: str, element_id: str) -> str:
    return html.split(f'id="{element_id}"')[1].split("</section>")[0]


def expected_open(member) -> tuple[set[int], set[int]]:
    """Waiting and editable surveys of the member, worked out from the rows by the rules as the
    feedback docs state them: sent, link sent under 30 days ago, answer given under 7 days ago."""
    now = timezone.now()
    waiting, editable = set(), set()
    for survey in Survey.objects.filter(member=member):
        if survey.status != "sent" or now - survey.sent_at > LINK_VALID_FOR:
            continue
        given = SurveyAnswer.objects.filter(survey=survey).first()
        if given is None:
            waiting.add(survey.pk)
        elif now - given.answered_at <= ANSWER_EDITABLE_FOR:
            editable.add(survey.pk)
    return waiting, editable


def test_the_member_sees_only_their_surveys_to_answer_or_still_change(
        portal_member, portal_client, portal_client_for, make_member, send_survey):
    new = send_survey(portal_member, timedelta(days=2))
    older = send_survey(portal_member, timedelta(days=6))
    changeable = send_survey(portal_member, timedelta(days=5))
    answer(changeable, timedelta(days=4))
    closed = send_survey(portal_member, timedelta(days=20))
    answer(closed, timedelta(days=10))
    expired = send_survey(portal_member, LINK_VALID_FOR + timedelta(hours=1))
    other = make_member(name="外人")
    theirs = send_survey(other, timedelta(days=1))
    portal_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = portal_client.get(reverse("portal:surveys"))

    assert page.status_code == 200
    html = page.content.decode()
    waiting, editable = expected_open(portal_member)
    assert waiting == {new.pk, older.pk} and editable == {changeable.pk}
    assert set(portal_links(section(html, "surveys-waiting"))) == waiting
    assert set(portal_links(section(html, "surveys-editable"))) == editable
    assert f'data-survey="{closed.pk}"' not in html and f'data-survey="{expired.pk}"' not in html
    assert f'data-survey="{theirs.pk}"' not in html and theirs.pk not in portal_links(html)
    assert section(html, "surveys-waiting").index(f'data-survey="{new.pk}"') < \
        section(html, "surveys-waiting").index(f'data-survey="{older.pk}"')
    assert "You gave 9 out of 10" in section(html, "surveys-editable")
    # The other member sees theirs only.
    assert set(portal_links(portal_client_for(other).get("/m/surveys/").content.decode())) == {theirs.pk}


def test_the_home_card_asks_about_the_newest_visit_waiting_on_its_local_day(
        portal_member, portal_client, make_member, send_survey):
    portal_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert 'id="survey-card"' not in portal_client.get(reverse("portal:home")).content.decode()
    send_survey(make_member(name="外人"), timedelta(hours=1))
    older = send_survey(portal_member, timedelta(days=3))
    newest = send_survey(portal_member, timedelta(days=1))

    html = portal_client.get(reverse("portal:home")).content.decode()

    card = section(html, "survey-card")
    day = timezone.localtime(newest.visit.visited_at, clinic_zone()).date()
    assert f"How was your visit on {english_day(day)}?" in card
    assert list(portal_links(card)) == [newest.pk]
    assert 'href="/m/surveys/"' in card and "All 2 surveys waiting" in card
    answer(newest, timedelta(hours=1))
    answer(older, timedelta(hours=1))
    assert 'id="survey-card"' not in portal_client.get(reverse("portal:home")).content.decode()


def test_the_survey_opened_from_the_portal_works_as_the_link_in_the_message(
        portal_member, portal_client, anon_client, send_survey):
    survey = send_survey(portal_member, timedelta(days=1))
    messaged = Message.objects.get(member=portal_member, purpose=Purpose.SURVEY).body
    messaged_token = re.search(r"/s/([^/\s]+)/", messaged).group(1)
    link = portal_links(portal_client.get(reverse("portal:home")).content.decode())[survey.pk]
    assert survey_from_token(messaged_token) == survey_from_token(link.split("/")[2]) == survey
    assert link.endswith("/?from=portal")
    plain = link.removesuffix("?from=portal")

    page = anon_client.get(link)
    assert page.status_code == 200 and 'name="nps_score"' in page.content.decode()
    assert '<a href="/m/surveys/" id="survey-back-to-portal">' in page.content.decode()
    # Opened from the message, the page is as it was: no way back to a portal it did not come from.
    assert 'id="survey-back-to-portal"' not in anon_client.get(plain).content.decode()
    response = anon_client.post(link, {"nps_score": "10", "comment": "很好"})

    assert response.status_code == 302 and response["Location"] == f"{plain}?thanks=1&from=portal"
    assert 'id="survey-back-to-portal"' in anon_client.get(response["Location"]).content.decode()
    saved = SurveyAnswer.objects.get(survey=survey)
    assert (saved.nps_score, saved.comment, saved.member_id) == (10, "很好", portal_member.pk)
    html = portal_client.get(reverse("portal:surveys")).content.decode()
    assert survey.pk in portal_links(section(html, "surveys-editable"))
    assert survey.pk not in portal_links(section(html, "surveys-waiting"))
    changed = anon_client.post(link, {"nps_score": "8"})
    assert changed.status_code == 302
    saved.refresh_from_db()
    assert (saved.nps_score, saved.edits) == (8, 1)


def test_the_portal_link_expires_when_the_messaged_link_does(portal_member, portal_client, anon_client, send_survey):
    almost = send_survey(portal_member, LINK_VALID_FOR - timedelta(hours=1))
    # Listed and working while the message's link works.
    link = portal_links(portal_client.get(reverse("portal:surveys")).content.decode())[almost.pk]
    assert anon_client.get(link).status_code == 200
    # Thirty days after sending, neither lists nor opens (the token is dated when the survey was
    # sent, not when the portal page was shown).
    Survey.objects.filter(pk=almost.pk).update(sent_at=almost.sent_at - timedelta(hours=2))
    html = portal_client.get(reverse("portal:surveys")).content.decode()
    assert almost.pk not in portal_links(html)
    almost.refresh_from_db()
    assert anon_client.get(survey_sent_link_path(almost)).status_code == 410


def test_the_survey_page_opened_from_the_portal_speaks_the_members_language(
        portal_member, portal_client, send_survey):
    survey = send_survey(portal_member, timedelta(days=1))
    portal_client.post(reverse("portal:profile_language"), {"language": "en"})
    link = portal_links(portal_client.get(reverse("portal:surveys")).content.decode())[survey.pk]

    page = portal_client.get(link)

    assert page["Content-Language"] == "en" and "How was your visit?" in page.content.decode()
    portal_client.post(reverse("portal:profile_language"), {"language": "zh-hans"})
    assert portal_client.get(link)["Content-Language"] == "zh-hans"


def test_turning_surveys_off_in_the_portal_makes_the_job_skip_the_member(
        portal_member, portal_client, staff_client, front_desk, surveys_on, catalogue, visit_of):  # noqa: F811
    html = portal_client.get(reverse("portal:profile_consent")).content.decode()
    assert 'data-purpose="surveys" data-granted="yes"' in html

    turned_off = portal_client.post(reverse("portal:profile_consent"), {"purpose": "surveys", "granted": "0"})
    assert turned_off.status_code == 302
    visit_of(portal_member, catalogue["ipl"])
    counts = feedback_surveys_send.delay().get()

    survey = Survey.objects.get(member=portal_member)
    assert counts["surveys_sent"] == 0 and counts["surveys_skipped"] == 1
    assert (survey.status, survey.skip_reason) == (Survey.Status.SKIPPED, Message.SkipReason.OPTED_OUT)
    assert Message.objects.get(member=portal_member, purpose=Purpose.SURVEY).skip_reason == "opted_out"
    record = consent_current(member=portal_member)["surveys"]
    assert (record.granted, record.channel, record.recorded_by) == (False, "portal", None)
    assert 'data-purpose="surveys" data-granted="no"' in \
        portal_client.get(reverse("portal:profile_consent")).content.decode()
    # The front desk sees the withdrawal with the portal as its source.
    desk = staff_client(front_desk)
    desk.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    row = desk.get(reverse("frontdesk:member_detail", args=[portal_member.pk])).content.decode() \
        .split('data-purpose="surveys"')[1].split("</tr>")[0]
    assert 'data-granted="no"' in row and "Withdrawn" in row and "Member portal" in row
    # Turned on again, the next visit's survey goes.
    portal_client.post(reverse("portal:profile_consent"), {"purpose": "surveys", "granted": "1"})
    visit_of(portal_member, catalogue["ipl"], at=timezone.now() - timedelta(hours=26))
    assert feedback_surveys_send.delay().get()["surveys_sent"] == 1
    assert Survey.objects.filter(member=portal_member, status=Survey.Status.SENT).count() == 1


@pytest.mark.parametrize("name", ["portal:home", "portal:surveys"])
def test_the_survey_pages_take_the_same_queries_however_many_surveys(portal_member, portal_client, send_survey,
                                                                     name):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert portal_client.get(reverse(name)).status_code == 200
        return len(captured)

    send_survey(portal_member, timedelta(days=1))
    few = queries()
    for days in range(2, 8):
        survey = send_survey(portal_member, timedelta(days=days))
        if days % 2:
            answer(survey, timedelta(days=days - 1))
    many = queries()
    assert many == few


def test_a_visit_near_midnight_is_asked_about_on_the_clinics_local_day(portal_member, portal_client, surveys_on,
                                                                       catalogue, visit_of):  # noqa: F811
    portal_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    zone = clinic_zone()
    two_days_ago = timezone.localtime(timezone.now(), zone).date() - timedelta(days=2)
    # 00:30 in the clinic (Shanghai) is 16:30 UTC the day before: the member's day is the local one.
    visited = datetime.combine(two_days_ago, time(0, 30), tzinfo=zone)
    assert visited.astimezone(ZoneInfo("UTC")).date() != two_days_ago
    visit = visit_of(portal_member, catalogue["ipl"], at=visited)
    surveys_plan(now=visited + timedelta(hours=1))
    surveys_send_due(now=visited + timedelta(hours=25))
    assert Survey.objects.get(visit=visit).status == Survey.Status.SENT

    card = section(portal_client.get(reverse("portal:home")).content.decode(), "survey-card")

    assert f"How was your visit on {english_day(two_days_ago)}?" in card
    assert english_day(two_days_ago - timedelta(days=1)) not in card

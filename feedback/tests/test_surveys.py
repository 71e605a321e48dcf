"""Surveys: planned once per visit, sent after the delay in the clinic's time zone outside quiet
hours, not to members who turned surveys off, and answered through a signed link."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from feedback.links import SurveyLinkExpired, SurveyLinkInvalid, survey_from_token, survey_token
from feedback.models import FollowUpTask, Survey, SurveyAnswer
from feedback.services import AnswerInput, survey_answer_submit, survey_settings_update, surveys_plan, surveys_send_due
from feedback.tasks import feedback_surveys_send
from feedback.tests.conftest import local
from members.models import ConsentRecord
from members.services import consent_record, member_register
from messaging.models import Message, Purpose


def _run(now):
    surveys_plan(now=now)
    return surveys_send_due(now=now)


def test_survey_goes_once_after_the_delay_in_the_clinic_time_zone(catalogue, member, visit_of):
    # Visit at 15:00 Shanghai (07:00 UTC); the survey is due 24 h later, 15:00 the next day.
    visit = visit_of(member, catalogue["ipl"], at=local(2026, 3, 10, 15, 0))
    surveys_plan(now=local(2026, 3, 10, 16, 0))
    survey = Survey.objects.get(visit=visit)
    assert survey.due_at == local(2026, 3, 11, 15, 0)
    assert surveys_send_due(now=local(2026, 3, 11, 14, 59)) == {"surveys_sent": 0, "surveys_skipped": 0}
    assert _run(local(2026, 3, 11, 15, 5)) == {"surveys_sent": 1, "surveys_skipped": 0}
    assert _run(local(2026, 3, 11, 15, 15)) == {"surveys_sent": 0, "surveys_skipped": 0}
    messages = Message.objects.filter(member=member, purpose=Purpose.SURVEY)
    assert messages.count() == 1
    survey.refresh_from_db()
    assert survey.status == Survey.Status.SENT
    token = messages.get().body.split("/s/")[1].split("/")[0]
    assert survey_from_token(token) == survey
    assert "2026年3月10日 周二" in messages.get().body


def test_the_celery_job_run_twice_sends_once(catalogue, member, visit_of, quiet_hours_off):
    visit_of(member, catalogue["ipl"])
    feedback_surveys_send.delay()
    feedback_surveys_send.delay()
    assert Message.objects.filter(member=member, purpose=Purpose.SURVEY).count() == 1
    assert Survey.objects.get(member=member).status == Survey.Status.SENT


def test_a_survey_due_in_quiet_hours_waits_until_they_end(catalogue, member, visit_of):
    # Visit at 22:30; 24 h later is in the default quiet hours (21:00–09:00), so 09:00 after.
    visit_of(member, catalogue["ipl"], at=local(2026, 3, 10, 22, 30))
    surveys_plan(now=local(2026, 3, 10, 23, 0))
    assert Survey.objects.get(member=member).due_at == local(2026, 3, 12, 9, 0)
    # A job running late into quiet hours does not send either.
    survey_settings_update(actor=None, delay_hours=1)
    assert surveys_send_due(now=local(2026, 3, 12, 8, 59))["surveys_sent"] == 0
    assert surveys_send_due(now=local(2026, 3, 12, 9, 0))["surveys_sent"] == 1


def test_no_survey_to_a_member_who_turned_surveys_off(catalogue, member, visit_of, quiet_hours_off):
    consent_record(member=member, purpose=ConsentRecord.Purpose.SURVEYS, granted=False,
                   channel=ConsentRecord.Channel.FRONT_DESK, actor=None)
    visit_of(member, catalogue["ipl"])
    counts = feedback_surveys_send.delay().get()
    assert counts["surveys_sent"] == 0 and counts["surveys_skipped"] == 1
    survey = Survey.objects.get(member=member)
    assert survey.status == Survey.Status.SKIPPED and survey.skip_reason == Message.SkipReason.OPTED_OUT
    assert Message.objects.get(member=member, purpose=Purpose.SURVEY).status == Message.Status.SKIPPED
    feedback_surveys_send.delay()
    assert Message.objects.filter(member=member, purpose=Purpose.SURVEY).count() == 1


def test_products_only_and_untriggering_treatments_get_no_survey(catalogue, member, visit_of):
    visit_of(member, catalogue["cream"])
    survey_settings_update(actor=None, all_treatments=False, treatments=[catalogue["ipl"]])
    visit_of(member, catalogue["peel"])
    ipl = visit_of(member, catalogue["ipl"])
    surveys_plan()
    assert list(Survey.objects.values_list("visit_id", flat=True)) == [ipl.pk]


def _sent_survey(catalogue, member, visit_of):
    from datetime import time

    from messaging.services import messaging_settings_update
    messaging_settings_update(actor=None, quiet_hours_start=time(0, 0), quiet_hours_end=time(0, 0))
    visit_of(member, catalogue["ipl"])
    feedback_surveys_send.delay()
    return Survey.objects.get(member=member)


def test_a_link_works_for_its_own_member_only(catalogue, member, visit_of):
    survey = _sent_survey(catalogue, member, visit_of)
    other = member_register(name="李四", phone="13900000002", actor=None)
    other_survey = _sent_survey(catalogue, other, visit_of)
    assert survey_from_token(survey_token(other_survey)) == other_survey
    token = survey_token(survey)
    with pytest.raises(SurveyLinkInvalid):
        survey_from_token(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    # A link naming this survey with the other member's id (signed by someone else) is refused.
    from django.core import signing
    forged = signing.dumps([survey.pk, other.pk], salt="feedback.survey:0", compress=True)
    with pytest.raises(SurveyLinkInvalid):
        survey_from_token(forged)
    with pytest.raises(SurveyLinkInvalid):
        survey_from_token("not-a-token")


def test_an_old_link_has_expired(catalogue, member, visit_of, monkeypatch):
    survey = _sent_survey(catalogue, member, visit_of)
    token = survey_token(survey)
    import time
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 31 * 86400)
    with pytest.raises(SurveyLinkExpired):
        survey_from_token(token)


def test_a_detractor_answer_opens_a_follow_up_at_once_and_only_once(catalogue, member, visit_of):
    survey = _sent_survey(catalogue, member, visit_of)
    answer = survey_answer_submit(survey=survey, data=AnswerInput(nps_score=4, comment="等太久", tags=("waiting",)))
    task = FollowUpTask.objects.get(member=member)
    assert task.kind == FollowUpTask.Kind.DETRACTOR and task.answer == answer and task.status == "open"
    survey_answer_submit(survey=survey, data=AnswerInput(nps_score=3))
    assert FollowUpTask.objects.filter(member=member).count() == 1
    answer.refresh_from_db()
    assert (answer.nps_score, answer.edits) == (3, 1)


def test_a_promoter_answer_opens_no_follow_up(catalogue, member, visit_of):
    survey = _sent_survey(catalogue, member, visit_of)
    survey_answer_submit(survey=survey, data=AnswerInput(nps_score=9))
    assert not FollowUpTask.objects.exists()


@pytest.mark.parametrize("data", [AnswerInput(nps_score=11), AnswerInput(nps_score=None), AnswerInput(nps_score=-1),
                                  AnswerInput(nps_score=8, tags=("free-lunch",))])
def test_a_bad_answer_is_refused_and_changes_nothing(catalogue, member, visit_of, data):
    survey = _sent_survey(catalogue, member, visit_of)
    with pytest.raises(ValidationError):
        survey_answer_submit(survey=survey, data=data)
    assert not SurveyAnswer.objects.exists()


def test_an_answer_can_be_changed_for_seven_days_only(catalogue, member, visit_of):
    survey = _sent_survey(catalogue, member, visit_of)
    first = survey_answer_submit(survey=survey, data=AnswerInput(nps_score=8))
    with pytest.raises(ValidationError, match="7 days"):
        survey_answer_submit(survey=survey, data=AnswerInput(nps_score=2),
                             at=first.answered_at + timedelta(days=7, minutes=1))
    first.refresh_from_db()
    assert first.nps_score == 8
    assert not FollowUpTask.objects.exists()


def test_the_delay_and_quiet_hours_are_the_clinics_own_clock(catalogue, member, visit_of, london_clinic):
    from zoneinfo import ZoneInfo
    london = ZoneInfo("Europe/London")
    # 15:00 in London is 23:00 in Shanghai: quiet there, not in London, so the survey is due
    # exactly 24 h later.
    afternoon = visit_of(member, catalogue["ipl"], at=local(2026, 3, 10, 15, 0))
    # 23:30 in London, 22:30 + 1 h the next day is quiet hours in London: 09:00 London after.
    late = visit_of(member, catalogue["ipl"], at=local(2026, 3, 10, 23, 30))
    surveys_plan(now=local(2026, 3, 11, 0, 0))
    assert Survey.objects.get(visit=afternoon).due_at == local(2026, 3, 11, 15, 0)
    assert Survey.objects.get(visit=late).due_at == local(2026, 3, 12, 9, 0)
    assert local(2026, 3, 12, 9, 0).tzinfo == london
    # At 22:00 London (06:00 next day in Shanghai, also quiet there) nothing goes; at 15:00
    # London (23:00 in Shanghai, quiet there) the first one goes.
    assert surveys_send_due(now=local(2026, 3, 11, 14, 59))["surveys_sent"] == 0
    assert surveys_send_due(now=local(2026, 3, 11, 15, 0))["surveys_sent"] == 1
    assert surveys_send_due(now=local(2026, 3, 12, 8, 59))["surveys_sent"] == 0
    assert surveys_send_due(now=local(2026, 3, 12, 9, 0))["surveys_sent"] == 1
    # The message names the visit's day in London (23:30 on the 10th is the 11th in Shanghai).
    body = Message.objects.get(member=member, purpose=Purpose.SURVEY, guard_key=f"survey:{late.pk}").body
    assert "2026年3月10日 周二" in body and "2026年3月11日" not in body


def test_the_job_run_every_ten_minutes_sends_once_per_visit(catalogue, member, visit_of):
    first = visit_of(member, catalogue["ipl"], at=local(2026, 3, 10, 11, 0))
    second = visit_of(member, catalogue["peel"], at=local(2026, 3, 10, 12, 0))
    # Planning and sending at every ten minutes of the next day, 36 runs in all.
    for minutes in range(0, 6 * 60, 10):
        _run(local(2026, 3, 11, 10, 0) + timedelta(minutes=minutes))
    sent = Message.objects.filter(member=member, purpose=Purpose.SURVEY)
    assert sorted(sent.values_list("guard_key", flat=True)) == sorted(
        [f"survey:{first.pk}", f"survey:{second.pk}"])
    assert Survey.objects.filter(status=Survey.Status.SENT).count() == 2


def test_a_member_registered_at_the_desk_gets_surveys_until_they_withdraw(catalogue, visit_of, staff_client,
                                                                          front_desk, quiet_hours_off):
    from idempotency.forms import idempotency_key_new
    from members.models import Member
    client = staff_client(front_desk)
    # The registration form asks no question about surveys (they are on until withdrawn) …
    form = client.get("/members/new/").content.decode()
    assert 'name="consent_data_processing"' in form and 'name="consent_surveys"' not in form
    # … and a "surveys" box posted anyway records nothing.
    response = client.post("/members/new/", {
        "idempotency_key": idempotency_key_new(), "name": "王新", "phone": "13700001234", "gender": "female",
        "source": "walk_in", "consent_data_processing": "on", "consent_surveys": ""})
    assert response.status_code == 302
    member = Member.objects.get(pk=response["Location"].strip("/").split("/")[-1])
    assert not ConsentRecord.objects.filter(member=member, purpose=ConsentRecord.Purpose.SURVEYS).exists()
    visit_of(member, catalogue["ipl"])
    assert feedback_surveys_send.delay().get()["surveys_sent"] == 1
    # Withdrawn at the desk (the member page's consent form): no more surveys.
    consent_record(member=member, purpose=ConsentRecord.Purpose.SURVEYS, granted=False,
                   channel=ConsentRecord.Channel.FRONT_DESK, actor=front_desk)
    visit_of(member, catalogue["peel"])
    counts = feedback_surveys_send.delay().get()
    assert (counts["surveys_sent"], counts["surveys_skipped"]) == (0, 1)

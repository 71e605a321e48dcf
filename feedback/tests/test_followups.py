"""Follow-up tasks: made by treatment rules and the recall list (once however often the jobs
run), by hand; outcomes that close or reschedule them, kept append-only; complaint cases."""

import calendar
import html
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.urls import reverse
from django.utils import timezone, translation

from appointments.selectors import recall_list
from feedback.models import ComplaintCase, FollowUpOutcome, FollowUpTask
from feedback.selectors import followup_note_text
from feedback.services import (
    complaint_close,
    followup_create,
    followup_outcome_record,
    followup_rule_create,
    recall_followups_create,
    treatment_followups_create,
)
from feedback.tests.conftest import local
from members.services import member_register
from points.rules import clinic_zone


def test_treatment_rules_make_day_1_and_day_7_tasks_once(catalogue, member, visit_of):
    followup_rule_create(actor=None, treatment=catalogue["ipl"], days_after=1)
    followup_rule_create(actor=None, category=catalogue["lasers"], days_after=7)
    visit_of(member, catalogue["ipl"], at=local(2026, 3, 10, 15, 0))
    visit_of(member, catalogue["cream"], at=local(2026, 3, 10, 15, 30))
    now = local(2026, 3, 10, 16, 0)
    assert treatment_followups_create(now=now) == 2
    assert treatment_followups_create(now=now + timedelta(minutes=10)) == 0
    due = sorted(timezone.localtime(task.due_at, clinic_zone()).date().isoformat()
                 for task in FollowUpTask.objects.filter(member=member))
    assert due == ["2026-03-11", "2026-03-17"]
    assert set(FollowUpTask.objects.values_list("kind", flat=True)) == {FollowUpTask.Kind.TREATMENT}


def test_a_peel_matches_the_category_rule_but_not_the_ipl_rule(catalogue, member, visit_of):
    followup_rule_create(actor=None, treatment=catalogue["ipl"], days_after=1)
    followup_rule_create(actor=None, category=catalogue["lasers"], days_after=7)
    visit_of(member, catalogue["peel"], at=local(2026, 3, 10, 15, 0))
    treatment_followups_create(now=local(2026, 3, 10, 16, 0))
    assert [task.rule.days_after for task in FollowUpTask.objects.all()] == [7]


def test_the_recall_list_makes_one_task_per_member_and_due_session(catalogue, member, visit_of):
    visit_of(member, catalogue["ipl"], at=timezone.now() - timedelta(days=40))
    assert recall_followups_create() == 1
    assert recall_followups_create() == 0
    task = FollowUpTask.objects.get(member=member)
    assert task.kind == FollowUpTask.Kind.RECALL and task.treatment == catalogue["ipl"]


def test_reached_closes_the_task_and_keeps_the_outcome(member, front_desk):
    task = followup_create(member=member, actor=front_desk, due_at=timezone.now(), note="问术后恢复")
    outcome = followup_outcome_record(task=task, actor=front_desk, kind="reached", notes="恢复很好")
    task.refresh_from_db()
    assert task.status == FollowUpTask.Status.DONE and task.closed_at == outcome.recorded_at
    assert (outcome.actor, outcome.notes) == (front_desk, "恢复很好")
    with pytest.raises(ValidationError, match="already done"):
        followup_outcome_record(task=task, actor=front_desk, kind="no_answer")
    assert FollowUpOutcome.objects.filter(task=task).count() == 1


def test_no_answer_and_call_back_reschedule_the_task(member, front_desk):
    now = timezone.now()
    task = followup_create(member=member, actor=front_desk, due_at=now, note="回访", at=now)
    followup_outcome_record(task=task, actor=front_desk, kind="no_answer", at=now)
    task.refresh_from_db()
    assert task.status == "open" and task.due_at == now + timedelta(days=1)
    later = now + timedelta(days=3, hours=2)
    followup_outcome_record(task=task, actor=front_desk, kind="call_back", call_back_at=later, at=now)
    task.refresh_from_db()
    assert task.status == "open" and task.due_at == later
    assert list(task.outcomes.values_list("kind", flat=True)) == ["no_answer", "call_back"]


@pytest.mark.parametrize(("kind", "extra", "field"), [
    ("", {}, "kind"),
    ("complaint", {"notes": "  "}, "notes"),
    ("call_back", {}, "call_back_at"),
    ("booked", {}, "booking"),
])
def test_an_incomplete_outcome_is_refused_and_changes_nothing(member, front_desk, kind, extra, field):
    due = timezone.now()
    task = followup_create(member=member, actor=front_desk, due_at=due, note="回访")
    with pytest.raises(ValidationError) as refused:
        followup_outcome_record(task=task, actor=front_desk, kind=kind, **extra)
    assert field in refused.value.message_dict
    task.refresh_from_db()
    assert (task.status, task.due_at) == ("open", due)
    assert not FollowUpOutcome.objects.exists() and not ComplaintCase.objects.exists()


def test_booked_links_the_members_appointment_only(member, front_desk, book):
    other = member_register(name="李四", phone="13900000002", actor=None)
    task = followup_create(member=member, actor=front_desk, due_at=timezone.now(), note="邀约复诊")
    with pytest.raises(ValidationError):
        followup_outcome_record(task=task, actor=front_desk, kind="booked", booking=book(other))
    booking = book(member, days_ahead=3)
    followup_outcome_record(task=task, actor=front_desk, kind="booked", booking=booking)
    task.refresh_from_db()
    assert task.status == "done" and task.booking == booking


def test_a_complaint_opens_a_case_only_a_manager_closes(member, front_desk, manager):
    task = followup_create(member=member, actor=front_desk, due_at=timezone.now(), note="回访")
    followup_outcome_record(task=task, actor=front_desk, kind="complaint", notes="术后红肿，等候太久")
    case = ComplaintCase.objects.get(member=member)
    assert case.status == "open" and case.details == "术后红肿，等候太久"
    with pytest.raises(PermissionDenied):
        complaint_close(case=case, actor=front_desk, resolution="已致歉")
    with pytest.raises(ValidationError):
        complaint_close(case=case, actor=manager, resolution="")
    case.refresh_from_db()
    assert case.status == "open"
    complaint_close(case=case, actor=manager, resolution="医生复诊，赠送修护面膜")
    case.refresh_from_db()
    assert (case.status, case.closed_by, case.resolution) == ("closed", manager, "医生复诊，赠送修护面膜")


def test_outcomes_cannot_be_changed_or_deleted(member, front_desk):
    task = followup_create(member=member, actor=front_desk, due_at=timezone.now(), note="回访")
    outcome = followup_outcome_record(task=task, actor=front_desk, kind="no_answer")
    with pytest.raises(DatabaseError), transaction.atomic():
        FollowUpOutcome.objects.filter(pk=outcome.pk).update(notes="changed")
    with pytest.raises(DatabaseError), transaction.atomic():
        FollowUpOutcome.objects.filter(pk=outcome.pk).delete()


def test_a_follow_up_by_hand_needs_a_note(member, front_desk):
    with pytest.raises(ValidationError) as refused:
        followup_create(member=member, actor=front_desk, due_at=timezone.now(), note=" ")
    assert "note" in refused.value.message_dict
    assert not FollowUpTask.objects.exists()


def test_merging_a_duplicate_moves_its_surveys_answers_follow_ups_and_complaints(catalogue, member, visit_of,
                                                                                 front_desk, manager, anon_client,
                                                                                 quiet_hours_off):
    from feedback.links import survey_token
    from feedback.models import Survey, SurveyAnswer
    from feedback.services import AnswerInput, survey_answer_submit
    from feedback.tasks import feedback_surveys_send
    from members.services import member_merge
    duplicate = member_register(name="张小美", phone="13900000009", actor=None)
    visit_of(duplicate, catalogue["ipl"])
    feedback_surveys_send.delay()
    survey = Survey.objects.get(member=duplicate)
    link = f"/s/{survey_token(survey)}/"
    survey_answer_submit(survey=survey, data=AnswerInput(nps_score=3))
    detractor = FollowUpTask.objects.get(member=duplicate, kind="detractor")
    complaint = followup_create(member=duplicate, actor=front_desk, due_at=timezone.now(), note="回访")
    followup_outcome_record(task=complaint, actor=front_desk, kind="complaint", notes="不满意")

    member_merge(survivor=member, duplicate=duplicate, actor=manager)

    for model in (Survey, SurveyAnswer, FollowUpTask, ComplaintCase):
        assert set(model.objects.values_list("member_id", flat=True)) == {member.pk}, model.__name__
    detractor.refresh_from_db()
    assert detractor.status == "open" and detractor.member_id == member.pk
    # The link sent before the merge still opens the survey, and the answer can still be changed.
    assert anon_client.get(link).status_code == 200
    assert anon_client.post(link, {"nps_score": "7"}).status_code == 302
    assert SurveyAnswer.objects.get(survey=survey).nps_score == 7


def test_erasing_a_member_clears_what_was_written_but_keeps_the_scores(catalogue, member, visit_of, front_desk,
                                                                       manager, quiet_hours_off):
    from feedback.models import Survey, SurveyAnswer
    from feedback.selectors import nps
    from feedback.services import AnswerInput, complaint_close, survey_answer_submit
    from feedback.tasks import feedback_surveys_send
    from members.services import member_erase
    visit_of(member, catalogue["ipl"])
    feedback_surveys_send.delay()
    answer = survey_answer_submit(survey=Survey.objects.get(member=member),
                                  data=AnswerInput(nps_score=2, comment="张小美，手机13812345678，很不满意"))
    task = FollowUpTask.objects.get(member=member)
    followup_outcome_record(task=task, actor=front_desk, kind="complaint", notes="顾客投诉红肿")
    complaint_close(case=ComplaintCase.objects.get(), actor=manager, resolution="为张小美安排复诊")
    other = followup_create(member=member, actor=front_desk, due_at=timezone.now(), note="问张小美恢复情况")
    week = (timezone.now() - timedelta(days=7), timezone.now() + timedelta(days=1))
    before = nps(start=week[0], end=week[1])

    member_erase(member=member, actor=manager, reason="顾客要求删除")

    answer.refresh_from_db()
    other.refresh_from_db()
    case = ComplaintCase.objects.get()
    assert (answer.comment, answer.nps_score) == ("", 2)
    assert other.note == "" and other.status == "open"
    assert (case.details, case.resolution, case.status) == ("", "—", "closed")
    assert nps(start=week[0], end=week[1]) == before
    assert SurveyAnswer.objects.count() == 1


def _day_in(language: str, day) -> str:
    """The day as the issue asks people to read it, written out here by hand."""
    if language == "en":
        return f"{calendar.day_abbr[day.weekday()]} {day.day} {calendar.month_abbr[day.month]} {day.year}"
    return f"{day.year}年{day.month}月{day.day}日 周{'一二三四五六日'[day.weekday()]}"


def test_a_recalls_note_reads_in_the_viewers_language_with_the_day_in_its_format(
        catalogue, member, visit_of, staff_client, front_desk):
    # Given a recall task made by the nightly job running in Chinese
    visit_of(member, catalogue["ipl"], at=timezone.now() - timedelta(days=40))
    with translation.override("zh-hans"):
        recall_followups_create()
    task = FollowUpTask.objects.get(member=member, kind=FollowUpTask.Kind.RECALL)
    due_on = recall_list(on=timezone.localdate(timezone.now(), clinic_zone()))[0].due_on
    client = staff_client(front_desk)

    for language, expected in (("en", f"Due for the next session of 光子嫩肤 since {_day_in('en', due_on)}."),
                               ("zh-hans", f"自 {_day_in('zh-hans', due_on)} 起应做下一次光子嫩肤。")):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        # When staff open the queue, the task and the API in their language
        queue = client.get(reverse("feedback:queue")).content.decode()
        page = client.get(reverse("feedback:task", args=[task.pk])).content.decode()
        api = client.get(f"/api/v1/feedback/followups/{task.pk}/", HTTP_ACCEPT_LANGUAGE=language).json()
        # Then each shows the note in that language, the day in that language's format
        assert expected in queue and expected in page and api["note_text"] == expected, language
        assert not re.search(r"\d{4}-\d{2}-\d{2}", html.unescape(queue + page) + api["note_text"])
    # And the note as recorded has no ISO day either
    assert _day_in("zh-hans", due_on) in task.note


def test_a_note_erased_with_the_members_data_stays_empty(catalogue, member, visit_of):
    visit_of(member, catalogue["ipl"], at=timezone.now() - timedelta(days=40))
    recall_followups_create()
    FollowUpTask.objects.filter(member=member).update(note="")  # as the erasure leaves it
    assert followup_note_text(FollowUpTask.objects.get(member=member)) == ""


def test_an_unhappy_answers_follow_up_reads_in_the_viewers_language(catalogue, member, visit_of, staff_client,
                                                                     front_desk, quiet_hours_off):
    from feedback.models import Survey
    from feedback.services import AnswerInput, survey_answer_submit
    from feedback.tasks import feedback_surveys_send
    # Given the follow-up of a score of 3, made while the job ran in Chinese
    visit_of(member, catalogue["ipl"])
    feedback_surveys_send.delay()
    with translation.override("zh-hans"):
        survey_answer_submit(survey=Survey.objects.get(member=member), data=AnswerInput(nps_score=3))
    task = FollowUpTask.objects.get(member=member, kind=FollowUpTask.Kind.DETRACTOR)
    client = staff_client(front_desk)
    for language, expected in (("en", "Scored 3 of 10 for the visit."), ("zh-hans", "本次到店评分为3分（满分10分）。")):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        # When staff open the queue and the API in their language, they read it in that language
        queue = html.unescape(client.get(reverse("feedback:queue")).content.decode())
        api = client.get(f"/api/v1/feedback/followups/{task.pk}/", HTTP_ACCEPT_LANGUAGE=language).json()
        assert expected in queue and api["note_text"] == expected, language

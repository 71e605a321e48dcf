"""The feedback pages: the member's survey page by its link (no sign-in), the queue, a task and
its outcome, complaints, the manager's settings, the member page; bad input gets a clear error
in the page's language and changes nothing."""

import re
import time as time_module
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from feedback.links import survey_token
from feedback.models import ComplaintCase, FollowUpOutcome, FollowUpTask, SurveyAnswer, SurveySettings
from feedback.services import followup_create
from feedback.tests.conftest import local
from feedback.tests.test_surveys import _sent_survey


@pytest.fixture
def survey(catalogue, member, visit_of, clinic_practitioner):
    visit_of(member, catalogue["ipl"], actor=clinic_practitioner.user)
    return _sent_survey(catalogue, member, lambda *args, **kwargs: None)


def test_the_survey_page_needs_no_sign_in_and_saves_the_answer(survey, anon_client):
    url = f"/s/{survey_token(survey)}/"
    page = anon_client.get(url)
    assert page.status_code == 200
    assert "您有多大可能向亲友推荐测试诊所" in page.content.decode()
    assert "李医生" in page.content.decode()
    response = anon_client.post(url, {"nps_score": "9", "practitioner_rating": "5", "tags": ["result", "service"],
                                      "comment": "很专业"})
    assert response.status_code == 302 and response["Location"].endswith("?thanks=1")
    answer = SurveyAnswer.objects.get(survey=survey)
    assert (answer.nps_score, answer.practitioner_rating, answer.tags, answer.comment) == (
        9, 5, ["result", "service"], "很专业")
    assert "谢谢" in anon_client.get(response["Location"]).content.decode()


def test_the_survey_page_in_english_uses_the_clinics_wording(survey, anon_client, manager):
    from feedback.services import survey_settings_update
    survey_settings_update(actor=manager, nps_question_en="Would you send a friend to {clinic}?")
    anon_client.cookies["django_language"] = "en"
    page = anon_client.get(f"/s/{survey_token(survey)}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Would you send a friend to 测试诊所?" in page.content.decode()


@pytest.mark.parametrize("post", [{"nps_score": "11", "practitioner_rating": "5"},
                                  {"practitioner_rating": "5"},
                                  {"nps_score": "8", "practitioner_rating": "6"}])
def test_a_bad_answer_gets_an_error_and_saves_nothing(survey, anon_client, post):
    response = anon_client.post(f"/s/{survey_token(survey)}/", post)
    assert response.status_code == 400
    assert "请选择" in response.content.decode()
    assert not SurveyAnswer.objects.exists()


def test_a_forged_or_expired_link_is_refused(survey, anon_client, monkeypatch):
    token = survey_token(survey)
    forged = anon_client.post(f"/s/{token[:-3]}xyz/", {"nps_score": "0"})
    assert forged.status_code == 404 and "链接无效" in forged.content.decode()
    real = time_module.time
    monkeypatch.setattr(time_module, "time", lambda: real() + 31 * 86400)
    expired = anon_client.post(f"/s/{token}/", {"nps_score": "0", "practitioner_rating": "1"})
    assert expired.status_code == 410 and "已过期" in expired.content.decode()
    assert not SurveyAnswer.objects.exists() and not FollowUpTask.objects.exists()


def test_a_detractor_answer_shows_in_the_desks_queue(survey, anon_client, staff_client, front_desk):
    anon_client.post(f"/s/{survey_token(survey)}/", {"nps_score": "3", "practitioner_rating": "2",
                                                     "comment": "等了一个小时"})
    page = staff_client(front_desk).get("/followups/?when=today")
    assert page.status_code == 200
    task = FollowUpTask.objects.get(kind="detractor")
    assert f'id="task-{task.pk}"' in page.content.decode() and "张小美" in page.content.decode()
    detail = staff_client(front_desk).get(f"/followups/{task.pk}/")
    assert "等了一个小时" in detail.content.decode() and "3/10" in detail.content.decode()


def test_recording_an_outcome_on_the_task_page(member, staff_client, front_desk):
    task = followup_create(member=member, actor=front_desk, due_at=timezone.now(), note="术后回访")
    client = staff_client(front_desk)
    empty = client.post(f"/followups/{task.pk}/", {"notes": "x"})
    assert empty.status_code == 400 and "请选择" in empty.content.decode()
    complaint = client.post(f"/followups/{task.pk}/", {"kind": "complaint", "notes": ""})
    assert complaint.status_code == 400
    assert not FollowUpOutcome.objects.exists()
    done = client.post(f"/followups/{task.pk}/", {"kind": "reached", "notes": "恢复良好"})
    assert done.status_code == 302 and done["Location"] == "/followups/"
    task.refresh_from_db()
    assert task.status == "done" and task.outcomes.get().actor == front_desk


def test_call_back_at_a_local_time(member, staff_client, front_desk):
    task = followup_create(member=member, actor=front_desk, due_at=timezone.now(), note="回访")
    day = timezone.localdate(timezone.now(), local(2026, 1, 1).tzinfo) + timedelta(days=2)
    response = staff_client(front_desk).post(f"/followups/{task.pk}/", {"kind": "call_back",
                                                                        "call_back_at": f"{day}T15:30"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.due_at == local(day.year, day.month, day.day, 15, 30)


def test_a_complaint_is_closed_by_a_manager_not_the_desk(member, staff_client, front_desk, manager):
    task = followup_create(member=member, actor=front_desk, due_at=timezone.now(), note="回访")
    staff_client(front_desk).post(f"/followups/{task.pk}/", {"kind": "complaint", "notes": "效果不满意"})
    case = ComplaintCase.objects.get()
    assert "效果不满意" in staff_client(front_desk).get("/followups/complaints/").content.decode()
    assert staff_client(front_desk).post(f"/followups/complaints/{case.pk}/", {"resolution": "x"}).status_code == 403
    empty = staff_client(manager).post(f"/followups/complaints/{case.pk}/", {"resolution": ""})
    assert empty.status_code == 400
    closed = staff_client(manager).post(f"/followups/complaints/{case.pk}/", {"resolution": "免费补做一次"})
    assert closed.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.resolution) == ("closed", "免费补做一次")


def test_a_follow_up_by_hand_from_the_member_page(member, staff_client, front_desk):
    client = staff_client(front_desk)
    assert "followup-new" in client.get(f"/members/{member.pk}/").content.decode()
    day = timezone.localdate() + timedelta(days=3)
    bad = client.post(f"/followups/members/{member.pk}/new/", {"due_on": day.isoformat(), "note": ""})
    assert bad.status_code == 400 and not FollowUpTask.objects.exists()
    good = client.post(f"/followups/members/{member.pk}/new/", {"due_on": day.isoformat(), "note": "问满意度"})
    assert good.status_code == 302
    assert FollowUpTask.objects.get().note == "问满意度"
    assert "问满意度" in client.get(f"/members/{member.pk}/").content.decode()


def test_member_page_shows_survey_answers(survey, staff_client, front_desk):
    from feedback.services import AnswerInput, survey_answer_submit
    survey_answer_submit(survey=survey, data=AnswerInput(nps_score=10, practitioner_rating=5, comment="非常好"))
    page = staff_client(front_desk).get(f"/members/{survey.member_id}/").content.decode()
    assert 'id="member-survey-answers"' in page and "10/10" in page and "非常好" in page


def test_survey_settings_for_managers_only(staff_client, manager, front_desk, catalogue):
    assert staff_client(front_desk).get("/manage/surveys/").status_code == 403
    client = staff_client(manager)
    assert client.get("/manage/surveys/").status_code == 200
    bad = client.post("/manage/surveys/", {"enabled": "on", "delay_hours": "", "nps_question_zh": ""})
    assert bad.status_code == 400
    ok = client.post("/manage/surveys/", {"enabled": "on", "delay_hours": "48", "treatments": [catalogue["ipl"].pk],
                                          "nps_question_zh": "推荐给朋友吗？"})
    assert ok.status_code == 302
    row = SurveySettings.objects.get()
    assert (row.delay_hours, row.all_treatments, list(row.treatments.all()), row.nps_question_zh) == (
        48, False, [catalogue["ipl"]], "推荐给朋友吗？")
    rule = client.post("/manage/surveys/rules/", {"treatment": catalogue["ipl"].pk, "days_after": "7"})
    assert rule.status_code == 302
    dup = client.post("/manage/surveys/rules/", {"treatment": catalogue["ipl"].pk, "days_after": "7"})
    assert dup.status_code == 400


def test_pages_are_in_english_too(member, staff_client, front_desk):
    followup_create(member=member, actor=front_desk, due_at=timezone.now(), note="x")
    client = staff_client(front_desk)
    client.cookies["django_language"] = "en"
    with translation.override("en"):
        page = client.get("/followups/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Due today" in page


def test_the_member_turns_surveys_off_from_the_page(survey, anon_client, catalogue, visit_of):
    from feedback.services import surveys_plan, surveys_send_due
    from members.selectors import consent_current
    from messaging.models import Message

    response = anon_client.post(f"/s/{survey_token(survey)}/stop/")
    assert response.status_code == 200 and "不会再收到" in response.content.decode()
    record = consent_current(member=survey.member)["surveys"]
    assert (record.granted, record.channel, record.recorded_by) == (False, "survey_link", None)
    visit_of(survey.member, catalogue["ipl"])
    surveys_plan()
    assert surveys_send_due()["surveys_skipped"] == 1
    assert Message.objects.filter(member=survey.member, skip_reason="opted_out").count() == 1
    assert anon_client.post("/s/forged/stop/").status_code == 404


def _in_english(client):
    client.cookies["django_language"] = "en"
    return {"HTTP_ACCEPT_LANGUAGE": "en"}


def test_an_answer_older_than_seven_days_is_shown_and_a_change_refused(survey, anon_client):
    from feedback.services import AnswerInput, survey_answer_submit
    answered = timezone.now() - timedelta(days=7, minutes=5)
    survey_answer_submit(survey=survey, data=AnswerInput(nps_score=8, practitioner_rating=4, comment="还行"),
                         at=answered)
    url = f"/s/{survey_token(survey)}/"
    page = anon_client.get(url).content.decode()
    assert 'id="survey-closed"' in page and 'name="nps_score"' not in page and "8 / 10" in page
    refused = anon_client.post(url, {"nps_score": "2", "practitioner_rating": "1"})
    assert refused.status_code == 400
    assert "只能在7天内修改" in refused.content.decode()
    answer = SurveyAnswer.objects.get(survey=survey)
    assert (answer.nps_score, answer.practitioner_rating, answer.edits) == (8, 4, 0)
    assert not FollowUpTask.objects.exists()
    english = anon_client.post(url, {"nps_score": "2", "practitioner_rating": "1"}, **_in_english(anon_client))
    assert english.status_code == 400 and "answers can be changed for 7 days" in english.content.decode()


def test_an_answer_is_changed_within_seven_days_through_the_same_link(survey, anon_client):
    from feedback.services import AnswerInput, survey_answer_submit
    survey_answer_submit(survey=survey, data=AnswerInput(nps_score=9, practitioner_rating=5),
                         at=timezone.now() - timedelta(days=6, hours=23))
    url = f"/s/{survey_token(survey)}/"
    page = anon_client.get(url).content.decode()
    checked = re.findall(r'<input[^>]*name="nps_score"[^>]*>', page)
    assert [tag for tag in checked if "checked" in tag] == [tag for tag in checked if 'value="9"' in tag]
    assert anon_client.post(url, {"nps_score": "6", "practitioner_rating": "3"}).status_code == 302
    answer = SurveyAnswer.objects.get(survey=survey)
    assert (answer.nps_score, answer.edits, SurveyAnswer.objects.count()) == (6, 1, 1)
    assert FollowUpTask.objects.get().kind == FollowUpTask.Kind.DETRACTOR


@pytest.mark.parametrize(("post", "field", "english"), [
    ({"nps_score": "11", "practitioner_rating": "5"}, "nps", "Choose a score from 0 to 10."),
    ({"nps_score": "-1", "practitioner_rating": "5"}, "nps", "Choose a score from 0 to 10."),
    ({"nps_score": "7", "practitioner_rating": "0"}, "rating", "Choose a rating from 1 to 5."),
    ({"nps_score": "7", "practitioner_rating": "5", "tags": ["free-lunch"]}, "tags", "free-lunch"),
])
def test_a_bad_answer_is_refused_in_english_next_to_its_question(survey, anon_client, post, field, english):
    response = anon_client.post(f"/s/{survey_token(survey)}/", post, **_in_english(anon_client))
    assert response.status_code == 400
    html = response.content.decode()
    question = html.split(f'id="q-{field}"')[1].split("</fieldset>")[0]
    assert english in question and 'class="error"' in question
    assert not SurveyAnswer.objects.exists() and not FollowUpTask.objects.exists()


def test_refused_links_say_why_in_english(survey, anon_client, monkeypatch):
    token = survey_token(survey)
    headers = _in_english(anon_client)
    forged = anon_client.get(f"/s/{token[:-3]}xyz/", **headers)
    assert forged.status_code == 404 and "This survey link is not valid" in forged.content.decode()
    real = time_module.time
    monkeypatch.setattr(time_module, "time", lambda: real() + 31 * 86400)
    expired = anon_client.post(f"/s/{token}/", {"nps_score": "3", "practitioner_rating": "1"}, **headers)
    assert expired.status_code == 410 and "This survey link has expired" in expired.content.decode()
    stop = anon_client.post(f"/s/{token}/stop/", **headers)
    assert stop.status_code == 410
    from members.models import ConsentRecord
    assert not SurveyAnswer.objects.exists() and not ConsentRecord.objects.filter(purpose="surveys").exists()


def test_another_members_link_cannot_answer_this_survey(survey, anon_client, catalogue, visit_of):
    from django.core import signing

    from feedback.links import _salt
    from members.services import member_register
    other = member_register(name="李四", phone="13900000002", actor=None)
    # A genuinely signed token naming this survey with the other member is still refused: the
    # survey is not theirs.
    token = signing.dumps([survey.pk, other.pk], salt=_salt(), compress=True)
    response = anon_client.post(f"/s/{token}/", {"nps_score": "0", "practitioner_rating": "1"})
    assert response.status_code == 404 and "链接无效" in response.content.decode()
    assert not SurveyAnswer.objects.exists()


def test_turning_surveys_off_twice_records_one_withdrawal_by_the_member(survey, anon_client):
    from members.models import ConsentRecord
    url = f"/s/{survey_token(survey)}/stop/"
    assert anon_client.post(url).status_code == 200
    assert anon_client.post(url).status_code == 200
    [record] = ConsentRecord.objects.filter(member=survey.member, purpose="surveys")
    assert (record.granted, record.channel, record.recorded_by) == (False, "survey_link", None)
    assert anon_client.get(url).status_code == 302


def test_the_wording_is_per_language_with_the_default_where_none_is_set(survey, anon_client, staff_client,
                                                                         manager):
    response = staff_client(manager).post("/manage/surveys/", {
        "enabled": "on", "delay_hours": "24", "all_treatments": "on",
        "nps_question_zh": "您会把{clinic}推荐给朋友吗？", "practitioner_question_zh": "{practitioner}的服务您打几分？",
        "practitioner_question_en": "How would you rate {practitioner}?"})
    assert response.status_code == 302
    url = f"/s/{survey_token(survey)}/"
    chinese = anon_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "您会把测试诊所推荐给朋友吗？" in chinese and "李医生的服务您打几分？" in chinese
    english = anon_client.get(url, **_in_english(anon_client)).content.decode()
    # No English recommendation question was written: the default English wording is used.
    assert "How likely are you to recommend 测试诊所 to a friend or family member?" in english
    assert "How would you rate 李医生?" in english

"""The feedback API: surveys and answers (read), measures, follow-ups (list, create, outcome)."""

from datetime import timedelta

from django.utils import timezone

from feedback.models import FollowUpOutcome, FollowUpTask
from feedback.services import AnswerInput, followup_create, survey_answer_submit
from feedback.tests.test_surveys import _sent_survey

JSON = "application/json"


def test_surveys_with_answers(catalogue, member, visit_of, staff_client, front_desk):
    survey = _sent_survey(catalogue, member, visit_of)
    survey_answer_submit(survey=survey, data=AnswerInput(nps_score=5, comment="一般"))
    client = staff_client(front_desk)
    body = client.get("/api/v1/feedback/surveys/", {"member": member.pk, "answered": "true"}).json()
    assert body["count"] == 1
    [row] = body["results"]
    assert row["answer"]["nps_score"] == 5 and row["answer"]["group"] == "detractor"
    assert client.get(f"/api/v1/feedback/surveys/{survey.pk}/").json()["status"] == "sent"
    assert client.get("/api/v1/feedback/surveys/", {"answered": "false"}).json()["count"] == 0
    bad = client.get("/api/v1/feedback/surveys/", {"sent_from": "2026-02-01", "sent_until": "2026-01-01"})
    assert bad.status_code == 400


def test_followups_create_list_and_record_an_outcome(member, staff_client, front_desk):
    client = staff_client(front_desk)
    due = (timezone.now() + timedelta(hours=1)).isoformat()
    created = client.post("/api/v1/feedback/followups/", {"member": member.pk, "due_at": due, "note": "问恢复"},
                          content_type=JSON)
    assert created.status_code == 201
    task_id = created.json()["id"]
    listed = client.get("/api/v1/feedback/followups/", {"when": "open", "kind": "manual"}).json()
    assert [row["id"] for row in listed["results"]] == [task_id]
    empty = client.post(f"/api/v1/feedback/followups/{task_id}/outcomes/", {"kind": ""}, content_type=JSON)
    assert empty.status_code == 400 and "kind" in empty.json()["error"]["fields"]
    done = client.post(f"/api/v1/feedback/followups/{task_id}/outcomes/", {"kind": "not_interested"},
                       content_type=JSON)
    assert done.status_code == 201 and done.json()["status"] == "done"
    assert [o["kind"] for o in done.json()["outcomes"]] == ["not_interested"]
    again = client.post(f"/api/v1/feedback/followups/{task_id}/outcomes/", {"kind": "reached"}, content_type=JSON)
    assert again.status_code == 400
    assert FollowUpOutcome.objects.count() == 1


def test_a_complaint_without_notes_is_refused(member, staff_client, front_desk):
    task = followup_create(member=member, actor=front_desk, due_at=timezone.now(), note="x")
    response = staff_client(front_desk).post(f"/api/v1/feedback/followups/{task.pk}/outcomes/",
                                             {"kind": "complaint"}, content_type=JSON)
    assert response.status_code == 400
    task.refresh_from_db()
    assert task.status == FollowUpTask.Status.OPEN


def test_measures_for_managers(catalogue, member, visit_of, staff_client, manager, front_desk):
    survey = _sent_survey(catalogue, member, visit_of)
    survey_answer_submit(survey=survey, data=AnswerInput(nps_score=10))
    today = timezone.localdate()
    params = {"date_from": (today - timedelta(days=7)).isoformat(), "date_until": today.isoformat()}
    assert staff_client(front_desk).get("/api/v1/feedback/measures/", params).status_code == 403
    body = staff_client(manager).get("/api/v1/feedback/measures/", params).json()
    assert body["nps"] == {"answers": 1, "promoters": 1, "passives": 0, "detractors": 0, "score": 100.0}
    assert body["response_rate"]["percent"] == 100.0


def test_recalls_with_their_outcomes_and_whether_they_became_bookings(catalogue, member, visit_of, staff_client,
                                                                      front_desk, book):
    from feedback.services import followup_outcome_record, recall_followups_create
    from members.services import member_register
    other = member_register(name="李四", phone="13900000002", actor=None)
    third = member_register(name="王五", phone="13900000003", actor=None)
    for who in (member, other, third):
        visit_of(who, catalogue["ipl"], at=timezone.now() - timedelta(days=40))
    assert recall_followups_create() == 3
    recalls = {task.member_id: task for task in FollowUpTask.objects.filter(kind="recall")}
    # The first is called and books; the second does not answer; the third is not called yet.
    booking = book(member, days_ahead=3)
    followup_outcome_record(task=recalls[member.pk], actor=front_desk, kind="booked", booking=booking)
    followup_outcome_record(task=recalls[other.pk], actor=front_desk, kind="no_answer")
    today = timezone.localdate()
    params = {"date_from": (today - timedelta(days=1)).isoformat(), "date_until": today.isoformat()}
    client = staff_client(front_desk)
    body = client.get("/api/v1/feedback/recalls/", params).json()
    rows = {row["member"]: row for row in body["results"]}
    assert body["count"] == 3
    assert {who: (row["last_outcome"], row["outcomes"], row["status"], row["booking"], row["converted"])
            for who, row in rows.items()} == {
        member.pk: ("booked", 1, "done", booking.pk, True),
        other.pk: ("no_answer", 1, "open", None, False),
        third.pk: (None, 0, "open", None, False)}
    assert rows[member.pk]["treatment_name"] == "光子嫩肤"
    converted = client.get("/api/v1/feedback/recalls/", {**params, "converted": "true"}).json()
    assert [row["member"] for row in converted["results"]] == [member.pk]
    # The same figures as the recall conversion measure.
    from feedback.selectors import period_of_days, recall_conversion
    start, end = period_of_days(today - timedelta(days=1), today)
    rate = recall_conversion(start=start, end=end)
    assert (rate.numerator, rate.denominator) == (sum(r["converted"] for r in rows.values()), len(rows))


def test_the_recalls_page_of_the_manager_shows_the_latest_outcome(catalogue, member, visit_of, staff_client,
                                                                  front_desk, manager):
    from feedback.services import followup_outcome_record, recall_followups_create
    visit_of(member, catalogue["ipl"], at=timezone.now() - timedelta(days=40))
    recall_followups_create()
    task = FollowUpTask.objects.get(kind="recall")
    followup_outcome_record(task=task, actor=front_desk, kind="not_interested")
    page = staff_client(manager).get("/manage/surveys/").content.decode()
    row = page.split('id="recalls"')[1].split("</table>")[0]
    assert "张小美" in row and "不感兴趣" in row


def test_bad_periods_are_refused_in_the_users_language(staff_client, front_desk):
    client = staff_client(front_desk)
    params = {"date_from": "2026-02-01", "date_until": "2026-01-01"}
    chinese = client.get("/api/v1/feedback/recalls/", params, HTTP_ACCEPT_LANGUAGE="zh-hans")
    english = client.get("/api/v1/feedback/recalls/", params, HTTP_ACCEPT_LANGUAGE="en")
    assert chinese.status_code == english.status_code == 400
    assert english.json()["error"]["fields"]["date_until"] == ["The last day cannot be before the first."]
    assert chinese.json()["error"]["fields"]["date_until"] != english.json()["error"]["fields"]["date_until"]
    long = client.get("/api/v1/feedback/surveys/", {"sent_from": "2025-01-01", "sent_until": "2026-12-31"},
                      HTTP_ACCEPT_LANGUAGE="en")
    assert long.status_code == 400 and "366" in long.json()["error"]["fields"]["sent_until"][0]


def test_an_outcome_refused_by_the_api_says_why_in_the_users_language(member, staff_client, front_desk):
    task = followup_create(member=member, actor=front_desk, due_at=timezone.now(), note="x")
    client = staff_client(front_desk)
    url = f"/api/v1/feedback/followups/{task.pk}/outcomes/"
    english = client.post(url, {"kind": "complaint"}, content_type=JSON, HTTP_ACCEPT_LANGUAGE="en")
    chinese = client.post(url, {"kind": "complaint"}, content_type=JSON, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert english.status_code == chinese.status_code == 400
    assert english.json()["error"]["fields"]["notes"] == ["Write down what the complaint is."]
    assert chinese.json()["error"]["fields"]["notes"] == ["请填写投诉内容。"]
    past = client.post(url, {"kind": "call_back", "call_back_at": "2020-01-01T10:00:00+08:00"}, content_type=JSON,
                       HTTP_ACCEPT_LANGUAGE="en")
    assert past.status_code == 400 and "call_back_at" in past.json()["error"]["fields"]
    task.refresh_from_db()
    assert task.status == "open" and not FollowUpOutcome.objects.exists()

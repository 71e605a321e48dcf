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

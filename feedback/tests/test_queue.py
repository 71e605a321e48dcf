"""The follow-up queue and task pages at the desk: the due buckets on the clinic's days, the
filters by type, practitioner and assignee, the task page's visits and answers, every outcome
through the page, and who may close a complaint."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role
from feedback.models import ComplaintCase, FollowUpOutcome, FollowUpTask
from feedback.selectors import followup_counts
from feedback.services import AnswerInput, followup_create, followup_outcome_record, survey_answer_submit
from feedback.tests.conftest import local
from members.services import member_register
from points.rules import clinic_zone


def _queue_ids(client, **params) -> list[int]:
    response = client.get("/followups/", params)
    assert response.status_code == 200
    return [task.pk for task in response.context["tasks"]]


@pytest.fixture
def spread(member, front_desk, make_staff, clinic_practitioner):
    """Open follow-ups due yesterday, today and in three days, of two types, one with the
    practitioner, two assigned; and one done (never in the queue)."""
    other_desk = make_staff(Role.FRONT_DESK, full_name="前台小王")
    now = timezone.now()
    today = timezone.localdate(now, clinic_zone())
    at = lambda day, hour: local(day.year, day.month, day.day, hour, 0)  # noqa: E731
    rows = {
        "overdue": followup_create(member=member, actor=front_desk, due_at=at(today - timedelta(days=1), 10),
                                   note="昨天的", at=now - timedelta(days=2)),
        "today": followup_create(member=member, actor=front_desk, due_at=at(today, 0), note="今天的",
                                 assigned_to=other_desk, at=now - timedelta(days=1)),
        "upcoming": followup_create(member=member, actor=front_desk, due_at=at(today + timedelta(days=3), 10),
                                    note="三天后", assigned_to=other_desk),
    }
    rows["today_recall"] = FollowUpTask.objects.create(
        member=member, kind=FollowUpTask.Kind.RECALL, due_at=at(today, 23), first_due_at=at(today, 23),
        practitioner=clinic_practitioner, created_at=now)
    done = followup_create(member=member, actor=front_desk, due_at=at(today, 9), note="做完了")
    followup_outcome_record(task=done, actor=front_desk, kind="reached")
    return {"tasks": rows, "other_desk": other_desk, "practitioner": clinic_practitioner, "done": done}


def test_the_queue_buckets_and_filters(spread, staff_client, front_desk):
    client = staff_client(front_desk)
    tasks = spread["tasks"]
    open_tasks = [t for t in tasks.values()]
    start = local(*timezone.localdate(timezone.now(), clinic_zone()).timetuple()[:3])
    end = start + timedelta(days=1)
    # Expected buckets worked out from the rows themselves, on the clinic's day.
    expected = {"overdue": [t.pk for t in open_tasks if t.due_at < start],
                "today": [t.pk for t in open_tasks if start <= t.due_at < end],
                "upcoming": [t.pk for t in open_tasks if t.due_at >= end]}
    assert expected == {"overdue": [tasks["overdue"].pk], "today": [tasks["today"].pk, tasks["today_recall"].pk],
                        "upcoming": [tasks["upcoming"].pk]}
    for when, ids in expected.items():
        assert _queue_ids(client, when=when) == ids
    assert followup_counts() == {when: len(ids) for when, ids in expected.items()}
    assert _queue_ids(client) == [t.pk for t in sorted(open_tasks, key=lambda t: t.due_at)]
    assert spread["done"].pk not in _queue_ids(client)
    assert _queue_ids(client, kind="recall") == [tasks["today_recall"].pk]
    assert _queue_ids(client, kind="manual", when="today") == [tasks["today"].pk]
    assert _queue_ids(client, practitioner=spread["practitioner"].pk) == [tasks["today_recall"].pk]
    assert _queue_ids(client, assigned_to=spread["other_desk"].pk) == [tasks["today"].pk, tasks["upcoming"].pk]
    page = client.get("/followups/").content.decode()
    row = page.split(f'id="task-{tasks["today"].pk}"')[1].split("</tr>")[0]
    assert "前台小王" in row and "今天的" in row


def test_a_bad_filter_is_a_400_with_the_error_on_the_field(spread, staff_client, front_desk):
    response = staff_client(front_desk).get("/followups/", {"kind": "gossip"})
    assert response.status_code == 400 and "kind" in response.context["form"].errors


def test_the_queue_is_for_every_staff_role(spread, staff_client, make_staff, owner):
    for user in (owner, make_staff(Role.MANAGER), make_staff(Role.FRONT_DESK), make_staff(Role.PRACTITIONER)):
        assert staff_client(user).get("/followups/").status_code == 200


def test_the_task_page_shows_the_members_recent_visits_and_answers(catalogue, member, visit_of, staff_client,
                                                                   front_desk, quiet_hours_off):
    from feedback.models import Survey
    from feedback.tasks import feedback_surveys_send
    visit_of(member, catalogue["peel"], at=timezone.now() - timedelta(days=10))
    visit_of(member, catalogue["ipl"])
    feedback_surveys_send.delay()
    survey = Survey.objects.get(member=member)
    survey_answer_submit(survey=survey, data=AnswerInput(nps_score=5, comment="红肿了两天", tags=("result",)))
    task = FollowUpTask.objects.get(kind="detractor")
    page = staff_client(front_desk).get(f"/followups/{task.pk}/").content.decode()
    visits = page.split('id="task-visits"')[1].split("</section>")[0]
    assert "光子嫩肤" in visits and "果酸焕肤" in visits
    answers = page.split('id="task-answers"')[1].split("</section>")[0]
    assert "5/10" in answers and "红肿了两天" in answers
    assert f'href="tel:{member.phone}"' in page


def test_every_outcome_through_the_page(member, staff_client, front_desk, book):
    client = staff_client(front_desk)
    now = timezone.now()

    def record(task, **post):
        return client.post(f"/followups/{task.pk}/", post)

    unanswered = followup_create(member=member, actor=front_desk, due_at=now, note="a")
    assert record(unanswered, kind="no_answer").status_code == 302
    unanswered.refresh_from_db()
    assert unanswered.status == "open" and unanswered.due_at > now + timedelta(hours=23)

    booked = followup_create(member=member, actor=front_desk, due_at=now, note="b")
    booking = book(member, days_ahead=4)
    assert record(booked, kind="booked").status_code == 400
    assert record(booked, kind="booked", booking=booking.pk).status_code == 302
    booked.refresh_from_db()
    assert (booked.status, booked.booking) == ("done", booking)

    declined = followup_create(member=member, actor=front_desk, due_at=now, note="c")
    assert record(declined, kind="not_interested", notes="暂时不需要").status_code == 302
    declined.refresh_from_db()
    assert declined.status == "done"

    yesterday = timezone.localdate(now, clinic_zone()) - timedelta(days=1)
    past = record(unanswered, kind="call_back", call_back_at=f"{yesterday}T10:00")
    assert past.status_code == 400 and "call_back_at" in past.context["outcome_form"].errors

    kinds = list(FollowUpOutcome.objects.order_by("id").values_list("task_id", "kind", "actor_id"))
    assert kinds == [(unanswered.pk, "no_answer", front_desk.pk), (booked.pk, "booked", front_desk.pk),
                     (declined.pk, "not_interested", front_desk.pk)]


def test_an_outcome_refused_in_english_says_why(member, staff_client, front_desk):
    task = followup_create(member=member, actor=front_desk, due_at=timezone.now(), note="x")
    client = staff_client(front_desk)
    client.cookies["django_language"] = "en"
    empty = client.post(f"/followups/{task.pk}/", {"notes": "x"}, HTTP_ACCEPT_LANGUAGE="en")
    assert empty.status_code == 400 and "Choose what happened." in empty.content.decode()
    complaint = client.post(f"/followups/{task.pk}/", {"kind": "complaint"}, HTTP_ACCEPT_LANGUAGE="en")
    assert complaint.status_code == 400 and "Write down what the complaint is." in complaint.content.decode()
    assert not FollowUpOutcome.objects.exists()


def test_assigning_a_task_to_a_staff_member(member, staff_client, front_desk, make_staff):
    task = followup_create(member=member, actor=front_desk, due_at=timezone.now(), note="x")
    colleague = make_staff(Role.PRACTITIONER, full_name="王医生")
    assert staff_client(front_desk).post(f"/followups/{task.pk}/assign/",
                                         {"assigned_to": colleague.pk}).status_code == 302
    task.refresh_from_db()
    assert task.assigned_to == colleague


@pytest.mark.parametrize(("role", "may_close"), [(Role.OWNER, True), (Role.MANAGER, True),
                                                  (Role.FRONT_DESK, False), (Role.PRACTITIONER, False)])
def test_who_may_close_a_complaint(member, staff_client, front_desk, make_staff, role, may_close):
    task = followup_create(member=member, actor=front_desk, due_at=timezone.now(), note="x")
    followup_outcome_record(task=task, actor=front_desk, kind="complaint", notes="效果不满意")
    case = ComplaintCase.objects.get()
    user = make_staff(role)
    response = staff_client(user).post(f"/followups/complaints/{case.pk}/", {"resolution": "已处理"})
    case.refresh_from_db()
    if may_close:
        assert response.status_code == 302
        assert (case.status, case.closed_by, case.resolution) == ("closed", user, "已处理")
        again = staff_client(user).post(f"/followups/complaints/{case.pk}/", {"resolution": "再处理"})
        assert again.status_code == 400
        case.refresh_from_db()
        assert case.resolution == "已处理"
    else:
        assert response.status_code == 403
        assert (case.status, case.closed_by, case.resolution) == ("open", None, "")


def test_another_members_appointment_cannot_be_booked_on_this_task(member, staff_client, front_desk, book):
    other = member_register(name="李四", phone="13900000002", actor=None)
    task = followup_create(member=member, actor=front_desk, due_at=timezone.now(), note="x")
    response = staff_client(front_desk).post(f"/followups/{task.pk}/", {"kind": "booked",
                                                                        "booking": book(other).pk})
    assert response.status_code == 400
    task.refresh_from_db()
    assert task.status == "open" and not FollowUpOutcome.objects.exists()

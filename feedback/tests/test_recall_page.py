"""The recall list page: members due for their next session, each with its recall follow-up and
whether anyone has contacted them; any front-desk role may read it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from feedback.selectors import recall_board
from feedback.services import followup_outcome_record, recall_followups_create
from members.services import member_register


@pytest.fixture
def due(catalogue, member, visit_of):
    """张小美 is 10 days overdue for IPL (and has her recall task); 王芳 is due in 5 days."""
    other = member_register(name="王芳", phone="13900001111", actor=None)
    visit_of(member, catalogue["ipl"], at=timezone.now() - timedelta(days=40))
    visit_of(other, catalogue["ipl"], at=timezone.now() - timedelta(days=25))
    recall_followups_create()
    return member, other


def test_the_board_joins_the_recall_list_to_the_recall_tasks(due, front_desk):
    member, other = due
    rows = recall_board(within_days=7)
    assert [row.entry.member for row in rows] == [member, other]
    assert rows[0].task is not None and rows[1].task is None
    assert [row.contacted for row in rows] == [False, False]
    followup_outcome_record(task=rows[0].task, actor=front_desk, kind="no_answer")
    assert [row.entry.member for row in recall_board(within_days=7, contacted=True)] == [member]
    assert [row.entry.member for row in recall_board(within_days=7, contacted=False)] == [other]
    assert [row.entry.member for row in recall_board(within_days=0)] == [member]


@pytest.mark.parametrize("role_fixture", ["front_desk", "practitioner", "manager", "owner"])
def test_every_role_sees_the_recall_list(request, staff_client, due, role_fixture):
    member, other = due
    client = staff_client(request.getfixturevalue(role_fixture))
    assert reverse("feedback:recalls") in client.get(reverse("feedback:queue")).content.decode()
    response = client.get(reverse("feedback:recalls"))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-member="{member.pk}" data-contacted="no"' in html
    assert f'data-member="{other.pk}"' in html


def test_a_contacted_member_shows_the_outcome_and_the_filter_keeps_them(staff_client, front_desk, due):
    member, other = due
    task = recall_board(within_days=0)[0].task
    followup_outcome_record(task=task, actor=front_desk, kind="call_back",
                            call_back_at=timezone.now() + timedelta(days=1))
    response = staff_client(front_desk).get(reverse("feedback:recalls"), {"contacted": "yes", "within_days": "7"})
    html = response.content.decode()
    assert f'data-member="{member.pk}" data-contacted="yes"' in html and f'data-member="{other.pk}"' not in html
    assert reverse("feedback:task", args=[task.pk]) in html


def test_a_bad_filter_is_a_form_error_in_the_users_language(staff_client, front_desk, due):
    response = staff_client(front_desk).get(reverse("feedback:recalls"), {"within_days": "-3"})
    assert response.status_code == 400
    assert 'id="id_within_days-error"' in response.content.decode()


def test_visitors_are_sent_to_log_in(anon_client):
    response = anon_client.get(reverse("feedback:recalls"))
    assert response.status_code == 302 and "/accounts/login/" in response.url

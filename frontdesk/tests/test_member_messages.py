"""The front desk reads the messages to one member from the member page."""

import re

import pytest
from django.conf import settings

from messaging.models import Purpose
from messaging.services import Outgoing, message_send, messages_queue


def reminder(member):
    return message_send(member=member, purpose=Purpose.APPOINTMENT_REMINDER,
                        variables={"practitioner": "李医生", "location": "静安店"})


def row_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-message="(\d+)"', response.content.decode())]


@pytest.fixture
def desk(staff_client, front_desk):
    client = staff_client(front_desk)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_the_member_page_links_to_the_members_messages(desk, make_member):
    # Given a member
    member = make_member()
    # When the front desk opens the member page
    content = desk.get(f"/members/{member.pk}/").content.decode()
    # Then it links to the member's messages
    assert f'href="/members/{member.pk}/messages/"' in content


def test_the_front_desk_reads_one_members_messages_with_their_text_and_reasons(desk, make_member, clinic):
    # Given a member with a reminder and a skipped birthday message, and another member's message
    member, other = make_member("张小美", consents=()), make_member("李娜")
    sent = reminder(member)
    skipped = message_send(member=member, purpose=Purpose.BIRTHDAY_OFFER, variables={"gift": "礼物"})
    reminder(other)
    # When the front desk opens the member's messages
    response = desk.get(f"/members/{member.pk}/messages/")
    # Then it sees that member's messages only, newest first, with the text and the reason skipped
    assert response.status_code == 200
    assert row_ids(response) == [skipped.pk, sent.pk]
    content = response.content.decode()
    assert f"【{clinic.name}】张小美您好" in content and "李医生" in content
    assert "No consent for this channel" in content


@pytest.mark.parametrize("role", ["owner", "manager", "practitioner"])
def test_other_roles_at_the_front_desk_read_them_too(request, staff_client, make_member, role):
    member = make_member()

    response = staff_client(request.getfixturevalue(role)).get(f"/members/{member.pk}/messages/")

    assert response.status_code == 200


def test_a_visitor_is_sent_to_the_login_page(anon_client, make_member):
    member = make_member()

    response = anon_client.get(f"/members/{member.pk}/messages/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_unknown_member_is_not_found(desk):
    assert desk.get("/members/999999/messages/").status_code == 404


def test_the_page_makes_the_same_few_queries_for_many_messages(desk, make_member, django_assert_max_num_queries):
    # Given a member with a few messages, then with more than a page of them
    member = make_member()
    messages_queue(purpose=Purpose.POINTS_EXPIRY_WARNING, outgoing=[Outgoing(member_id=member.pk)] * 3)
    desk.get("/")
    with django_assert_max_num_queries(11, info="session, user, permissions, member, count, page") as few:
        desk.get(f"/members/{member.pk}/messages/")
    messages_queue(purpose=Purpose.POINTS_EXPIRY_WARNING, outgoing=[Outgoing(member_id=member.pk)] * 60)
    # When the page is opened again
    with django_assert_max_num_queries(len(few), info="a full page of messages"):
        response = desk.get(f"/members/{member.pk}/messages/")
    # Then it shows the first 50 with the same queries
    assert len(row_ids(response)) == 50

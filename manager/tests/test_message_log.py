"""The clinic's message log: every message newest first, filtered by status, purpose, member and
days, a page at a time, and one message with its rendered text."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from messaging.models import Message, Purpose
from messaging.services import Outgoing, message_send, messages_deliver_due, messages_queue
from points.rules import clinic_zone

from .conftest import field_error

# 10:00 in Shanghai: outside the default quiet hours.
MORNING = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def manager_client(manager_client):
    """In English (the person's own choice of language), so the pages' texts read as written."""
    manager_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return manager_client


def at(minutes: int):
    return time_machine.travel(MORNING + timedelta(minutes=minutes), tick=False)


def reminder(member) -> Message:
    return message_send(member=member, purpose=Purpose.APPOINTMENT_REMINDER, variables={
        "appointment_time": MORNING + timedelta(days=1), "practitioner": "李医生", "location": "静安店"})


@pytest.fixture
def log(make_member, sms_provider) -> dict[str, Message]:
    """Four messages, a minute apart: sent, skipped for want of consent, failed (the provider
    refused it) and still queued."""
    xiaomei, lina, fang = make_member("张小美"), make_member("李娜", consents=()), make_member("王芳")
    with at(0):
        sent = message_send(member=xiaomei, purpose=Purpose.BIRTHDAY_OFFER, variables={"gift": "200积分"})
        messages_deliver_due(ids=[sent.pk])
    with at(1):
        skipped = message_send(member=lina, purpose=Purpose.BIRTHDAY_OFFER, variables={"gift": "200积分"})
    with at(2):
        failed = reminder(fang)
        sms_provider.script = [(400, 0)]
        messages_deliver_due(ids=[failed.pk])
    with at(3):
        queued = reminder(xiaomei)
    for message in (sent, failed):
        message.refresh_from_db()
    return {"sent": sent, "skipped": skipped, "failed": failed, "queued": queued}


def shown_time(moment: datetime) -> str:
    """A time as the English pages show it, in the clinic's time zone: "Sat 5 Dec 2026 11:00"."""
    local = timezone.localtime(moment, clinic_zone())
    return f"{local:%a} {local.day} {local:%b} {local.year} {local:%H:%M}"


def row_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-message="(\d+)"', response.content.decode())]


def row(response, message: Message) -> str:
    return re.search(rf'<tr data-message="{message.pk}".*?</tr>', response.content.decode(), re.S).group(0)


def test_the_log_lists_every_message_newest_first_with_its_outcome(manager_client, log):
    response = manager_client.get("/manage/messages/")

    assert response.status_code == 200
    assert row_ids(response) == [log[name].pk for name in ("queued", "failed", "skipped", "sent")]
    sent, skipped, failed = row(response, log["sent"]), row(response, log["skipped"]), row(response, log["failed"])
    assert log["sent"].recipient in sent and "张小美" in sent and "Birthday offer" in sent and "Sent" in sent
    assert shown_time(log["sent"].created_at) in sent and shown_time(log["sent"].sent_at) in sent
    assert "No consent for this channel" in skipped and "Skipped" in skipped
    assert "HTTP 400" in failed and "Failed" in failed and "Appointment reminder" in failed
    assert re.search(r'<td class="num">1</td>', failed)
    assert "next try" in row(response, log["queued"])


@pytest.mark.parametrize("status", ["sent", "skipped", "failed", "queued"])
def test_the_log_filters_by_status(manager_client, log, status):
    response = manager_client.get("/manage/messages/", {"status": status})

    assert row_ids(response) == [log[status].pk]


def test_the_log_filters_by_purpose(manager_client, log):
    response = manager_client.get("/manage/messages/", {"purpose": Purpose.APPOINTMENT_REMINDER})

    assert row_ids(response) == [log["queued"].pk, log["failed"].pk]


@pytest.mark.parametrize("typed", ["张小美", "zxm", "phone", "last4"])
def test_the_log_filters_by_member_phone_or_name(manager_client, log, typed):
    phone = log["sent"].member.phone
    query = {"phone": phone, "last4": phone[-4:]}.get(typed, typed)

    response = manager_client.get("/manage/messages/", {"member": query})

    assert row_ids(response) == [log["queued"].pk, log["sent"].pk]


def test_a_member_nobody_has_gives_an_empty_log(manager_client, log):
    response = manager_client.get("/manage/messages/", {"member": "赵无名"})

    assert response.status_code == 200
    assert row_ids(response) == []
    assert "No messages match." in response.content.decode()


def test_the_days_are_the_clinics_days(manager_client, make_member):
    member = make_member()
    # 15:30 UTC on 1 June is 23:30 in Shanghai, still 1 June there.
    with time_machine.travel(datetime(2026, 6, 1, 15, 30, tzinfo=UTC), tick=False):
        late = reminder(member)
    with time_machine.travel(datetime(2026, 6, 1, 16, 30, tzinfo=UTC), tick=False):
        next_day = reminder(member)

    first = manager_client.get("/manage/messages/", {"created_from": "2026-06-01", "created_until": "2026-06-01"})
    second = manager_client.get("/manage/messages/", {"created_from": "2026-06-02"})
    until = manager_client.get("/manage/messages/", {"created_until": "2026-06-02"})

    assert row_ids(first) == [late.pk]
    assert row_ids(second) == [next_day.pk]
    assert row_ids(until) == [next_day.pk, late.pk]


@pytest.mark.parametrize(("query", "field"), [
    ({"created_from": "2026-06-02", "created_until": "2026-06-01"}, "created_until"),
    ({"created_from": "2026-13-01"}, "created_from"),
    ({"created_until": "9999-12-31"}, "created_until"),
    ({"created_from": "0001-01-01"}, "created_from"),
    ({"status": "lost"}, "status"),
    ({"purpose": "spam"}, "purpose"),
])
def test_a_bad_filter_is_shown_next_to_its_field(manager_client, log, query, field):
    response = manager_client.get("/manage/messages/", query)

    assert response.status_code == 400
    assert field_error(response, field)
    assert row_ids(response) == []


def queue_many(members, count: int) -> list[Message]:
    """`count` service messages, a minute apart, spread over `members`."""
    queued = []
    for n in range(count):
        with at(n):
            queued += messages_queue(purpose=Purpose.POINTS_EXPIRY_WARNING, outgoing=[Outgoing(
                member_id=members[n % len(members)].pk, variables={"points": n})])
    return queued


def test_the_log_is_shown_fifty_at_a_time_keeping_the_filters(manager_client, make_member):
    members = [make_member(f"会员{n}") for n in range(3)]
    queued = queue_many(members, 62)

    first = manager_client.get("/manage/messages/", {"status": "queued"})
    second = manager_client.get("/manage/messages/", {"status": "queued", "page": "2"})
    beyond = manager_client.get("/manage/messages/", {"status": "queued", "page": "99"})

    newest_first = [message.pk for message in reversed(queued)]
    assert row_ids(first) == newest_first[:50]
    assert row_ids(second) == newest_first[50:]
    assert row_ids(beyond) == newest_first[50:]
    assert 'href="?status=queued&amp;page=2"' in first.content.decode()
    assert 'href="?status=queued&amp;page=1"' in second.content.decode()
    assert "62 messages" in first.content.decode()


def test_the_log_page_makes_the_same_few_queries_for_many_rows(manager_client, make_member,
                                                               django_assert_max_num_queries):
    members = [make_member(f"会员{n}") for n in range(25)]
    queue_many(members, 5)
    manager_client.get("/manage/")
    with django_assert_max_num_queries(10, info="session, user, permissions, count, one page of messages") as few:
        manager_client.get("/manage/messages/")
    queue_many(members, 60)

    with django_assert_max_num_queries(len(few), info="a full page of 50 messages from 25 members"):
        response = manager_client.get("/manage/messages/", {"member": "会员"})

    assert len(row_ids(response)) == 50


def test_a_message_shows_its_rendered_text_and_details(manager_client, log, clinic):
    failed, skipped = log["failed"], log["skipped"]

    content = manager_client.get(f"/manage/messages/{failed.pk}/").content.decode()
    skipped_content = manager_client.get(f"/manage/messages/{skipped.pk}/").content.decode()

    body = re.search(r'id="message-body">(.*?)</div>', content, re.S).group(1)
    assert body == failed.body and body.startswith(f"【{clinic.name}】王芳您好") and "李医生" in body
    assert "HTTP 400" in re.search(r'id="message-error">(.*?)</dd>', content, re.S).group(1)
    assert failed.recipient in content and f'href="/members/{failed.member_id}/"' in content
    assert "No consent for this channel" in skipped_content
    assert f'href="/manage/messages/templates/{skipped.template_id}/"' in skipped_content


@pytest.mark.parametrize("pk", ["999999", "99999999999999999999999"])
def test_an_unknown_message_is_not_found(manager_client, db, pk):
    assert manager_client.get(f"/manage/messages/{pk}/").status_code == 404


def test_the_message_page_makes_a_handful_of_queries(manager_client, log, django_assert_max_num_queries):
    manager_client.get("/manage/")

    with django_assert_max_num_queries(9, info="session, user, permissions, the message with its member and template"):
        manager_client.get(f"/manage/messages/{log['failed'].pk}/")

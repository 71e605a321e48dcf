"""Every rule skips with its own reason, recorded in the message log."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction

from members.models import ConsentRecord
from members.services import consent_record, member_archive, member_erase, member_merge
from messaging.models import SERVICE_OPT_OUT, Channel, Message, Purpose
from messaging.services import _messages_insert, message_send, messaging_settings_update

# 10:00 in Shanghai: outside the default quiet hours (21:00–09:00).
MORNING = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(MORNING, tick=False):
        yield


def birthday(member, **kwargs) -> Message:
    return message_send(member=member, purpose=Purpose.BIRTHDAY_OFFER, variables={"gift": "礼物"}, **kwargs)


def test_marketing_with_consent_is_queued(make_member):
    message = birthday(make_member())

    assert (message.status, message.skip_reason, message.marketing) == (Message.Status.QUEUED, "", True)


def test_marketing_without_consent_for_the_channel_is_skipped(make_member):
    member = make_member(consents=("marketing_email",))

    message = birthday(member, channel=Channel.SMS)

    assert (message.status, message.skip_reason) == (Message.Status.SKIPPED, Message.SkipReason.NO_CONSENT)
    assert birthday(member, channel=Channel.EMAIL).skip_reason == Message.SkipReason.NO_ADDRESS


def test_a_withdrawn_consent_counts_from_the_withdrawal(make_member):
    member = make_member()
    consent_record(member=member, purpose="marketing_sms", granted=False,
                   channel=ConsentRecord.Channel.PORTAL, actor=None)

    assert birthday(member).skip_reason == Message.SkipReason.NO_CONSENT


def test_marketing_in_quiet_hours_is_skipped_in_the_clinics_time_zone(make_member):
    member = make_member()
    # 13:30 UTC is 21:30 in Shanghai: quiet there, although it is daytime in UTC.
    with time_machine.travel(datetime(2026, 6, 1, 13, 30, tzinfo=UTC), tick=False):
        quiet = birthday(member)
    # 01:30 UTC is 09:30 in Shanghai: quiet hours are over.
    with time_machine.travel(datetime(2026, 6, 2, 1, 30, tzinfo=UTC), tick=False):
        allowed = birthday(member)

    assert quiet.skip_reason == Message.SkipReason.QUIET_HOURS
    assert allowed.status == Message.Status.QUEUED


def test_the_weekly_cap_skips_marketing_beyond_it_until_seven_days_have_passed(make_member, owner):
    messaging_settings_update(actor=owner, marketing_weekly_cap=2)
    member = make_member()

    first, second, third = birthday(member), birthday(member), birthday(member)
    with time_machine.travel(MORNING + timedelta(days=7, minutes=1), tick=False):
        next_week = birthday(member)

    assert [m.status for m in (first, second)] == [Message.Status.QUEUED] * 2
    assert third.skip_reason == Message.SkipReason.WEEKLY_CAP
    assert next_week.status == Message.Status.QUEUED


def test_service_messages_need_no_marketing_consent_but_follow_their_own_switch(make_member, owner):
    member = make_member(consents=())
    variables = {"points": 100, "expiry_date": "2026-06-30", "balance": 300}

    at_night = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
    with time_machine.travel(at_night, tick=False):
        sent = message_send(member=member, purpose=Purpose.POINTS_EXPIRY_WARNING, variables=variables)
    messaging_settings_update(actor=owner, service_messages_enabled=False)
    switched_off = message_send(member=member, purpose=Purpose.POINTS_EXPIRY_WARNING, variables=variables)

    assert (sent.status, sent.marketing) == (Message.Status.QUEUED, False)
    assert switched_off.skip_reason == Message.SkipReason.SERVICE_DISABLED


def test_an_archived_member_gets_nothing(make_member):
    member = make_member()
    member_archive(member=member, actor=None)

    assert birthday(member).skip_reason == Message.SkipReason.MEMBER_INACTIVE


def test_skipped_messages_do_not_count_toward_the_cap(make_member, owner):
    messaging_settings_update(actor=owner, marketing_weekly_cap=1)
    member = make_member()
    with time_machine.travel(datetime(2026, 6, 1, 14, 0, tzinfo=UTC), tick=False):
        assert birthday(member).skip_reason == Message.SkipReason.QUIET_HOURS

    assert birthday(member).status == Message.Status.QUEUED


def test_erasing_a_member_removes_their_address_and_texts_from_the_log(make_member, owner):
    member = make_member()
    message = birthday(member)

    member_erase(member=member, actor=owner, reason="会员要求删除")

    message.refresh_from_db()
    assert (message.recipient, message.subject, message.body) == ("", "", "")
    assert (message.purpose, message.status) == (Purpose.BIRTHDAY_OFFER, Message.Status.QUEUED)


def test_a_merged_duplicates_messages_count_toward_the_survivors_cap(make_member, owner):
    messaging_settings_update(actor=owner, marketing_weekly_cap=1)
    survivor, duplicate = make_member(), make_member("张小美2")
    birthday(duplicate)

    member_merge(survivor=survivor, duplicate=duplicate, actor=owner)

    assert birthday(survivor).skip_reason == Message.SkipReason.WEEKLY_CAP


def test_a_queued_message_is_stored_as_rendered_and_found_again_by_its_id(make_member):
    member = make_member()

    message = birthday(member, guard_key="birthday:2026:x")

    stored = Message.objects.get(pk=message.pk)
    assert (stored.member_id, stored.recipient, stored.purpose, stored.status, stored.guard_key) == (
        member.pk, member.phone, Purpose.BIRTHDAY_OFFER, Message.Status.QUEUED, "birthday:2026:x")
    assert stored.body == message.body and "礼物" in stored.body
    assert stored.created_at == stored.next_attempt_at == MORNING


def test_a_guard_key_taken_meanwhile_by_another_transaction_is_refused_as_an_integrity_error(make_member):
    # what a concurrent duplicate runs into: the unique guard key, as with an ORM insert
    member = make_member()
    first = birthday(member, guard_key="birthday:2026:y")
    duplicate = Message(member=member, recipient=first.recipient, channel=first.channel, purpose=first.purpose,
                        status=Message.Status.QUEUED, guard_key="birthday:2026:y", created_at=MORNING)

    with pytest.raises(IntegrityError), transaction.atomic():
        _messages_insert([duplicate])

    assert Message.objects.filter(guard_key="birthday:2026:y").count() == 1


SERVICE_VARIABLES = {
    Purpose.APPOINTMENT_REMINDER: {"appointment_time": MORNING + timedelta(days=1), "practitioner": "李医生",
                                   "location": "静安店"},
    Purpose.POINTS_EXPIRY_WARNING: {"points": 100, "expiry_date": "2026-06-30", "balance": 300},
    Purpose.SURVEY: {},
    Purpose.PACKAGE_EXPIRY_WARNING: {"package": "面部护理10次卡", "sessions": 3, "expiry_date": "2026-06-30"},
}


@pytest.mark.parametrize("purpose", sorted(SERVICE_OPT_OUT))
def test_each_service_message_honours_the_members_opt_out_of_its_own_type(make_member, purpose):
    member = make_member(consents=())
    others = sorted(set(SERVICE_OPT_OUT) - {purpose})
    consent_record(member=member, purpose=SERVICE_OPT_OUT[purpose], granted=False,
                   channel=ConsentRecord.Channel.PORTAL, actor=None)

    refused = message_send(member=member, purpose=purpose, variables=SERVICE_VARIABLES[purpose])
    other_types = [message_send(member=member, purpose=other, variables=SERVICE_VARIABLES[other]) for other in others]

    assert (refused.status, refused.skip_reason) == (Message.Status.SKIPPED, Message.SkipReason.OPTED_OUT)
    assert [message.status for message in other_types] == [Message.Status.QUEUED] * len(others)


@pytest.mark.parametrize("purpose", sorted(SERVICE_OPT_OUT))
def test_service_messages_in_quiet_hours_wait_for_their_end(make_member, purpose):
    member = make_member(consents=())
    late = datetime(2026, 6, 1, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai; quiet 21:00–09:00
    with time_machine.travel(late, tick=False):
        message = message_send(member=member, purpose=purpose, variables=SERVICE_VARIABLES[purpose])

    assert message.status == Message.Status.QUEUED
    assert message.next_attempt_at == datetime(2026, 6, 2, 1, 0, tzinfo=UTC)  # 09:00 the next day
    assert message_send(member=member, purpose=purpose, variables=SERVICE_VARIABLES[purpose]).next_attempt_at == MORNING


def test_a_sign_in_code_goes_at_once_even_in_quiet_hours(make_member):
    member = make_member(consents=())
    late = datetime(2026, 6, 1, 15, 30, tzinfo=UTC)
    with time_machine.travel(late, tick=False):
        message = message_send(member=member, purpose=Purpose.SIGN_IN_CODE, variables={"code": "123456"})
    assert message.next_attempt_at == late

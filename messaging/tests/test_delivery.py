"""Delivering queued messages: the development log backend, SMS over HTTP with timeouts and
retries against a local server playing the provider, and email through a real SMTP server."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from clinics.models import Clinic
from messaging.models import Channel, Message, MessageTemplate, Purpose
from messaging.services import MAX_ATTEMPTS, message_send, message_template_update, messages_deliver_due


@pytest.fixture(autouse=True)
def daytime():
    """Reminders wait for the end of the clinic's quiet hours (21:00–08:00 local by default), so
    these tests deliver at 11:00 in Shanghai whatever the hour they run at (they failed after
    21:00 there). The clock keeps ticking from that instant."""
    with time_machine.travel(datetime(2026, 6, 1, 3, 0, tzinfo=UTC), tick=True):
        yield


def reminder(member, **kwargs) -> Message:
    return message_send(member=member, purpose=Purpose.APPOINTMENT_REMINDER, variables={
        "appointment_time": datetime(2026, 6, 2, 6, 30, tzinfo=UTC), "practitioner": "李医生",
        "location": "静安店"}, **kwargs)


def test_every_purpose_and_channel_has_default_templates_in_chinese_and_english(clinic):
    installed = set(MessageTemplate.objects.values_list("purpose", "channel", "language"))

    assert installed == {(purpose, channel, language) for purpose in Purpose.values
                         for channel in Channel.values for language in ("zh-hans", "en")}


def test_a_reminder_renders_the_appointment_in_the_clinics_time_zone_and_is_sent_once(
        make_member, django_capture_on_commit_callbacks):
    member = make_member(consents=())

    with django_capture_on_commit_callbacks(execute=True):
        message = reminder(member, guard_key="appointment-reminder:7:day-before")
    again = reminder(member, guard_key="appointment-reminder:7:day-before")

    message.refresh_from_db()
    # 06:30 UTC is 14:30 in Shanghai.
    assert "6月2日 周二 14:30" in message.body and "李医生" in message.body and "静安店" in message.body
    assert message.body.startswith("【测试诊所】张小美您好")
    assert (message.status, message.attempts, message.backend) == (Message.Status.SENT, 1, "log")
    assert message.provider_id == f"log-testclinic:{message.pk}"
    assert again.pk == message.pk
    assert Message.objects.filter(guard_key="appointment-reminder:7:day-before").count() == 1


def test_an_english_clinic_gets_the_english_template(make_member, clinic):
    Clinic.objects.filter(pk=clinic.pk).update(language="en")
    clinic.language = "en"

    message = reminder(make_member(consents=()))

    assert message.body.startswith("[测试诊所] 张小美, a reminder of your appointment at Tue 2 Jun 14:30")


def test_a_template_with_an_unknown_variable_is_refused_and_kept(owner, clinic):
    template = MessageTemplate.objects.get(purpose=Purpose.BIRTHDAY_OFFER, channel=Channel.SMS,
                                           language="zh-hans")
    before = template.body

    with pytest.raises(ValidationError) as error:
        message_template_update(template=template, actor=owner, body="{name}，您的病历{allergies}")

    assert "allergies" in str(error.value)
    template.refresh_from_db()
    assert template.body == before


def test_sms_goes_to_the_provider_and_transient_errors_are_retried(make_member, sms_provider):
    sms_provider.script = [(503, 0), (500, 0)]
    message = reminder(make_member(consents=()))

    counts = messages_deliver_due()

    message.refresh_from_db()
    assert counts == {"sent": 1, "retrying": 0, "failed": 0}
    assert (message.status, message.provider_id, message.attempts) == (Message.Status.SENT, "prov-3", 1)
    assert len(sms_provider.received) == 3
    assert {r["reference"] for r in sms_provider.received} == {f"testclinic:{message.pk}"}
    assert sms_provider.received[0]["to"] == message.recipient == "+8613900000001"
    assert sms_provider.received[0]["authorization"] == "Bearer test-key"


def test_a_provider_that_times_out_is_tried_again_later_then_given_up(make_member, sms_provider):
    message = reminder(make_member(consents=()))
    sms_provider.script = [(200, 1.0)] * 3

    counts = messages_deliver_due()

    message.refresh_from_db()
    assert counts == {"sent": 0, "retrying": 1, "failed": 0}
    assert (message.status, message.attempts) == (Message.Status.QUEUED, 1)
    assert "timed out" in message.error
    assert message.next_attempt_at > datetime.now(UTC)
    assert messages_deliver_due() == {"sent": 0, "retrying": 0, "failed": 0}

    for attempt in range(2, MAX_ATTEMPTS + 1):
        sms_provider.script = [(502, 0)] * 3
        messages_deliver_due(now=datetime.now(UTC) + timedelta(days=attempt))
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Message.Status.FAILED, MAX_ATTEMPTS)
    assert "HTTP 502" in message.error


def test_a_provider_refusal_fails_the_message_at_once(make_member, sms_provider):
    sms_provider.script = [(400, 0)]
    message = reminder(make_member(consents=()))

    assert messages_deliver_due() == {"sent": 0, "retrying": 0, "failed": 1}

    message.refresh_from_db()
    assert (message.status, message.attempts, len(sms_provider.received)) == (Message.Status.FAILED, 1, 1)
    assert "HTTP 400" in message.error


def test_email_goes_through_a_real_smtp_server(make_member, smtp_outbox, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", smtp_outbox.port, False
    member = make_member(consents=(), email="xiaomei@example.com")

    message = reminder(member, channel=Channel.EMAIL)
    messages_deliver_due()

    message.refresh_from_db()
    [received] = smtp_outbox.to("xiaomei@example.com")
    assert message.status == Message.Status.SENT
    assert received["Subject"] == "预约提醒：6月2日 周二 14:30"
    assert "静安店" in received.get_content()
    assert received["Message-ID"] == message.provider_id

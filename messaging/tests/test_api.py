"""The messaging API: the clinic's messaging rules, its templates (edit, preview, restore the
default text) and the message log, for the roles the settings pages allow, with the same
services, the same refusals and the same results on the pages."""

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from members.services import member_register
from messaging.defaults import default_template_text
from messaging.models import Channel, Message, MessageTemplate, MessagingSettings, Purpose
from messaging.services import message_send, message_template_update, messages_deliver_due

JSON = "application/json"
BASE = "/api/v1/messaging/"
# 10:00 in Shanghai on 1 June 2026: outside the default quiet hours.
MORNING = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
ROLES = ["owner", "manager", "front_desk", "practitioner"]
SETTINGS_ROLES = {"owner", "manager"}


def template_of(purpose=Purpose.BIRTHDAY_OFFER, channel=Channel.SMS, language="zh-hans") -> MessageTemplate:
    return MessageTemplate.objects.get(purpose=purpose, channel=channel, language=language)


def texts(template: MessageTemplate) -> tuple[str, str]:
    template.refresh_from_db()
    return template.subject, template.body


def settings_now() -> tuple:
    row = MessagingSettings.objects.get(pk=1)
    return (row.default_channel, row.quiet_hours_start, row.quiet_hours_end, row.marketing_weekly_cap,
            row.service_messages_enabled)


def reminder(member, at: datetime) -> Message:
    return message_send(member=member, purpose=Purpose.APPOINTMENT_REMINDER, at=at, variables={
        "appointment_time": at + timedelta(days=1), "practitioner": "李医生", "location": "静安店"})


@pytest.fixture
def role_client(request, staff_client):
    """A logged-in client for a role name, or an anonymous one for None."""

    def make(role: str | None) -> Client:
        return staff_client(request.getfixturevalue(role)) if role else request.getfixturevalue("anon_client")

    return make


@pytest.fixture
def boss(staff_client, manager) -> Client:
    return staff_client(manager)


@pytest.fixture
def log(make_member) -> dict[str, Message]:
    """Three messages a minute apart: sent, skipped for want of consent, still queued; the sent
    and the queued one are to the same member."""
    xiaomei, lina = make_member("张小美"), make_member("李娜", consents=())
    sent = message_send(member=xiaomei, purpose=Purpose.BIRTHDAY_OFFER, variables={"gift": "200积分"}, at=MORNING)
    messages_deliver_due(ids=[sent.pk], now=MORNING)
    skipped = message_send(member=lina, purpose=Purpose.BIRTHDAY_OFFER, variables={"gift": "200积分"},
                           at=MORNING + timedelta(minutes=1))
    queued = reminder(xiaomei, MORNING + timedelta(minutes=2))
    sent.refresh_from_db()
    return {"sent": sent, "skipped": skipped, "queued": queued}


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


# Who may do what


def _endpoints(template: MessageTemplate, message: Message) -> list[tuple[str, str, dict | None]]:
    return [
        ("get", f"{BASE}settings/", None),
        ("patch", f"{BASE}settings/", {"marketing_weekly_cap": 7}),
        ("get", f"{BASE}templates/", None),
        ("get", f"{BASE}templates/{template.pk}/", None),
        ("patch", f"{BASE}templates/{template.pk}/", {"body": "【{clinic}】{name}生日快乐"}),
        ("post", f"{BASE}templates/{template.pk}/restore-default/", None),
        ("post", f"{BASE}templates/{template.pk}/preview/", {"body": "{name}您好"}),
        ("get", f"{BASE}messages/", None),
        ("get", f"{BASE}messages/{message.pk}/", None),
    ]


@pytest.mark.parametrize("role", [*ROLES, None])
def test_every_endpoint_is_for_owners_and_managers(role_client, log, role):
    template = template_of()
    message_template_update(template=template, actor=None, body="【{clinic}】{name}，{gift}")
    before = (settings_now(), texts(template))
    client = role_client(role)

    responses = {(method, url): getattr(client, method)(url, body, content_type=JSON)
                 for method, url, body in _endpoints(template, log["sent"])}

    expected = 200 if role in SETTINGS_ROLES else 401 if role is None else 403
    assert {key: response.status_code for key, response in responses.items()} == dict.fromkeys(responses, expected)
    if role not in SETTINGS_ROLES:
        codes = {response.json()["error"]["code"] for response in responses.values()}
        assert codes == {"not_authenticated" if role is None else "permission_denied"}
        assert (settings_now(), texts(template)) == before


@pytest.mark.parametrize("role", ROLES)
def test_every_staff_role_reads_one_members_messages_as_on_the_member_page(role_client, log, role):
    member = log["sent"].member

    response = role_client(role).get(f"{BASE}messages/", {"member": member.pk})

    assert response.status_code == 200, response.json()
    assert ids(response) == [log["queued"].pk, log["sent"].pk]
    assert {row["member"]["id"] for row in response.json()["results"]} == {member.pk}


def test_one_members_messages_are_refused_to_visitors(anon_client, log):
    response = anon_client.get(f"{BASE}messages/", {"member": log["sent"].member_id})

    assert response.status_code == 401


# Messaging settings


def test_a_manager_reads_and_changes_the_messaging_rules_and_the_page_shows_them(boss):
    read = boss.get(f"{BASE}settings/")
    changed = boss.patch(f"{BASE}settings/", {"default_channel": "email", "quiet_hours_start": "22:30",
                                              "marketing_weekly_cap": 3, "service_messages_enabled": False},
                         content_type=JSON)
    page = boss.get("/manage/messages/settings/").content.decode()

    assert read.json() == {"default_channel": "sms", "quiet_hours_start": "21:00:00", "quiet_hours_end": "09:00:00",
                           "marketing_weekly_cap": 2, "service_messages_enabled": True}
    assert changed.status_code == 200, changed.json()
    assert changed.json()["quiet_hours_start"] == "22:30:00"
    assert settings_now() == ("email", time(22, 30), time(9, 0), 3, False)
    assert 'name="quiet_hours_start" value="22:30"' in page
    assert 'name="marketing_weekly_cap" value="3"' in page
    assert re.search(r'name="default_channel" value="email"[^>]*checked', page)


@pytest.mark.parametrize(("language", "expected"), [
    ("en", {"marketing_weekly_cap": "Ensure this value is less than or equal to 50.",
            "default_channel": "\"fax\" is not a valid choice."}),
    ("zh-Hans", {"marketing_weekly_cap": "请确保该值小于或者等于 50。", "default_channel": "“fax” 不是合法选项。"}),
])
def test_bad_rules_are_a_400_per_field_in_the_requests_language_and_change_nothing(boss, language, expected):
    before = settings_now()

    response = boss.patch(f"{BASE}settings/", {"marketing_weekly_cap": 51, "default_channel": "fax",
                                               "quiet_hours_start": "25:00", "quiet_hours_end": None},
                          content_type=JSON, HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"marketing_weekly_cap", "default_channel", "quiet_hours_start", "quiet_hours_end"}
    assert {name: fields[name] for name in expected} == {name: [text] for name, text in expected.items()}
    assert settings_now() == before


# Templates


def test_the_templates_are_listed_as_on_the_page_and_filtered(boss):
    every = boss.get(f"{BASE}templates/").json()
    birthday_sms = boss.get(f"{BASE}templates/", {"purpose": "birthday_offer", "channel": "sms"}).json()
    english = boss.get(f"{BASE}templates/", {"language": "en"}).json()

    # One template per purpose, channel (3) and language (2), listed purpose by purpose.
    assert len(every) == len(Purpose) * 3 * 2
    assert [t["purpose"] for t in every[::6]] == ["birthday_offer", "points_expiry_warning", "appointment_reminder",
                                                 "sign_in_code", "survey", "marketing", "package_expiry_warning"]
    assert [(t["channel"], t["language"], t["in_use"]) for t in birthday_sms] == [
        ("sms", "zh-hans", True), ("sms", "en", False)]
    assert birthday_sms[0]["marketing"] is True and birthday_sms[0]["edited"] is False
    assert [v["name"] for v in birthday_sms[0]["variables"]] == [
        "name", "clinic", "gift", "points", "coupon", "coupon_valid_until"]
    assert len(english) == len(Purpose) * 3 and {t["language"] for t in english} == {"en"}


@pytest.mark.parametrize("query", [{"purpose": "spam"}, {"channel": "fax"}, {"language": "fr"}])
def test_a_bad_template_filter_is_a_400_on_its_field(boss, query):
    response = boss.get(f"{BASE}templates/", query)

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == set(query)


def test_a_manager_changes_a_template_and_the_pages_show_it(boss):
    template = template_of(channel=Channel.EMAIL)

    response = boss.patch(f"{BASE}templates/{template.pk}/", {"subject": "{name}，生日快乐",
                                                              "body": "亲爱的{name}：{gift}"}, content_type=JSON)
    editor = boss.get(f"/manage/messages/templates/{template.pk}/").content.decode()
    listed = boss.get("/manage/messages/templates/").content.decode()

    assert response.status_code == 200, response.json()
    assert (response.json()["subject"], response.json()["body"], response.json()["edited"]) == (
        "{name}，生日快乐", "亲爱的{name}：{gift}", True)
    assert texts(template) == ("{name}，生日快乐", "亲爱的{name}：{gift}")
    assert "亲爱的{name}：{gift}</textarea>" in editor
    row = re.search(rf'<tr data-template="{template.pk}".*?</tr>', listed, re.S).group(0)
    assert "已修改" in row


def test_a_patch_with_only_the_text_keeps_the_subject(boss):
    template = template_of(channel=Channel.EMAIL)
    subject = template.subject

    response = boss.patch(f"{BASE}templates/{template.pk}/", {"body": "{name}您好"}, content_type=JSON)

    assert response.status_code == 200
    assert texts(template) == (subject, "{name}您好")


@pytest.mark.parametrize(("language", "data", "errors"), [
    ("zh-Hans", {"body": "{name}，{allergies}"}, {"body": [
        "未知变量：allergies。此模板可使用：clinic, coupon, coupon_valid_until, gift, name, points。"]}),
    ("en", {"body": "{name}，{allergies}"}, {"body": [
        "Unknown variable(s): allergies. This template may use: clinic, coupon, coupon_valid_until, gift, "
        "name, points."]}),
    ("zh-Hans", {"body": ""}, {"body": ["该字段不能为空。"]}),
    ("zh-Hans", {"subject": "生日快乐"}, {"subject": ["只有邮件模板才有主题。"]}),
    ("en", {"subject": "Happy birthday"}, {"subject": ["Only email templates have a subject."]}),
])
def test_a_bad_text_is_a_400_on_its_field_in_the_requests_language_and_changes_nothing(boss, language, data,
                                                                                         errors):
    template = template_of()
    before = texts(template)

    saved = boss.patch(f"{BASE}templates/{template.pk}/", data, content_type=JSON, HTTP_ACCEPT_LANGUAGE=language)
    previewed = boss.post(f"{BASE}templates/{template.pk}/preview/", data, content_type=JSON,
                          HTTP_ACCEPT_LANGUAGE=language)

    for response in (saved, previewed):
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == errors
    assert texts(template) == before


def test_a_malformed_brace_is_refused_on_the_subject_it_is_in(boss):
    template = template_of(channel=Channel.EMAIL)
    before = texts(template)

    response = boss.patch(f"{BASE}templates/{template.pk}/", {"subject": "{name", "body": "{name}"},
                          content_type=JSON, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["subject"]
    assert "Write variables as {name}" in response.json()["error"]["fields"]["subject"][0]
    assert texts(template) == before


def test_the_preview_fills_in_invented_values_and_the_clinics_name_and_saves_nothing(boss, clinic):
    template = template_of()
    before = texts(template)

    typed = boss.post(f"{BASE}templates/{template.pk}/preview/", {"body": "【{clinic}】{name}，{points}积分"},
                      content_type=JSON)
    saved = boss.post(f"{BASE}templates/{template.pk}/preview/", {}, content_type=JSON)

    assert typed.status_code == 200, typed.json()
    assert typed.json() == {"subject": "", "body": f"【{clinic.name}】张小美，200积分",
                            "length": len(f"【{clinic.name}】张小美，200积分")}
    assert saved.json()["body"].startswith(f"【{clinic.name}】亲爱的张小美，祝您生日快乐！200积分已存入")
    assert texts(template) == before


def test_restoring_the_default_text_twice_puts_it_back_once(boss):
    template = template_of(channel=Channel.EMAIL, language="en")
    message_template_update(template=template, actor=None, subject="Hi {name}", body="Hello {name}")
    default = default_template_text(purpose=template.purpose, channel=template.channel, language="en")

    first = boss.post(f"{BASE}templates/{template.pk}/restore-default/")
    second = boss.post(f"{BASE}templates/{template.pk}/restore-default/")

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json() == second.json() | {"updated_at": first.json()["updated_at"]}
    assert (first.json()["body"], first.json()["edited"]) == (default["body"], False)
    assert texts(template) == (default["subject"], default["body"])


def test_a_template_without_a_default_text_cannot_be_restored(boss):
    template = MessageTemplate.objects.create(purpose=Purpose.BIRTHDAY_OFFER, channel=Channel.SMS, language="ja",
                                              body="{name}さん、お誕生日おめでとう")

    response = boss.post(f"{BASE}templates/{template.pk}/restore-default/", HTTP_ACCEPT_LANGUAGE="zh-Hans")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "此语言没有默认正文。"
    assert texts(template) == ("", "{name}さん、お誕生日おめでとう")


def test_the_template_endpoints_make_a_handful_of_queries(boss, django_assert_max_num_queries):
    template = template_of()
    boss.get(f"{BASE}settings/")

    with django_assert_max_num_queries(7, info="clinic, schema, session, user, permissions, the templates"):
        assert boss.get(f"{BASE}templates/").status_code == 200
    with django_assert_max_num_queries(7, info="clinic, schema, session, user, permissions, the template"):
        assert boss.get(f"{BASE}templates/{template.pk}/").status_code == 200


# The message log


def test_the_log_lists_every_message_newest_first_with_its_outcome(boss, log):
    response = boss.get(f"{BASE}messages/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (3, None, None)
    assert ids(response) == [log["queued"].pk, log["skipped"].pk, log["sent"].pk]
    queued, skipped, sent = body["results"]
    assert (sent["status"], sent["member"]["name"], sent["purpose_label"]) == ("sent", "张小美", "Birthday offer")
    assert sent["sent_at"] and sent["body"] == log["sent"].body and sent["recipient"] == log["sent"].recipient
    assert (skipped["status"], skipped["skip_reason"], skipped["skip_reason_label"]) == (
        "skipped", "no_consent", "No consent for this channel")
    assert (queued["status"], queued["attempts"]) == ("queued", 0) and queued["next_attempt_at"]


@pytest.mark.parametrize(("query", "expected"), [
    ({"status": "sent"}, ["sent"]),
    ({"status": "skipped"}, ["skipped"]),
    ({"purpose": "appointment_reminder"}, ["queued"]),
    ({"purpose": "birthday_offer", "status": "queued"}, []),
    ({"q": "李娜"}, ["skipped"]),
])
def test_the_log_filters_by_status_purpose_and_member(boss, log, query, expected):
    response = boss.get(f"{BASE}messages/", query)

    assert response.status_code == 200
    assert ids(response) == [log[name].pk for name in expected]


def test_the_log_filters_by_member_id(boss, log):
    response = boss.get(f"{BASE}messages/", {"member": log["skipped"].member_id})

    assert ids(response) == [log["skipped"].pk]


def test_an_unknown_member_is_not_found(boss, log):
    response = boss.get(f"{BASE}messages/", {"member": 999999})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_days_are_the_clinics_days(boss, make_member):
    member = make_member()
    # 15:30 UTC on 1 June is 23:30 in Shanghai, still 1 June there.
    late = reminder(member, datetime(2026, 6, 1, 15, 30, tzinfo=UTC))
    next_day = reminder(member, datetime(2026, 6, 1, 16, 30, tzinfo=UTC))

    first = boss.get(f"{BASE}messages/", {"created_from": "2026-06-01", "created_until": "2026-06-01"})
    second = boss.get(f"{BASE}messages/", {"created_from": "2026-06-02"})
    until = boss.get(f"{BASE}messages/", {"created_until": "2026-06-02"})

    assert ids(first) == [late.pk]
    assert ids(second) == [next_day.pk]
    assert ids(until) == [next_day.pk, late.pk]


@pytest.mark.parametrize(("query", "errors"), [
    ({"created_from": "2026-06-02", "created_until": "2026-06-01"}, {"created_until": ["截止日期不能早于开始日期。"]}),
    ({"created_from": "1999-12-31"}, {"created_from": ["请选择 2000 年至 2999 年之间的日期。"]}),
    ({"created_until": "2026-13-01"}, {"created_until": None}),
    ({"status": "lost"}, {"status": None}),
    ({"purpose": "spam"}, {"purpose": None}),
    ({"member": "张"}, {"member": None}),
    ({"limit": "0", "offset": "-1"}, {"limit": None, "offset": None}),
    ({"limit": "501"}, {"limit": None}),
])
def test_a_bad_filter_is_a_400_on_its_field_in_the_requests_language(boss, log, query, errors):
    response = boss.get(f"{BASE}messages/", query, HTTP_ACCEPT_LANGUAGE="zh-Hans")

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == set(errors)
    for name, expected in errors.items():
        assert fields[name] == expected if expected else re.search(r"[\u4e00-\u9fff]", fields[name][0])


def queue_many(members, count: int) -> list[Message]:
    """`count` service messages, a minute apart, spread over `members`."""
    return [message_send(member=members[n % len(members)], purpose=Purpose.POINTS_EXPIRY_WARNING,
                         variables={"points": n}, at=MORNING + timedelta(minutes=n)) for n in range(count)]


def test_the_log_comes_fifty_at_a_time_with_links_that_keep_the_filters(boss, make_member):
    members = [make_member(f"会员{n}") for n in range(3)]
    newest_first = [message.pk for message in reversed(queue_many(members, 62))]

    first = boss.get(f"{BASE}messages/", {"status": "queued"})
    second = boss.get(first.json()["next"])
    small = boss.get(f"{BASE}messages/", {"status": "queued", "limit": 5, "offset": 10})

    assert (first.json()["count"], ids(first)) == (62, newest_first[:50])
    assert "status=queued" in first.json()["next"] and "offset=50" in first.json()["next"]
    assert (ids(second), second.json()["next"]) == (newest_first[50:], None)
    assert "status=queued" in second.json()["previous"]
    assert ids(small) == newest_first[10:15]


def test_the_log_makes_the_same_few_queries_for_many_rows(boss, make_member, django_assert_max_num_queries):
    members = [make_member(f"会员{n}") for n in range(25)]
    queue_many(members, 5)
    boss.get(f"{BASE}settings/")
    with django_assert_max_num_queries(8, info="clinic, schema, session, user, permissions, count, one page of "
                                               "messages with their members") as few:
        boss.get(f"{BASE}messages/")
    queue_many(members, 60)

    with django_assert_max_num_queries(len(few), info="a full page of 50 messages from 25 members"):
        response = boss.get(f"{BASE}messages/", {"q": "会员"})

    assert len(ids(response)) == 50


def test_a_message_shows_its_text_and_every_detail_of_its_delivery(boss, log, clinic,
                                                                   django_assert_max_num_queries):
    sent = log["sent"]
    boss.get(f"{BASE}settings/")

    with django_assert_max_num_queries(7, info="clinic, schema, session, user, permissions, the message with its "
                                               "member and template"):
        response = boss.get(f"{BASE}messages/{sent.pk}/")

    body = response.json()
    assert response.status_code == 200
    assert body["body"] == sent.body and body["body"].startswith(f"【{clinic.name}】亲爱的张小美")
    assert (body["template"], body["language"], body["attempts"]) == (sent.template_id, "zh-hans", 1)
    assert body["backend"] == sent.backend and body["backend"] and body["provider_id"] == sent.provider_id


def test_an_unknown_message_is_not_found(boss, db):
    response = boss.get(f"{BASE}messages/999999/")

    assert response.status_code == 404


# Clinics apart


def test_a_template_or_message_of_another_clinic_is_not_found_and_untouched(boss, other_clinic):
    with tenant_context(other_clinic):
        theirs = MessageTemplate.objects.create(purpose=Purpose.BIRTHDAY_OFFER, channel=Channel.SMS,
                                                language="ja", body="{name}さん")
        shared = template_of()
        shared_before = texts(shared)
        their_message = reminder(member_register(name="别家会员", phone="13900000999", actor=None), MORNING)
    assert not MessageTemplate.objects.filter(pk=theirs.pk).exists()
    assert not Message.objects.filter(pk=their_message.pk).exists()

    responses = [boss.get(f"{BASE}templates/{theirs.pk}/"),
                 boss.patch(f"{BASE}templates/{theirs.pk}/", {"body": "{name}"}, content_type=JSON),
                 boss.post(f"{BASE}templates/{theirs.pk}/restore-default/"),
                 boss.post(f"{BASE}templates/{theirs.pk}/preview/", {}, content_type=JSON),
                 boss.get(f"{BASE}messages/{their_message.pk}/")]
    own = boss.patch(f"{BASE}templates/{shared.pk}/", {"body": "【{clinic}】{name}，本店改的"}, content_type=JSON)

    assert [response.status_code for response in responses] == [404] * 5
    assert not re.search("さん|别家会员", "".join(response.content.decode() for response in responses))
    assert own.status_code == 200 and own.json()["body"] == "【{clinic}】{name}，本店改的"
    with tenant_context(other_clinic):
        assert texts(theirs) == ("", "{name}さん")
        assert texts(shared) == shared_before

"""Message templates and the messaging rules, kept by a manager: the list by purpose, the editor
with its variables and preview, restoring the default text, and the settings page."""

import calendar
import html
import re
from datetime import time, timedelta

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from clinics.context import clinic_zone
from messaging.defaults import DEFAULT_TEMPLATES
from messaging.models import Channel, MessageTemplate, MessagingSettings, Purpose
from messaging.services import message_template_restore_default, message_template_update, messaging_settings_update

from .conftest import field_error


@pytest.fixture
def manager_client(manager_client):
    """In English (the person's own choice of language), so the pages' texts read as written."""
    manager_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return manager_client


def template_of(purpose=Purpose.BIRTHDAY_OFFER, channel=Channel.SMS, language="zh-hans") -> MessageTemplate:
    return MessageTemplate.objects.get(purpose=purpose, channel=channel, language=language)


def edit_url(template: MessageTemplate, action: str = "") -> str:
    return f"/manage/messages/templates/{template.pk}/{action}"


def texts(template: MessageTemplate) -> tuple[str, str]:
    template.refresh_from_db()
    return template.subject, template.body


# The list


def test_the_list_groups_every_template_by_purpose_with_its_channel_and_language(manager_client):
    content = manager_client.get("/manage/messages/templates/").content.decode()

    headings = re.findall(r"<h2>(.*?) <span", content)
    assert headings == ["Birthday offer", "Points about to expire", "Appointment reminder", "Portal sign-in code",
                        "Satisfaction survey", "Campaign", "Package sessions about to expire"]
    for template in MessageTemplate.objects.all():
        assert f'href="{edit_url(template)}"' in content
    sections = content.split('class="card template-group"')[1:]
    assert [section.count("data-template=") for section in sections] == [
        MessageTemplate.objects.filter(purpose=purpose).count() for purpose in Purpose.values]
    assert "SMS" in sections[0] and "WeChat" in sections[0] and "Email" in sections[0]


def test_the_list_marks_an_edited_template(manager_client, owner):
    edited = template_of()
    message_template_update(template=edited, actor=owner, body="【{clinic}】{name}生日快乐")

    content = manager_client.get("/manage/messages/templates/").content.decode()

    row = re.search(rf'<tr data-template="{edited.pk}".*?</tr>', content, re.S).group(0)
    assert "Edited" in row
    other = re.search(rf'<tr data-template="{template_of(language="en").pk}".*?</tr>', content, re.S).group(0)
    assert "Default text" in other


# The editor


def test_the_editor_lists_the_variables_of_the_templates_purpose_only(manager_client):
    birthday = manager_client.get(edit_url(template_of())).content.decode()
    reminder = manager_client.get(edit_url(template_of(Purpose.APPOINTMENT_REMINDER))).content.decode()

    assert "<code>{gift}</code>" in birthday and "<code>{coupon_valid_until}</code>" in birthday
    assert "<code>{appointment_time}</code>" not in birthday
    assert "<code>{appointment_time}</code>" in reminder and "<code>{gift}</code>" not in reminder


def test_only_email_templates_have_a_subject(manager_client):
    sms = manager_client.get(edit_url(template_of())).content.decode()
    email = manager_client.get(edit_url(template_of(channel=Channel.EMAIL))).content.decode()

    assert 'name="subject"' not in sms and 'name="body"' in sms
    assert 'name="subject"' in email


def test_the_editor_previews_the_current_text_with_sample_values_and_the_clinics_name(manager_client, clinic):
    content = manager_client.get(edit_url(template_of())).content.decode()

    preview = re.search(r'id="preview-body">(.*?)</div>', content, re.S).group(1)
    assert preview.startswith(f"【{clinic.name}】亲爱的张小美，祝您生日快乐！200积分已存入您的账户。")
    assert "{" not in preview


def test_the_birthday_gifts_sample_day_reads_in_the_templates_language(manager_client):
    until = timezone.localdate(timezone.now(), clinic_zone()) + timedelta(days=30)  # the sample's coupon
    english_day = f"{calendar.day_abbr[until.weekday()]} {until.day} {calendar.month_abbr[until.month]} {until.year}"
    chinese_day = f"{until.year}年{until.month}月{until.day}日 周{'一二三四五六日'[until.weekday()]}"

    previews = {}
    for language in ("zh-hans", "en"):
        content = manager_client.get(edit_url(template_of(language=language))).content.decode()
        previews[language] = html.unescape(re.search(r'id="preview-body">(.*?)</div>', content, re.S).group(1))

    assert f"有效期至{chinese_day}。" in previews["zh-hans"]
    assert f"is valid until {english_day}." in previews["en"]
    assert until.isoformat() not in previews["zh-hans"] + previews["en"]


def test_a_manager_saves_a_new_text_and_subject(manager_client):
    template = template_of(channel=Channel.EMAIL)

    response = manager_client.post(edit_url(template), {"subject": "{name}，生日快乐",
                                                        "body": "{clinic}祝您生日快乐！{gift}"})

    assert response.status_code == 302 and response["Location"] == "/manage/messages/templates/"
    assert texts(template) == ("{name}，生日快乐", "{clinic}祝您生日快乐！{gift}")


@pytest.mark.parametrize(("body", "error"), [
    ("{name}，您的过敏史：{allergies}", "Unknown variable(s): allergies"),
    ("亲爱的{name，生日快乐", "is not a valid template"),
    ("", "This field is required"),
])
def test_a_bad_text_is_refused_next_to_the_field_and_changes_nothing(manager_client, body, error):
    template = template_of()
    before = texts(template)

    response = manager_client.post(edit_url(template), {"body": body})

    assert response.status_code == 400
    assert error in field_error(response, "body")
    assert texts(template) == before


def test_a_bad_subject_is_shown_next_to_the_subject(manager_client):
    template = template_of(channel=Channel.EMAIL)
    before = texts(template)

    response = manager_client.post(edit_url(template), {"subject": "{appointment_time}", "body": "{name}"})

    assert response.status_code == 400
    assert "Unknown variable(s): appointment_time" in field_error(response, "subject")
    assert field_error(response, "body") == ""
    assert texts(template) == before


def test_preview_shows_the_typed_text_filled_in_and_saves_nothing(manager_client, clinic):
    template = template_of(Purpose.APPOINTMENT_REMINDER)
    before = texts(template)

    response = manager_client.post(edit_url(template), {"action": "preview", "body": "{name}：{appointment_time}见"})

    assert response.status_code == 200
    preview = re.search(r'id="preview-body">(.*?)</div>', response.content.decode(), re.S).group(1)
    assert re.fullmatch(r"张小美：\d{1,2}月\d{1,2}日 周[一二三四五六日] 14:30见", preview)
    assert 'name="body"' in response.content.decode() and "{appointment_time}见" in response.content.decode()
    assert texts(template) == before


def test_the_live_preview_answers_with_the_filled_in_text_or_the_problem(manager_client):
    template = template_of(Purpose.POINTS_EXPIRY_WARNING, Channel.EMAIL, "en")
    before = texts(template)

    good = manager_client.post(edit_url(template, "preview/"),
                               {"subject": "{points} points", "body": "Dear {name}, balance {balance}."},
                               HTTP_HX_REQUEST="true")
    bad = manager_client.post(edit_url(template, "preview/"), {"subject": "", "body": "Dear {nam}"},
                              HTTP_HX_REQUEST="true")

    assert good.status_code == 200
    assert '<strong>200 points</strong>' in good.content.decode()
    assert "Dear Anna Li, balance 1280." in good.content.decode()
    assert "<html" not in good.content.decode()
    assert bad.status_code == 200
    assert "Unknown variable(s): nam" in bad.content.decode()
    assert texts(template) == before


def test_restoring_the_default_text_puts_back_the_installed_one_and_twice_changes_nothing(manager_client, owner):
    template = template_of(channel=Channel.EMAIL, language="en")
    message_template_update(template=template, actor=owner, subject="Hi", body="Hello {name}")
    default = DEFAULT_TEMPLATES[(Purpose.BIRTHDAY_OFFER, "en")]

    first = manager_client.post(edit_url(template, "restore/"))
    second = manager_client.post(edit_url(template, "restore/"))

    assert first.status_code == second.status_code == 302
    assert first["Location"] == edit_url(template)
    assert texts(template) == (default["subject"], default["email"])
    assert MessageTemplate.objects.filter(purpose=template.purpose, channel=template.channel).count() == 2


def test_a_template_in_a_language_without_a_default_cannot_be_restored(owner):
    template = MessageTemplate.objects.create(purpose=Purpose.BIRTHDAY_OFFER, channel=Channel.SMS, language="fr",
                                              body="Joyeux anniversaire {name}")

    with pytest.raises(ValidationError):
        message_template_restore_default(template=template, actor=owner)

    assert texts(template) == ("", "Joyeux anniversaire {name}")


@pytest.mark.parametrize("role", ["front_desk", "practitioner"])
def test_the_template_services_refuse_staff_without_the_settings_permission(db, request, role):
    actor = request.getfixturevalue(role)
    template = template_of()
    before = texts(template)

    with pytest.raises(PermissionDenied):
        message_template_update(template=template, actor=actor, body="{name}")
    with pytest.raises(PermissionDenied):
        message_template_restore_default(template=template, actor=actor)

    assert texts(template) == before


def test_the_template_pages_make_a_handful_of_queries(manager_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(12, info="session, user, permissions, the templates"):
        manager_client.get("/manage/messages/templates/")
    with django_assert_max_num_queries(12, info="session, user, permissions, the template"):
        manager_client.get(edit_url(template_of()))


# Messaging settings


def settings_data(**changes) -> dict:
    return {"default_channel": "sms", "quiet_hours_start": "21:00", "quiet_hours_end": "09:00",
            "marketing_weekly_cap": "2", "service_messages_enabled": "on", **changes}


def settings_now() -> tuple:
    row = MessagingSettings.objects.get(pk=1)
    return (row.default_channel, row.quiet_hours_start, row.quiet_hours_end, row.marketing_weekly_cap,
            row.service_messages_enabled)


def test_the_settings_page_shows_the_current_rules(manager_client, owner):
    messaging_settings_update(actor=owner, quiet_hours_start=time(22, 30), marketing_weekly_cap=3)

    content = manager_client.get("/manage/messages/settings/").content.decode()

    assert 'name="quiet_hours_start" value="22:30"' in content
    assert 'name="quiet_hours_end" value="09:00"' in content
    assert 'name="marketing_weekly_cap" value="3"' in content
    assert re.search(r'name="default_channel" value="sms"[^>]*checked', content)


def test_a_manager_changes_the_messaging_rules(manager_client):
    response = manager_client.post("/manage/messages/settings/", settings_data(
        default_channel="email", quiet_hours_start="20:00", quiet_hours_end="08:30", marketing_weekly_cap="1",
        service_messages_enabled=""))

    assert response.status_code == 302
    assert settings_now() == ("email", time(20, 0), time(8, 30), 1, False)


@pytest.mark.parametrize(("field", "value"), [("marketing_weekly_cap", "-1"), ("marketing_weekly_cap", "51"),
                                              ("marketing_weekly_cap", "lots"), ("quiet_hours_start", "25:00"),
                                              ("default_channel", "fax"), ("quiet_hours_end", "")])
def test_a_bad_messaging_rule_is_refused_next_to_its_field(manager_client, field, value):
    before = settings_now()
    data = {**settings_data(default_channel="email", marketing_weekly_cap="5"), field: value}

    response = manager_client.post("/manage/messages/settings/", data)

    assert response.status_code == 400
    assert field_error(response, field)
    assert settings_now() == before


@pytest.mark.parametrize("role", ["front_desk", "practitioner"])
def test_the_settings_service_refuses_staff_without_the_settings_permission(db, request, role):
    before = settings_now()

    with pytest.raises(PermissionDenied):
        messaging_settings_update(actor=request.getfixturevalue(role), marketing_weekly_cap=9)

    assert settings_now() == before


def test_the_settings_service_refuses_a_setting_that_does_not_exist(owner):
    with pytest.raises(ValidationError):
        messaging_settings_update(actor=owner, marketing_weekly_cap=3, pk=2)

    assert settings_now()[3] == 2

"""The templates every clinic starts with, in Simplified Chinese and English, and the invented
values the template editor previews a text with. They are data the clinic edits, not interface
text, so both languages are installed whatever the clinic's language."""

from datetime import datetime, time, timedelta

from django.utils import timezone, translation

from clinics.formatting import day_text
from messaging.models import Channel, Purpose

DEFAULT_TEMPLATES: dict[tuple[str, str], dict[str, str]] = {
    (Purpose.MARKETING, "zh-hans"): {
        "subject": "{clinic}：{campaign}",
        "sms": "【{clinic}】{name}您好，{campaign}活动进行中，优惠截至{valid_until}，欢迎到店。",
        "email": "{name}您好：\n\n{clinic}的{campaign}活动进行中，优惠截至{valid_until}。期待您的光临。",
    },
    (Purpose.MARKETING, "en"): {
        "subject": "{clinic}: {campaign}",
        "sms": "[{clinic}] {name}, {campaign} is on until {valid_until}. We look forward to seeing you.",
        "email": "Dear {name},\n\n{campaign} at {clinic} is on until {valid_until}. We look forward to seeing you.",
    },
    (Purpose.BIRTHDAY_OFFER, "zh-hans"): {
        "subject": "{clinic}祝您生日快乐",
        "sms": "【{clinic}】亲爱的{name}，祝您生日快乐！{gift}",
        "email": "亲爱的{name}：\n\n{clinic}全体同仁祝您生日快乐！{gift}\n\n期待您的光临。",
    },
    (Purpose.BIRTHDAY_OFFER, "en"): {
        "subject": "Happy birthday from {clinic}",
        "sms": "[{clinic}] Happy birthday, {name}! {gift}",
        "email": "Dear {name},\n\nEveryone at {clinic} wishes you a happy birthday! {gift}\n\n"
                 "We look forward to seeing you.",
    },
    (Purpose.POINTS_EXPIRY_WARNING, "zh-hans"): {
        "subject": "您有{points}积分将于{expiry_date}到期",
        "sms": "【{clinic}】{name}您好，您有{points}积分将于{expiry_date}到期，当前余额{balance}积分，"
               "请尽快使用。",
        "email": "{name}您好：\n\n您在{clinic}的{points}积分将于{expiry_date}到期（当前余额{balance}积分）。"
                 "欢迎到店兑换礼品或抵扣消费。",
    },
    (Purpose.POINTS_EXPIRY_WARNING, "en"): {
        "subject": "{points} points expire on {expiry_date}",
        "sms": "[{clinic}] {name}, {points} of your points expire on {expiry_date} (balance {balance}). "
               "Use them before then.",
        "email": "Dear {name},\n\n{points} of your points at {clinic} expire on {expiry_date} "
                 "(your balance is {balance}). Redeem them for a reward or use them at checkout.",
    },
    (Purpose.PACKAGE_EXPIRY_WARNING, "zh-hans"): {
        "subject": "您的{package}还有{sessions}次将于{expiry_date}到期",
        "sms": "【{clinic}】{name}您好，您的{package}还有{sessions}次未使用，有效期至{expiry_date}，"
               "欢迎预约到店使用。",
        "email": "{name}您好：\n\n您在{clinic}购买的{package}还有{sessions}次未使用，有效期至{expiry_date}。"
                 "\n\n欢迎尽快预约到店使用。",
    },
    (Purpose.PACKAGE_EXPIRY_WARNING, "en"): {
        "subject": "{sessions} sessions of your {package} expire after {expiry_date}",
        "sms": "[{clinic}] {name}, {sessions} sessions of your {package} can be used until {expiry_date}. "
               "Book now to use them.",
        "email": "Dear {name},\n\n{sessions} sessions of your {package} at {clinic} can be used until "
                 "{expiry_date}.\n\nBook an appointment to use them before then.",
    },
    (Purpose.APPOINTMENT_REMINDER, "zh-hans"): {
        "subject": "预约提醒：{appointment_time}",
        "sms": "【{clinic}】{name}您好，提醒您{appointment_time}在{location}的预约（{practitioner}）。"
               "如需改期请提前联系我们。",
        "email": "{name}您好：\n\n提醒您已预约{appointment_time}，地点：{location}，为您服务的是{practitioner}。"
                 "\n\n如需改期或取消，请提前联系{clinic}。",
    },
    (Purpose.APPOINTMENT_REMINDER, "en"): {
        "subject": "Reminder: your appointment at {appointment_time}",
        "sms": "[{clinic}] {name}, a reminder of your appointment at {appointment_time}, {location}, "
               "with {practitioner}. Contact us to reschedule.",
        "email": "Dear {name},\n\nThis is a reminder of your appointment at {appointment_time} at "
                 "{location} with {practitioner}.\n\nTo reschedule or cancel, please contact {clinic}.",
    },
    (Purpose.SIGN_IN_CODE, "zh-hans"): {
        "subject": "{clinic}登录验证码",
        "sms": "【{clinic}】您的登录验证码是{code}，{minutes}分钟内有效。请勿告诉他人。",
        "email": "{name}您好：\n\n您的会员中心登录验证码是 {code}，{minutes}分钟内有效。\n\n"
                 "如果不是您本人操作，请忽略本邮件。",
    },
    (Purpose.SIGN_IN_CODE, "en"): {
        "subject": "Your sign-in code for {clinic}",
        "sms": "[{clinic}] Your sign-in code is {code}. It is valid for {minutes} minutes. Do not share it.",
        "email": "Dear {name},\n\nYour sign-in code for the member portal is {code}. It is valid for "
                 "{minutes} minutes.\n\nIf you did not ask for it, ignore this email.",
    },
    (Purpose.SURVEY, "zh-hans"): {
        "subject": "{clinic}邀您评价{visit_date}的到店体验",
        "sms": "【{clinic}】{name}您好，感谢您{visit_date}的光临。花1分钟告诉我们您的感受：{survey_link}",
        "email": "{name}您好：\n\n感谢您{visit_date}光临{clinic}。请花1分钟告诉我们您的感受，"
                 "帮助我们做得更好：\n\n{survey_link}\n\n如不想再收到此类问卷，可告知前台。",
    },
    (Purpose.SURVEY, "en"): {
        "subject": "How was your visit to {clinic} on {visit_date}?",
        "sms": "[{clinic}] {name}, thank you for visiting on {visit_date}. Tell us how it went (1 minute): "
               "{survey_link}",
        "email": "Dear {name},\n\nThank you for visiting {clinic} on {visit_date}. Please take a minute "
                 "to tell us how it went:\n\n{survey_link}\n\nTo stop these surveys, tell our front desk.",
    },
}


def default_template_rows() -> list[dict[str, str]]:
    return [{"purpose": purpose, "channel": channel, "language": language,
             **default_template_text(purpose=purpose, channel=channel, language=language)}
            for purpose, language in DEFAULT_TEMPLATES for channel in Channel.values]


def default_template_text(*, purpose: str, channel: str, language: str) -> dict[str, str] | None:
    """The subject and body a template of this purpose, channel and language starts with; None
    for a language that has no default."""
    texts = DEFAULT_TEMPLATES.get((purpose, language))
    if texts is None:
        return None
    if channel == Channel.EMAIL:
        return {"subject": texts["subject"], "body": texts["email"]}
    return {"subject": "", "body": texts["sms"]}


# Invented values the template editor previews a text with (the clinic's own name is used for
# `clinic`). Dates are a few weeks from today, so they look like what a member would read.
SAMPLE_TEXTS = {
    "zh-hans": {"name": "张小美", "gift": "200积分已存入您的账户。您的生日券“生日护理8折券”有效期至{until}。",
                "coupon": "生日护理8折券", "practitioner": "李医生", "location": "总店", "package": "光子嫩肤10次卡"},
    "en": {"name": "Anna Li", "gift": "200 bonus points are in your account. Your birthday coupon "
                                      "“20% off a facial” is valid until {until}.",
           "coupon": "20% off a facial", "practitioner": "Dr Li", "location": "Main branch",
           "campaign": "Member day", "package": "10 IPL sessions"},
}


def sample_variables(*, language: str, clinic_name: str, zone) -> dict[str, object]:
    texts = SAMPLE_TEXTS.get(language, SAMPLE_TEXTS["zh-hans"])
    today = timezone.localtime(timezone.now(), zone).date()
    until = today + timedelta(days=30)
    with translation.override(language):
        until_text = day_text(until)  # as the birthday job words it (campaigns.services)
    return {
        "name": texts["name"], "clinic": clinic_name, "gift": texts["gift"].format(until=until_text),
        "points": 200, "coupon": texts["coupon"], "coupon_valid_until": until,
        "expiry_date": today + timedelta(days=14), "balance": 1280,
        "appointment_time": datetime.combine(today + timedelta(days=1), time(14, 30), tzinfo=zone),
        "practitioner": texts["practitioner"], "location": texts["location"],
        "code": "482916", "minutes": 5,
        "visit_date": today - timedelta(days=1), "survey_link": "https://clinic.example/s/…/",
        "campaign": texts.get("campaign", "会员日"), "multiplier": 2, "valid_until": until,
        "package": texts["package"], "sessions": 3,
    }

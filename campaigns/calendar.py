"""The annual calendar: the year's holidays (Chinese ones, lunar included, for zh-Hans clinics)
and the ready-made campaigns a manager starts from."""

from dataclasses import dataclass
from datetime import date, time

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campaigns.models import Campaign
from campaigns.schedules import lunar_to_solar


@dataclass(frozen=True)
class Holiday:
    key: str
    name: str
    month: int
    day: int
    lunar: bool = False

    def on(self, year: int) -> date | None:
        return lunar_to_solar(year, self.month, self.day) if self.lunar else date(year, self.month, self.day)


CHINESE_HOLIDAYS = [
    Holiday("new_year", _("New Year's Day 元旦"), 1, 1),
    Holiday("spring", _("Spring Festival 春节"), 1, 1, lunar=True),
    Holiday("lantern", _("Lantern Festival 元宵"), 1, 15, lunar=True),
    Holiday("women", _("Women's Day 38 女神节"), 3, 8),
    Holiday("labour", _("Labour Day 劳动节"), 5, 1),
    Holiday("520", _("520 (I love you) 520"), 5, 20),
    Holiday("dragon_boat", _("Dragon Boat Festival 端午"), 5, 5, lunar=True),
    Holiday("618", _("618 shopping festival"), 6, 18),
    Holiday("qixi", _("Qixi 七夕"), 7, 7, lunar=True),
    Holiday("mid_autumn", _("Mid-Autumn Festival 中秋"), 8, 15, lunar=True),
    Holiday("national", _("National Day 国庆"), 10, 1),
    Holiday("double11", _("Singles' Day 双11"), 11, 11),
    Holiday("double12", _("Double 12 双12"), 12, 12),
    Holiday("christmas", _("Christmas 圣诞"), 12, 25),
]
WESTERN_HOLIDAYS = [
    Holiday("new_year", _("New Year's Day 元旦"), 1, 1),
    Holiday("valentine", _("Valentine's Day"), 2, 14),
    Holiday("women", _("Women's Day 38 女神节"), 3, 8),
    Holiday("double11", _("Singles' Day 双11"), 11, 11),
    Holiday("christmas", _("Christmas 圣诞"), 12, 25),
]


def holidays_for(language: str) -> list[Holiday]:
    return CHINESE_HOLIDAYS if language.lower().startswith("zh") else WESTERN_HOLIDAYS


def holidays_in(year: int, language: str) -> list[tuple[date, Holiday]]:
    return sorted(((day, h) for h in holidays_for(language) if (day := h.on(year))), key=lambda item: item[0])


@dataclass(frozen=True)
class CampaignTemplate:
    key: str
    name: str
    holiday: str = ""
    schedule: str = Campaign.Schedule.ONCE
    day: int | None = None
    trigger_days: int | None = None
    validity_days: int = 7
    bonus_points: int = 0
    points_multiplier: str | None = None
    tier_gift: bool = False
    sms: str = "【{clinic}】{name}您好，{campaign}活动进行中，优惠截至{valid_until}，欢迎到店。"


TEMPLATES = [
    CampaignTemplate("spring", _("Spring Festival 春节"), holiday="spring", bonus_points=88),
    CampaignTemplate("women", _("Women's Day 38 女神节"), holiday="women", bonus_points=38),
    CampaignTemplate("520", _("520"), holiday="520", bonus_points=52),
    CampaignTemplate("618", _("618"), holiday="618", points_multiplier="2"),
    CampaignTemplate("qixi", _("Qixi 七夕"), holiday="qixi", bonus_points=77),
    CampaignTemplate("mid_autumn", _("Mid-Autumn and National Day 中秋/国庆"), holiday="mid_autumn",
                     validity_days=14, bonus_points=80),
    CampaignTemplate("double11", _("Singles' Day 双11"), holiday="double11", points_multiplier="2"),
    CampaignTemplate("double12", _("Double 12 双12"), holiday="double12", bonus_points=120),
    CampaignTemplate("christmas", _("Christmas and year end 圣诞/年终"), holiday="christmas", validity_days=10,
                     bonus_points=100),
    CampaignTemplate("member_day", _("Member day 会员日 (double points every month)"),
                     schedule=Campaign.Schedule.MONTHLY, day=8, validity_days=1, points_multiplier="2",
                     sms="【{clinic}】{name}您好，今天是会员日，消费积分{multiplier}倍！"),
    CampaignTemplate("win_back", _("Win back dormant members 沉睡唤醒"), schedule=Campaign.Schedule.AFTER_DORMANT,
                     trigger_days=0, validity_days=30, bonus_points=200,
                     sms="【{clinic}】{name}，好久不见！{points}积分已送到您的账户，{valid_until}前到店使用。"),
    CampaignTemplate("new_member", _("New member 7-day follow-up"), schedule=Campaign.Schedule.AFTER_FIRST_VISIT,
                     trigger_days=7, validity_days=30, bonus_points=50,
                     sms="【{clinic}】{name}您好，感谢首次光临！送您{points}积分，{valid_until}前有效。"),
    CampaignTemplate("birthday", pgettext_lazy("campaign template", "Birthday"), schedule=Campaign.Schedule.BIRTHDAY,
                     validity_days=7, bonus_points=0, tier_gift=True,
                     sms="【{clinic}】{name}，生日快乐！{points}积分已送到您的账户，{valid_until}前到店享生日礼遇。"),
]


def template_get(key: str) -> CampaignTemplate | None:
    return next((t for t in TEMPLATES if t.key == key), None)


def template_initial(template: CampaignTemplate, *, today: date, language: str) -> dict:
    """The editor's starting values for a template: a holiday campaign once on the holiday's next
    date (lunar ones by the lunar calendar); member day monthly to the end of the year; triggered
    ones for a year."""
    initial = {"name": str(template.name), "kind": template.key, "schedule": template.schedule,
               "validity_days": template.validity_days, "bonus_points": template.bonus_points,
               "points_multiplier": template.points_multiplier, "day": template.day,
               "trigger_days": template.trigger_days, "send_time": time(10, 0), "sms_body": template.sms,
               "starts_on": today}
    if template.schedule == Campaign.Schedule.BIRTHDAY:
        # Every birthday from today on, until cancelled (a member gets one birthday offer a year).
        initial.update(send_time=time(9, 0), tier_gift=True, birthday_timing="day", max_grants_per_member=100)
        return initial
    if template.holiday:
        holiday = next(h for h in CHINESE_HOLIDAYS + WESTERN_HOLIDAYS if h.key == template.holiday)
        day = holiday.on(today.year)
        if day is None or day < today:
            day = holiday.on(today.year + 1)
        initial["starts_on"] = day
    else:
        initial["ends_on"] = date(today.year, 12, 31) if template.schedule == Campaign.Schedule.MONTHLY else \
            date(today.year + 1, today.month, 1)
    return initial

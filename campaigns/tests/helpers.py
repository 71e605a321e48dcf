"""Helpers of the campaign tests: a campaign made and launched through the services, runs at a
given local time."""

from datetime import UTC, date, datetime, time, timedelta

import time_machine

from campaigns.campaign_services import campaign_create, campaign_launch
from campaigns.models import Campaign
from campaigns.running import campaigns_run_due


def at_local(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """`hour` o'clock on `day` in Shanghai (UTC+8)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def make_campaign(owner, *, starts_on: date = date(2026, 6, 1), **fields) -> Campaign:
    fields.setdefault("name", "会员日")
    fields.setdefault("holdout_percent", 0)
    fields.setdefault("send_time", time(10, 0))
    return campaign_create(actor=owner, starts_on=starts_on, **fields)


def launch_at(campaign: Campaign, owner, when: datetime) -> Campaign:
    with time_machine.travel(when, tick=False):
        return campaign_launch(campaign=campaign, actor=owner, now=when)


def run_at(when: datetime, **kwargs) -> dict:
    with time_machine.travel(when, tick=False):
        return campaigns_run_due(now=when, **kwargs)

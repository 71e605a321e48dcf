"""The demo clinic's campaigns: a finished 双12 campaign with its results, a scheduled member day,
a draft 春节 campaign, and the birthday campaign (the birthday offer: 88 points and the tier's gift,
run for the last days' birthdays). The finished one was launched 80 days ago to every member, with a 20 %
control group; the demo then plays the treated members' response (some of them come back in the
offer window, as a campaign's members would), so its stored results show a difference between
treated and control that comes from the visits, measured as every campaign is."""

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from campaigns.calendar import template_get, template_initial
from campaigns.campaign_services import campaign_create, campaign_launch
from campaigns.models import Campaign
from campaigns.results import campaign_results_compute
from campaigns.running import birthday_campaigns_run, campaigns_run_due
from campaigns.services import birthday_offer_install, birthday_offer_update
from checkout.services import LineInput, PaymentInput, checkout_complete
from clinics.models import Clinic
from points.rules import clinic_zone, local_date
from tiers.selectors import member_current_tier
from visits.models import CatalogueItem

# Six in ten treated members come back in the offer window: a campaign that works, so that the
# difference stands out of the noise of a small demo's organic visits (a 20 % control group of 60
# members is 12 people).
RESPONSE_RATE = 0.6


def _due(gross: Decimal, member) -> Decimal:
    return gross - (gross * member_current_tier(member).discount_percent / 100).quantize(Decimal("0.01"))


def demo_campaigns_seed(clinic: Clinic, *, seed: int = 2026) -> int:
    """Done once: skipped when the clinic has a campaign. Returns the campaigns made."""
    rng = random.Random(seed)
    with schema_context(clinic.schema_name):
        if Campaign.objects.exclude(schedule=Campaign.Schedule.BIRTHDAY).exists():
            return 0
        owner = User.objects.filter(username="owner").first()
        desk = User.objects.filter(username="frontdesk").first()
        items = list(CatalogueItem.objects.filter(active=True, price__gt=0).order_by("pk"))
        now = timezone.now()
        today = local_date(now)
        day = today - timedelta(days=80)
        finished = campaign_create(actor=owner, name="双12 回馈（演示）", kind="double12", starts_on=day,
                                   holdout_percent=20, bonus_points=120, validity_days=7)
        launched_at = datetime.combine(day, time(8, 0), tzinfo=clinic_zone())
        campaign_launch(campaign=finished, actor=owner, now=launched_at)
        campaigns_run_due(now=datetime.combine(day, time(10, 5), tzinfo=clinic_zone()))
        if items and desk is not None:
            for grant in finished.grants.select_related("member").order_by("member_id"):
                if rng.random() >= RESPONSE_RATE:
                    continue
                item = rng.choice(items)
                at = grant.valid_from + timedelta(days=rng.randint(0, 6), hours=rng.randint(1, 8))
                checkout_complete(member=grant.member, actor=desk, at=at, lines=[LineInput(item_id=item.pk)],
                                  payments=[PaymentInput("wechat_pay", _due(item.price, grant.member))])
        campaign_results_compute(campaign=finished, now=now)
        member_day = template_initial(template_get("member_day"), today=today, language=clinic.language)
        member_day.pop("kind")
        sms = member_day.pop("sms_body")
        member_day["ends_on"] = today + timedelta(days=180)
        monthly = campaign_create(actor=owner, kind="member_day", messages={"sms": {"body": sms}}, **{
            **member_day, "starts_on": today + timedelta(days=1)})
        campaign_launch(campaign=monthly, actor=owner, now=now)
        spring = template_initial(template_get("spring"), today=today, language=clinic.language)
        spring.pop("kind")
        campaign_create(actor=owner, kind="spring", messages={"sms": {"body": spring.pop("sms_body")}}, **spring)
        birthday_offer_install()
        birthday_offer_update(actor=owner, bonus_points=88)
        birthday_campaigns_run(now=now)
        return 4

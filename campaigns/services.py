"""The birthday offer is the clinic's birthday campaign (a campaign with the schedule `birthday`):
these are its settings as the birthday-offer page and API see them (on or off, timing, coupon,
bonus points, the tier's gift, the birthday message), and the nightly job that runs the birthday
campaigns through the one campaign running code (`campaigns.running`)."""

from dataclasses import dataclass
from datetime import datetime, time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import settings_change_check
from campaigns import running
from campaigns.campaign_services import (
    ACTIVE,
    birthday_campaign_change,
    campaign_cancel,
    campaign_create,
    campaign_launch,
    campaign_update,
)
from campaigns.models import BirthdayTiming, Campaign
from clinics.context import current_clinic
from points.models import CouponTemplate
from points.rules import local_date

BATCH_SIZE = running.BATCH_SIZE
OFFER_FIELDS = ("enabled", "timing", "coupon_template", "bonus_points", "tier_gift", "send_message")
# The birthday offer's settings, as the birthday campaign's fields.
CAMPAIGN_FIELD = {"timing": "birthday_timing", "coupon_template": "coupon_template", "bonus_points": "bonus_points",
                  "tier_gift": "tier_gift", "send_message": "template_message"}
# A birthday campaign started by the offer (or installed with a clinic): sent at 09:00, the offer
# valid for a week (a month in month timing), no control group (every member gets the gift, as
# the birthday offer always did; the manager may set one on a new birthday campaign).
DEFAULTS = {"send_time": time(9, 0), "holdout_percent": 0, "max_grants_per_member": 100, "tier_gift": True,
            "template_message": True, "birthday_timing": BirthdayTiming.DAY}


def _validity(timing: str) -> int:
    return 30 if timing == BirthdayTiming.MONTH else 7


@dataclass(frozen=True)
class BirthdayOffer:
    """The birthday offer as a settings record: read from the clinic's birthday campaign."""

    enabled: bool
    timing: str
    coupon_template: CouponTemplate | None
    bonus_points: int
    tier_gift: bool
    send_message: bool
    campaign: Campaign | None = None

    @property
    def coupon_template_id(self) -> int | None:
        return self.coupon_template.pk if self.coupon_template else None


def birthday_campaign(*, for_update: bool = False) -> Campaign | None:
    """The clinic's birthday campaign: the scheduled or running one, else the newest draft, else
    the newest one (cancelled or finished)."""
    query = Campaign.objects.filter(schedule=Campaign.Schedule.BIRTHDAY).select_related("coupon_template")
    if for_update:
        query = query.select_for_update(of=("self",))
    for statuses in (ACTIVE, (Campaign.Status.DRAFT,), None):
        found = (query.filter(status__in=statuses) if statuses else query).order_by("-id").first()
        if found is not None:
            return found
    return None


def _offer_of(campaign: Campaign | None) -> BirthdayOffer:
    if campaign is None:
        return BirthdayOffer(enabled=False, timing=BirthdayTiming.DAY, coupon_template=None, bonus_points=0,
                             tier_gift=True, send_message=True)
    return BirthdayOffer(enabled=campaign.status in ACTIVE, timing=campaign.birthday_timing,
                         coupon_template=campaign.coupon_template, bonus_points=campaign.bonus_points,
                         tier_gift=campaign.tier_gift, send_message=campaign.template_message, campaign=campaign)


def birthday_offer() -> BirthdayOffer:
    return _offer_of(birthday_campaign())


def _default_name() -> str:
    """The clinic's language's name (a fixed name, like the default message templates); both in
    the template schema every new clinic is copied from."""
    clinic = current_clinic()
    if clinic is None or not clinic.pk:
        return "生日礼遇 Birthday offer"
    return "生日礼遇" if clinic.language.startswith("zh") else "Birthday offer"


def _draft(*, actor: User | None, base: Campaign | None, fields: dict) -> Campaign:
    """A new draft birthday campaign: the settings of `base` (the last one) or the defaults, with
    `fields` changed."""
    values = dict(DEFAULTS)
    if base is not None:
        values.update({name: getattr(base, name) for name in (
            "send_time", "holdout_percent", "max_grants_per_member", "tier_gift", "template_message",
            "birthday_timing", "bonus_points", "coupon_template", "segment", "min_tier", "points_multiplier",
            "budget_points", "budget_coupons")})
        if values["coupon_template"] is not None and not values["coupon_template"].active:
            values["coupon_template"] = None  # a new campaign chooses among the active templates
    values.update(fields)
    values.setdefault("validity_days", base.validity_days if base else _validity(values["birthday_timing"]))
    messages = {m.channel: {"subject": m.subject, "body": m.body} for m in base.messages.all()} if base else {}
    return campaign_create(actor=actor, name=base.name if base else _default_name(), kind="birthday",
                           schedule=Campaign.Schedule.BIRTHDAY, starts_on=local_date(timezone.now()),
                           messages=messages, **values)


def _start(campaign: Campaign, actor: User | None) -> Campaign:
    today = local_date(timezone.now())
    if campaign.starts_on < today:
        campaign = campaign_update(campaign=campaign, actor=actor, starts_on=today)
    return campaign_launch(campaign=campaign, actor=actor)


@transaction.atomic
def birthday_offer_install() -> BirthdayOffer:
    """A new clinic's birthday campaign, running (idempotent: nothing when it has one)."""
    if birthday_campaign() is None:
        _start(_draft(actor=None, base=None, fields={}), None)
    return birthday_offer()


def birthday_offer_update(*, actor: User | None, **changes) -> BirthdayOffer:
    try:
        return _birthday_offer_update(actor=actor, **changes)
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        offer_name = {field: name for name, field in CAMPAIGN_FIELD.items()}
        raise ValidationError({offer_name.get(field, field): errors for field, errors in exc.error_dict.items()}) \
            from exc


@transaction.atomic
def _birthday_offer_update(*, actor: User | None, **changes) -> BirthdayOffer:
    """Change the birthday offer, which is to say the clinic's birthday campaign: a running one is
    changed in place (an event records the fields before and after; members already given this
    year's gift keep it and get no second one); `enabled` false cancels it (what was given
    stays), true launches a new one with the last one's settings. A coupon template chosen anew
    must be active (one chosen before and since deactivated may stay; no coupon is given with it)."""
    settings_change_check(actor)
    unknown = set(changes) - set(OFFER_FIELDS)
    if unknown:
        raise ValidationError(_("These settings do not exist: %(fields)s")
                              % {"fields": ", ".join(sorted(unknown))})
    campaign = birthday_campaign(for_update=True)
    coupon = changes.get("coupon_template")
    if coupon is not None and not coupon.active and coupon.pk != (campaign.coupon_template_id if campaign else None):
        raise ValidationError({"coupon_template": _("This coupon template is inactive; choose an active one.")})
    enabled = changes.pop("enabled", None)
    fields = {CAMPAIGN_FIELD[name]: value for name, value in changes.items()}
    if "birthday_timing" in fields and (campaign is None or campaign.birthday_timing != fields["birthday_timing"]):
        fields["validity_days"] = _validity(fields["birthday_timing"])
    if campaign is None or campaign.status not in (*ACTIVE, Campaign.Status.DRAFT):
        if enabled is None:
            enabled = campaign is None
        campaign = _draft(actor=actor, base=campaign, fields=fields)
    elif campaign.status == Campaign.Status.DRAFT:
        if fields:
            campaign = campaign_update(campaign=campaign, actor=actor, **fields)
    elif fields:
        campaign = birthday_campaign_change(campaign=campaign, actor=actor, **fields)
    if enabled and campaign.status == Campaign.Status.DRAFT:
        campaign = _start(campaign, actor)
    elif enabled is False and campaign.status in ACTIVE:
        campaign = campaign_cancel(campaign=campaign, actor=actor, reason=_("The birthday offer was switched off."))
    return birthday_offer()


def birthday_offers_grant(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """The nightly birthday job: run every scheduled or running birthday campaign's due
    occurrences (today's birthdays and the two days before, once the send time is reached)."""
    return running.birthday_campaigns_run(now=now, batch_size=batch_size)

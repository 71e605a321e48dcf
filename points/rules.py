"""The clinic's earning rules and expiry policy, applied."""

import calendar
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import settings_update

# The clinic clock, for the modules that import it from here.
from clinics.context import clinic_zone, local_date, local_midnight  # noqa: F401
from points.models import CategoryMultiplier, LoyaltySettings

_ROUNDING = {
    LoyaltySettings.Rounding.FLOOR: ROUND_FLOOR,
    LoyaltySettings.Rounding.NEAREST: ROUND_HALF_UP,
    LoyaltySettings.Rounding.CEIL: ROUND_CEILING,
}


def loyalty_settings() -> LoyaltySettings:
    """The clinic's settings row (installed at provisioning), or the defaults, unsaved."""
    return LoyaltySettings.objects.filter(pk=1).first() or LoyaltySettings(pk=1)


def category_multipliers() -> dict[int, Decimal]:
    """The clinic's points multiplier per category id (categories without one earn the base rate)."""
    return dict(CategoryMultiplier.objects.values_list("category_id", "multiplier"))


def loyalty_settings_install() -> LoyaltySettings:
    settings_row, _created = LoyaltySettings.objects.get_or_create(pk=1)
    return settings_row


def points_round(value: Decimal, rules: LoyaltySettings) -> int:
    return int(value.quantize(Decimal(1), rounding=_ROUNDING[rules.rounding]))


def _add_months(day, months: int):
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def lot_expiry(earned_at: datetime, rules: LoyaltySettings) -> datetime | None:
    """When points earned at `earned_at` expire: never; at the end of the day N months later;
    or at the end of the year (plus the carried years), all in the clinic's time zone."""
    if rules.expiry_policy == LoyaltySettings.ExpiryPolicy.NEVER:
        return None
    earned_on = local_date(earned_at)
    if rules.expiry_policy == LoyaltySettings.ExpiryPolicy.ROLLING:
        return local_midnight(_add_months(earned_on, rules.expiry_months) + timedelta(days=1))
    return local_midnight(earned_on.replace(year=earned_on.year + rules.year_end_carry_years + 1,
                                            month=1, day=1))


def lot_available_from(earned_at: datetime, rules: LoyaltySettings) -> datetime:
    return earned_at + timedelta(days=rules.pending_days) if rules.pending_days else earned_at


SETTINGS_FIELDS = tuple(field.name for field in LoyaltySettings._meta.concrete_fields if field.name != "id")
# Upper bounds of the settings that move dates: beyond them an expiry or availability date would
# fall outside the calendar.
SETTINGS_LIMITS = {"expiry_months": 1200, "year_end_carry_years": 100, "pending_days": 3650,
                   "expiry_warning_days": 3650}


def _loyalty_settings_validate(rules: LoyaltySettings) -> None:
    for field, limit in SETTINGS_LIMITS.items():
        if getattr(rules, field) is not None and getattr(rules, field) > limit:
            raise ValidationError({field: _("At most %(limit)s.") % {"limit": limit}})
    if rules.expiry_policy == LoyaltySettings.ExpiryPolicy.ROLLING and not rules.expiry_months:
        raise ValidationError({"expiry_months": _("Points that expire after N months need N of at least 1.")})
    if rules.birthday_month_multiplier is not None and rules.birthday_month_multiplier < 1:
        raise ValidationError({"birthday_month_multiplier": _("The birthday-month multiplier is at least 1 "
                                                              "(1 means no extra points).")})


def _multipliers_state(_rules: LoyaltySettings) -> dict:
    return {"category_multipliers": {str(pk): value for pk, value in sorted(category_multipliers().items())}}


@transaction.atomic
def loyalty_settings_update(*, category_multipliers: dict[int, Decimal] | None = None,
                            actor: User | None = None, **changes) -> LoyaltySettings:
    """Change the clinic's earning rules, expiry policy or redemption limits, and, if given,
    replace the category multipliers. Recorded in the settings audit log."""
    rules = LoyaltySettings.objects.select_for_update().get_or_create(pk=1)[0]

    def multipliers_set(_rules: LoyaltySettings) -> None:
        if category_multipliers is not None:
            _category_multipliers_set(category_multipliers)
    return settings_update(actor=actor, obj=rules, changes=changes, fields=SETTINGS_FIELDS,
                           validate=_loyalty_settings_validate, extra=_multipliers_state,
                           after_save=multipliers_set)


def _category_multipliers_set(multipliers: dict[int, Decimal]) -> None:
    if any(value < 0 for value in multipliers.values()):
        raise ValidationError({"category_multipliers": _("A multiplier cannot be negative.")})
    CategoryMultiplier.objects.exclude(category_id__in=multipliers).delete()
    for category_id, multiplier in multipliers.items():
        CategoryMultiplier.objects.update_or_create(category_id=category_id, defaults={"multiplier": multiplier})

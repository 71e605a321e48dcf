from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from members.models import Member


class TierProgramme(models.Model):
    """How members qualify for tiers in this clinic (one row per clinic)."""

    class Basis(models.TextChoices):
        SPEND = "spend", _("Spend")
        VISITS = "visits", _("Visits")
        SPEND_OR_VISITS = "spend_or_visits", _("Spend or visits")
        SPEND_AND_VISITS = "spend_and_visits", _("Spend and visits")

    class DowngradeMode(models.TextChoices):
        MATCHING = "matching", _("To the tier the member qualifies for")
        ONE_STEP = "one_step", _("One tier down at a time")

    basis = models.CharField(_("qualify on"), max_length=20, choices=Basis.choices,
                             default=Basis.SPEND_OR_VISITS)
    window_months = models.PositiveIntegerField(
        _("rolling window (months)"), default=12, help_text=_("0 counts the member's whole history."))
    grace_days = models.PositiveIntegerField(
        _("grace period (days)"), default=30,
        help_text=_("A member keeps a tier at least this long after reaching it or falling short."))
    downgrade_mode = models.CharField(_("downgrade"), max_length=10, choices=DowngradeMode.choices,
                                      default=DowngradeMode.ONE_STEP)

    class Meta:
        verbose_name = _("tier programme")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="tier_programme_single_row")]


class Tier(models.Model):
    rank = models.PositiveIntegerField(_("rank"), unique=True, help_text=_("0 is the entry tier."))
    name = models.CharField(pgettext_lazy("of a thing", "name"), max_length=40)
    min_spend = models.DecimalField(_("minimum spend"), max_digits=12, decimal_places=2, default=0)
    min_visits = models.PositiveIntegerField(_("minimum visits"), default=0)
    earn_multiplier = models.DecimalField(_("points multiplier"), max_digits=5, decimal_places=2, default=1)
    discount_percent = models.PositiveIntegerField(_("member discount (%)"), default=0)
    birthday_gift_points = models.PositiveIntegerField(_("birthday gift (points)"), default=0)
    perks = models.TextField(_("perks"), blank=True)

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(condition=Q(discount_percent__lte=100), name="tier_discount_at_most_100"),
            models.CheckConstraint(condition=Q(earn_multiplier__gte=0), name="tier_multiplier_not_negative"),
            models.CheckConstraint(condition=~Q(rank=0) | (Q(min_spend=0) & Q(min_visits=0)),
                                   name="entry_tier_has_no_threshold"),
        ]

    def __str__(self) -> str:
        return self.name


class MemberTier(models.Model):
    """A member's current tier."""

    member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="tier_state")
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="members")
    since = models.DateTimeField()
    evaluated_at = models.DateTimeField(null=True, blank=True)
    below_since = models.DateTimeField(
        null=True, blank=True,
        help_text=_("When the member first fell short of this tier (grace runs from here)."))


class TierChange(models.Model):
    """Append-only history of tier moves with their reason."""

    class Kind(models.TextChoices):
        INITIAL = "initial", _("Joined")
        UPGRADE = "upgrade", _("Upgrade")
        DOWNGRADE = "downgrade", _("Downgrade")
        MANUAL = "manual", _("Set by staff")
        MERGE = "merge", _("Kept from a merged duplicate")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="tier_changes")
    from_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    reason = models.CharField(max_length=255)
    metrics = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

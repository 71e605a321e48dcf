"""Birthday offers: what a clinic gives members on their birthday, and one guard row per member
and year that makes the gift happen exactly once."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from members.models import Member


class BirthdayOffer(models.Model):
    """The clinic's birthday offer (one row per clinic)."""

    class Timing(models.TextChoices):
        DAY = "day", _("On the birthday")
        MONTH = "month", _("On the first day of the birthday month")

    enabled = models.BooleanField(_("give birthday offers"), default=True)
    timing = models.CharField(_("when"), max_length=10, choices=Timing.choices, default=Timing.DAY)
    coupon_template = models.ForeignKey("points.CouponTemplate", null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+",
                                        verbose_name=_("coupon"))
    bonus_points = models.PositiveIntegerField(_("bonus points"), default=0)
    tier_gift = models.BooleanField(_("add the tier's birthday gift"), default=True,
                                    help_text=_("The birthday gift points of the member's tier."))
    send_message = models.BooleanField(_("send a birthday message"), default=True)

    class Meta:
        verbose_name = _("birthday offer")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="birthday_offer_single_row")]


class BirthdayGrant(models.Model):
    """The guard row: a member gets the birthday offer once per year (the year of the day
    celebrated), whatever runs twice or dies halfway."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="birthday_grants")
    year = models.PositiveIntegerField()
    celebrated_on = models.DateField()
    lunar = models.BooleanField(default=False)
    granted_at = models.DateTimeField()
    points = models.PositiveIntegerField(default=0)
    entry = models.OneToOneField("points.Entry", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    coupon = models.OneToOneField("points.Coupon", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")

    class Meta:
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["member", "year"], name="birthday_grant_once_a_year"),
            models.CheckConstraint(condition=Q(points=0) | Q(entry__isnull=False),
                                   name="birthday_points_have_entry"),
        ]

"""Stored value (储值卡): the clinic's rules, its top-up plans, and the records around each movement
of the money. The money itself lives in the points ledger (points.models), in two accounts per
member: asset `stored_value_principal` (what the member paid in) and `stored_value_bonus` (what
top-up plans added), both in cents."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from members.models import Member
from points.models import Entry
from visits.models import MONEY, Payment, Refund, Visit


class PaymentMethod(models.TextChoices):
    """How money came in (a top-up) or went back (a cash-out): the checkout's methods but the card."""

    CASH = Payment.Method.CASH.value, Payment.Method.CASH.label
    BANK_CARD = Payment.Method.BANK_CARD.value, Payment.Method.BANK_CARD.label
    WECHAT_PAY = Payment.Method.WECHAT_PAY.value, Payment.Method.WECHAT_PAY.label
    ALIPAY = Payment.Method.ALIPAY.value, Payment.Method.ALIPAY.label
    OTHER = Payment.Method.OTHER.value, Payment.Method.OTHER.label


class StoredValueSettings(models.Model):
    """The clinic's stored-value rules (one row per clinic)."""

    class Split(models.TextChoices):
        PROPORTIONAL = "proportional", _("In proportion to the paid-in and bonus balances")
        PRINCIPAL_FIRST = "principal_first", _("Paid-in balance first")
        BONUS_FIRST = "bonus_first", _("Bonus first")

    split_rule = models.CharField(_("how a payment is taken from the card"), max_length=20,
                                  choices=Split.choices, default=Split.PROPORTIONAL)
    top_up_earns_points = models.BooleanField(
        _("top-ups earn points"), default=False,
        help_text=_("At the clinic's base rate on the amount paid in. Off by default: the spend "
                    "paid with the card earns points later."))
    spend_earns_points = models.BooleanField(
        _("spend paid with the card earns points"), default=True)
    spend_counts_toward_tiers = models.BooleanField(
        _("spend paid with the card counts toward tiers"), default=True,
        help_text=_("Off: the part of a visit paid with the card is left out of the spend a tier "
                    "needs; the visit still counts as a visit."))
    cash_out_charge_back_percent = models.PositiveIntegerField(
        _("share of the bonus used that is charged back at cash-out (%)"), default=100,
        help_text=_("A member who cashes out gets the paid-in balance back less this share of the "
                    "bonus they have spent; the bonus left is forfeited."))
    renewal_threshold = models.DecimalField(
        _("renewal threshold"), **MONEY, default=500,
        help_text=_("A card whose balance falls below this is due for renewal (续费)."))
    renewal_days = models.PositiveIntegerField(
        _("days to renew"), default=30,
        help_text=_("A member renews by topping up within this many days of falling below the threshold."))

    class Meta:
        verbose_name = _("stored-value settings")
        permissions = [("cash_out_card", _("Can cash out a member's stored-value card"))]
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="stored_value_settings_single_row"),
            models.CheckConstraint(condition=Q(cash_out_charge_back_percent__lte=100),
                                   name="charge_back_at_most_100"),
            models.CheckConstraint(condition=Q(renewal_threshold__gte=0), name="renewal_threshold_not_negative"),
            models.CheckConstraint(condition=Q(renewal_days__gt=0), name="renewal_days_positive"),
        ]


class TopUpPlan(models.Model):
    """Pay X, get Y bonus (充5000送500), with an optional validity of the bonus, bonus points and tier."""

    name = models.CharField(pgettext_lazy("of a thing", "name"), max_length=80)
    pay_amount = models.DecimalField(_("amount paid in"), **MONEY)
    bonus_amount = models.DecimalField(_("bonus"), **MONEY, default=0)
    bonus_valid_days = models.PositiveIntegerField(
        _("bonus valid for days"), null=True, blank=True, help_text=_("Empty: the bonus does not expire."))
    bonus_points = models.PositiveIntegerField(_("bonus points"), default=0)
    tier = models.ForeignKey("tiers.Tier", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("raises the member to tier"),
                             help_text=_("Empty: the top-up does not change the tier."))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pay_amount", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(pay_amount__gt=0), name="plan_pay_positive"),
            models.CheckConstraint(condition=Q(bonus_amount__gte=0), name="plan_bonus_not_negative"),
            models.CheckConstraint(condition=Q(bonus_valid_days__isnull=True) | Q(bonus_valid_days__gt=0),
                                   name="plan_bonus_validity_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class TopUp(models.Model):
    """Money paid in at the desk: the payment, the principal and bonus credited, and the receipt."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="top_ups")
    plan = models.ForeignKey(TopUpPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="top_ups")
    paid = models.DecimalField(_("amount paid in"), **MONEY)
    bonus = models.DecimalField(_("bonus"), **MONEY, default=0)
    bonus_expires_at = models.DateTimeField(null=True, blank=True)
    method = models.CharField(_("method"), max_length=12, choices=PaymentMethod.choices)
    reference = models.CharField(_("payment reference"), max_length=64, blank=True)
    points_earned = models.BigIntegerField(default=0)
    principal_entry = models.OneToOneField(Entry, on_delete=models.PROTECT, related_name="+")
    bonus_entry = models.OneToOneField(Entry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["member", "-at"], name="topup_member_time"),
                   models.Index(fields=["at"], name="topup_time")]
        constraints = [
            models.CheckConstraint(condition=Q(paid__gt=0), name="topup_paid_positive"),
            models.CheckConstraint(condition=Q(bonus__gte=0), name="topup_bonus_not_negative"),
            models.CheckConstraint(condition=Q(bonus=0) | Q(bonus_entry__isnull=False),
                                   name="topup_bonus_has_entry"),
        ]

    @property
    def receipt_number(self) -> str:
        return f"SV{self.pk:08d}"


class CashOut(models.Model):
    """A card closed at the member's request: the paid-in balance given back less the charge-back
    of the bonus used, the bonus forfeited. Decided by a manager, with the reason."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="cash_outs")
    principal = models.DecimalField(_("paid-in balance"), **MONEY)
    bonus = models.DecimalField(_("bonus forfeited"), **MONEY)
    bonus_used = models.DecimalField(_("bonus used"), **MONEY)
    charge_back_percent = models.PositiveIntegerField()
    charge_back = models.DecimalField(_("charged back"), **MONEY)
    refund = models.DecimalField(_("paid back"), **MONEY)
    method = models.CharField(_("method"), max_length=12, choices=PaymentMethod.choices)
    reference = models.CharField(_("payment reference"), max_length=64, blank=True)
    reason = models.CharField(_("reason"), max_length=255)
    principal_entry = models.OneToOneField(Entry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    bonus_entry = models.OneToOneField(Entry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(principal__gte=0) & Q(bonus__gte=0) & Q(bonus_used__gte=0)
                                   & Q(charge_back__gte=0) & Q(refund__gte=0), name="cash_out_not_negative"),
            models.CheckConstraint(condition=Q(refund=F("principal") - F("charge_back")),
                                   name="cash_out_adds_up"),
        ]


class CardCharge(models.Model):
    """What a checkout payment took from the card: principal and bonus, in cents, and how much of
    each refunds gave back."""

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="card_charges")
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="card_charge")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    principal = models.BigIntegerField()
    bonus = models.BigIntegerField()
    principal_restored = models.BigIntegerField(default=0)
    bonus_restored = models.BigIntegerField(default=0)
    principal_entry = models.OneToOneField(Entry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    bonus_entry = models.OneToOneField(Entry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    settled_by = models.ForeignKey(CashOut, null=True, blank=True, on_delete=models.PROTECT, related_name="charges",
                                   help_text=_("The cash-out that counted this charge's bonus as used."))
    at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["member"], condition=Q(settled_by__isnull=True), name="charge_unsettled")]
        constraints = [
            models.CheckConstraint(condition=Q(principal__gte=0) & Q(bonus__gte=0) & Q(principal__gt=0)
                                   | Q(bonus__gt=0), name="charge_takes_something"),
            models.CheckConstraint(condition=Q(principal_restored__gte=0) & Q(principal_restored__lte=F("principal"))
                                   & Q(bonus_restored__gte=0) & Q(bonus_restored__lte=F("bonus")),
                                   name="charge_restored_within_taken"),
            models.CheckConstraint(condition=Q(principal=0) | Q(principal_entry__isnull=False),
                                   name="charge_principal_has_entry"),
            models.CheckConstraint(condition=Q(bonus=0) | Q(bonus_entry__isnull=False),
                                   name="charge_bonus_has_entry"),
        ]


class CardRefund(models.Model):
    """What one refund of a visit gave back to the card."""

    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="card_refunds")
    charge = models.ForeignKey(CardCharge, on_delete=models.PROTECT, related_name="refunds")
    principal = models.BigIntegerField()
    bonus = models.BigIntegerField()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(principal__gte=0) & Q(bonus__gte=0),
                                              name="card_refund_not_negative")]

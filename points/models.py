"""The ledger: accounts, append-only entries, lots with their own expiry, and allocations that
say which lots a debit consumed. Points are the first asset; stored value and package sessions
can use the same tables with another `asset`."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from members.models import Member


class Asset(models.TextChoices):
    POINTS = "points", _("Points")
    # Stored value (储值卡), in cents: what the member paid in, and the bonus the top-up plan added.
    STORED_VALUE_PRINCIPAL = "stored_value_principal", _("Stored value (paid in)")
    STORED_VALUE_BONUS = "stored_value_bonus", _("Stored value (bonus)")


STORED_VALUE_ASSETS = (Asset.STORED_VALUE_PRINCIPAL, Asset.STORED_VALUE_BONUS)


class Account(models.Model):
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="accounts")
    asset = models.CharField(max_length=40, choices=Asset.choices, default=Asset.POINTS)
    balance = models.BigIntegerField(default=0, help_text=_("Sum of all entries (pending included)."))
    lifetime_earned = models.BigIntegerField(default=0)
    version = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "asset"], name="one_account_per_member_asset"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="account_balance_not_negative"),
            models.CheckConstraint(condition=Q(lifetime_earned__gte=0), name="account_lifetime_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.asset}={self.balance}"


class Entry(models.Model):
    """Append-only (enforced by a trigger): every movement of value, signed, with its source,
    actor and reason."""

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        BONUS = "bonus", _("Bonus")
        REDEEM = "redeem", _("Redeemed")
        EXPIRE = "expire", _("Expired")
        ADJUST = "adjust", _("Manual adjustment")
        REVERSE = "reverse", _("Reversed (refund)")
        RESTORE = "restore", _("Given back (refund)")
        TRANSFER = "transfer", _("Transferred (member merge)")
        OPENING = "opening", _("Opening balance (import)")
        TOPUP = "topup", _("Top-up")
        PAYMENT = "payment", _("Paid at checkout")
        CASH_OUT = "cash_out", _("Cashed out")
        FORFEIT = "forfeit", _("Forfeited (cash-out)")

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.BigIntegerField()
    balance_after = models.BigIntegerField()
    source_type = models.CharField(max_length=20, blank=True)
    source_id = models.CharField(max_length=64, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=255, blank=True)
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True,
                                  help_text=_("Guards an effect that must happen once."))
    effective_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["effective_at", "id"]
        indexes = [
            models.Index(fields=["account", "id"], name="entry_account_seq"),
            models.Index(fields=["source_type", "source_id"], name="entry_source"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="entry_amount_not_zero"),
            models.CheckConstraint(condition=Q(balance_after__gte=0),
                                   name="entry_balance_after_not_negative"),
        ]


class Lot(models.Model):
    """Value credited by one entry, spent down by debits, with its own availability and expiry."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lots")
    entry = models.OneToOneField(Entry, on_delete=models.PROTECT, related_name="lot")
    amount = models.BigIntegerField()
    remaining = models.BigIntegerField()
    available_from = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    moved_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="moved_to",
                                   help_text=_("The lot of another account this one was moved from (member merge)."))

    class Meta:
        ordering = ["expires_at", "available_from", "id"]
        indexes = [
            models.Index(fields=["account", "expires_at", "available_from", "id"],
                         condition=Q(remaining__gt=0), name="lot_open_by_expiry"),
            models.Index(fields=["expires_at"], condition=Q(remaining__gt=0), name="lot_due_expiry"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="lot_amount_positive"),
            models.CheckConstraint(condition=Q(remaining__gte=0) & Q(remaining__lte=F("amount")),
                                   name="lot_remaining_within_amount"),
        ]


class Allocation(models.Model):
    """How much of which lot a debit entry consumed."""

    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="allocations")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="allocations")
    amount = models.BigIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            models.UniqueConstraint(fields=["entry", "lot"], name="allocation_once_per_lot"),
        ]


class LoyaltySettings(models.Model):
    """The clinic's earning rules, expiry policy and redemption limits (one row per clinic)."""

    class Rounding(models.TextChoices):
        FLOOR = "floor", _("Round down")
        NEAREST = "nearest", _("Round to nearest")
        CEIL = "ceil", _("Round up")

    class ExpiryPolicy(models.TextChoices):
        NEVER = "never", _("Points never expire")
        ROLLING = "rolling", _("Expire N months after they are earned")
        YEAR_END = "year_end", _("Expire at the end of a year (积分清零)")

    points_per_currency_unit = models.DecimalField(
        _("points per currency unit"), max_digits=8, decimal_places=3, default=1,
        help_text=_("Points earned per unit of currency paid, e.g. 1 point per ¥1."))
    rounding = models.CharField(_("rounding"), max_length=10, choices=Rounding.choices,
                                default=Rounding.FLOOR)
    signup_bonus = models.PositiveIntegerField(_("sign-up bonus"), default=0)
    first_visit_bonus = models.PositiveIntegerField(_("first-visit bonus"), default=0)
    birthday_month_multiplier = models.DecimalField(_("birthday-month multiplier"), max_digits=5,
                                                    decimal_places=2, default=1)
    referral_bonus_referrer = models.PositiveIntegerField(_("referral bonus for the referrer"), default=0)
    referral_bonus_referee = models.PositiveIntegerField(_("referral bonus for the new member"), default=0)
    max_points_per_visit = models.PositiveIntegerField(_("cap per visit"), null=True, blank=True)
    pending_days = models.PositiveIntegerField(_("pending days"), default=0,
                                               help_text=_("Earned points can be used after this many days."))
    expiry_policy = models.CharField(_("expiry policy"), max_length=10, choices=ExpiryPolicy.choices,
                                     default=ExpiryPolicy.ROLLING)
    expiry_months = models.PositiveIntegerField(_("months until expiry"), default=24)
    year_end_carry_years = models.PositiveIntegerField(
        _("years carried before year-end expiry"), default=1,
        help_text=_("0: points expire at the end of the year they are earned; "
                    "1: at the end of the next year."))
    expiry_warning_days = models.PositiveIntegerField(_("warn days before expiry"), default=30)
    adjustment_approval_threshold = models.PositiveIntegerField(
        _("adjustments needing approval from"), default=1000,
        help_text=_("Manual adjustments of this many points or more wait for a manager's approval."))
    points_per_cash_unit = models.PositiveIntegerField(
        _("points per currency unit of deduction"), default=100,
        help_text=_("Points used as cash at checkout: this many points pay one unit of currency."))
    max_points_share_percent = models.PositiveIntegerField(
        _("maximum share of a bill paid with points (%)"), default=50)

    class Meta:
        verbose_name = _("loyalty settings")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="loyalty_settings_single_row"),
            models.CheckConstraint(condition=Q(points_per_currency_unit__gte=0),
                                   name="earn_rate_not_negative"),
            models.CheckConstraint(condition=Q(birthday_month_multiplier__gte=1),
                                   name="birthday_multiplier_at_least_1"),
            models.CheckConstraint(condition=Q(max_points_share_percent__lte=100),
                                   name="points_share_at_most_100"),
            models.CheckConstraint(condition=Q(points_per_cash_unit__gt=0), name="points_per_cash_positive"),
        ]


class CategoryMultiplier(models.Model):
    category = models.OneToOneField("visits.Category", on_delete=models.CASCADE,
                                    related_name="points_multiplier")
    multiplier = models.DecimalField(_("multiplier"), max_digits=5, decimal_places=2)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(multiplier__gte=0),
                                              name="category_multiplier_not_negative")]


class PointsAdjustment(models.Model):
    """A manual change to a member's points with a reason code; large ones wait for approval."""

    class Reason(models.TextChoices):
        GOODWILL = "goodwill", _("Goodwill / complaint")
        CORRECTION = "correction", _("Correction of an error")
        MIGRATION = "migration", _("Migration from an old system")
        PROMOTION = "promotion", _("Promotion not applied automatically")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPLIED = "applied", _("Applied")
        REJECTED = "rejected", _("Rejected")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="points_adjustments")
    amount = models.BigIntegerField(_("points"))
    reason_code = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=255)
    status = models.CharField(max_length=10, choices=Status.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=255, blank=True)
    entry = models.OneToOneField(Entry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-requested_at", "-id"]
        permissions = [
            ("adjust_points", _("Can request manual point adjustments")),
            ("approve_adjustment", _("Can approve manual point adjustments and cancel redemptions")),
        ]
        indexes = [models.Index(fields=["status", "requested_at"], name="adjustment_queue")]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="adjustment_not_zero"),
            models.CheckConstraint(condition=~Q(status="applied") | Q(entry__isnull=False),
                                   name="applied_adjustment_has_entry"),
            models.CheckConstraint(condition=~Q(status="pending") | Q(entry__isnull=True),
                                   name="pending_adjustment_has_no_entry"),
            models.CheckConstraint(condition=Q(status="pending") | Q(decided_at__isnull=False),
                                   name="decided_adjustment_has_time"),
            models.CheckConstraint(condition=~Q(status="rejected") | Q(decided_by__isnull=False),
                                   name="rejected_adjustment_has_decider"),
            models.CheckConstraint(
                condition=(~Q(status="applied") | Q(decided_by__isnull=True)
                           | ~Q(decided_by=F("requested_by"))),
                name="adjustment_not_self_approved"),
        ]


class CouponTemplate(models.Model):
    class Kind(models.TextChoices):
        FIXED = "fixed", _("Fixed amount off")
        PERCENT = "percent", _("Percentage off (with a cap)")
        FREE_ITEM = "free_item", _("Free treatment or product")

    name = models.CharField(pgettext_lazy("of a thing", "name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = models.DecimalField(_("amount off"), max_digits=12, decimal_places=2, null=True, blank=True)
    percent = models.PositiveIntegerField(_("percent off"), null=True, blank=True)
    cap = models.DecimalField(_("maximum discount"), max_digits=12, decimal_places=2, null=True, blank=True)
    free_item = models.ForeignKey("visits.CatalogueItem", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("free item"))
    valid_days = models.PositiveIntegerField(_("valid for days after issue"), null=True, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    min_spend = models.DecimalField(_("minimum spend"), max_digits=12, decimal_places=2, default=0)
    categories = models.ManyToManyField("visits.Category", blank=True, related_name="+",
                                        verbose_name=_("applicable categories"),
                                        help_text=_("Empty: applies to every category."))
    per_member_limit = models.PositiveIntegerField(_("per-member limit"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~Q(kind="fixed") | Q(amount__gt=0),
                                   name="fixed_coupon_has_amount"),
            models.CheckConstraint(condition=~Q(kind="percent") | (Q(percent__gt=0) & Q(percent__lte=100)),
                                   name="percent_coupon_has_percent"),
            models.CheckConstraint(condition=~Q(kind="free_item") | Q(free_item__isnull=False),
                                   name="free_item_coupon_has_item"),
            models.CheckConstraint(condition=Q(valid_days__isnull=False) | Q(valid_until__isnull=False),
                                   name="coupon_template_has_validity"),
        ]

    def __str__(self) -> str:
        return self.name


class Coupon(models.Model):
    class Status(models.TextChoices):
        ISSUED = "issued", _("Ready to use")
        REDEEMED = "redeemed", _("Used")
        EXPIRED = "expired", _("Expired")
        VOID = "void", _("Cancelled")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Issued by staff")
        REWARD = "reward", _("Points reward")
        BIRTHDAY = "birthday", _("Birthday")
        CAMPAIGN = "campaign", _("Campaign")
        REFERRAL = "referral", _("Referral")

    code = models.CharField(max_length=16, unique=True)
    template = models.ForeignKey(CouponTemplate, on_delete=models.PROTECT, related_name="coupons")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="coupons")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ISSUED)
    source = models.CharField(max_length=10, choices=Source.choices)
    issued_at = models.DateTimeField()
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redeemed_visit = models.ForeignKey("visits.Visit", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="coupons_used")
    discount_given = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        permissions = [("issue_coupon", _("Can issue and cancel coupons"))]
        indexes = [
            models.Index(fields=["member", "status"], name="coupon_member_status"),
            models.Index(fields=["valid_until"], condition=Q(status="issued"), name="coupon_due_expiry"),
            models.Index(fields=["template", "member"], name="coupon_template_member"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(valid_until__gt=F("valid_from")),
                                   name="coupon_validity_order"),
            models.CheckConstraint(
                condition=~Q(status="redeemed") | (Q(redeemed_at__isnull=False)
                                                   & Q(redeemed_visit__isnull=False)),
                name="redeemed_coupon_has_visit"),
            models.CheckConstraint(condition=Q(discount_given__isnull=True) | Q(discount_given__gte=0),
                                   name="coupon_discount_not_negative"),
        ]


class CouponEvent(models.Model):
    """Append-only history of a coupon: issued, used, given back by a refund, cancelled, expired."""

    class Kind(models.TextChoices):
        ISSUED = "issued", _("Issued")
        REDEEMED = "redeemed", _("Used")
        REINSTATED = "reinstated", _("Given back (refund)")
        VOIDED = "voided", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]


class Reward(models.Model):
    class Kind(models.TextChoices):
        TREATMENT = "treatment", _("Treatment")
        PRODUCT = "product", _("Product")
        COUPON = "coupon", _("Coupon")

    name = models.CharField(pgettext_lazy("of a thing", "name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    points_cost = models.PositiveIntegerField(_("points"))
    item = models.ForeignKey("visits.CatalogueItem", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+", verbose_name=_("treatment or product"))
    coupon_template = models.ForeignKey(CouponTemplate, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="rewards", verbose_name=_("coupon"))
    stock = models.PositiveIntegerField(_("stock"), null=True, blank=True,
                                        help_text=_("Empty: unlimited."))
    per_member_limit = models.PositiveIntegerField(_("per-member limit"), null=True, blank=True)
    allowed_tiers = models.ManyToManyField("tiers.Tier", blank=True, related_name="rewards",
                                           verbose_name=_("only for tiers"),
                                           help_text=_("Empty: every tier."))
    active = models.BooleanField(_("active"), default=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["points_cost", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(points_cost__gt=0), name="reward_costs_points"),
            models.CheckConstraint(condition=~Q(kind="coupon") | Q(coupon_template__isnull=False),
                                   name="coupon_reward_has_template"),
            models.CheckConstraint(condition=Q(kind="coupon") | Q(item__isnull=False),
                                   name="item_reward_has_item"),
            models.CheckConstraint(condition=Q(stock__isnull=True) | Q(stock__gte=0),
                                   name="reward_stock_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class Redemption(models.Model):
    class Status(models.TextChoices):
        COMPLETED = "completed", _("Redeemed")
        CANCELLED = "cancelled", _("Cancelled (points given back)")

    class Channel(models.TextChoices):
        STAFF = "staff", _("Front desk")
        PORTAL = "portal", _("Member portal")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="redemptions")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions")
    points = models.PositiveIntegerField()
    entry = models.OneToOneField(Entry, on_delete=models.PROTECT, related_name="redemption")
    coupon = models.OneToOneField(Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.COMPLETED)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.STAFF)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    cancel_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["member", "reward", "status"], name="redemption_member_reward")]
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="redemption_costs_points"),
            models.CheckConstraint(condition=~Q(status="cancelled") | Q(cancelled_at__isnull=False),
                                   name="cancelled_redemption_has_time"),
        ]

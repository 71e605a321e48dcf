from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from members.models import Member

MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")


class Category(models.Model):
    """A clinic-defined group of treatments or products (e.g. injectables, laser, skincare)."""

    name = models.CharField(pgettext_lazy("of a thing", "name"), max_length=80, unique=True)
    code = models.SlugField(_("code"), max_length=40, unique=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CatalogueItem(models.Model):
    class Kind(models.TextChoices):
        TREATMENT = "treatment", _("Treatment")
        PRODUCT = "product", _("Product")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(pgettext_lazy("of a thing", "name"), max_length=120)
    sku = models.CharField(_("code"), max_length=40, unique=True)
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.PROTECT,
                                 related_name="items")
    price = models.DecimalField(_("price"), **MONEY, validators=[MinValueValidator(ZERO)])
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)
    buffer_minutes = models.PositiveIntegerField(_("buffer (minutes)"), default=0,
                                                 help_text=_("Preparation and cleaning time."))
    recall_days = models.PositiveIntegerField(_("recall interval (days)"), null=True, blank=True)
    online_booking_enabled = models.BooleanField(
        _("members may book it online"), default=True,
        help_text=_("Treatments only; online booking must also be on for the clinic."))
    needs_clearance = models.BooleanField(
        _("needs medical clearance"), default=False,
        help_text=_("Never recommended to a member whose medical profile records contraindications."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("catalogue item")
        verbose_name_plural = _("catalogue items")
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="item_price_not_negative"),
            models.CheckConstraint(
                condition=Q(kind="product") | Q(duration_minutes__gt=0),
                name="treatment_has_duration"),
        ]

    def __str__(self) -> str:
        return self.name


class Visit(models.Model):
    """A checked-out visit: what was bought, discounts, points used as cash, and payments.
    Totals are stored as they were at checkout; refunds are separate rows."""

    class Source(models.TextChoices):
        CHECKOUT = "checkout", _("Checkout")
        IMPORT = "import", _("Imported history")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="visits")
    visited_at = models.DateTimeField(_("time"), db_index=True)
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CHECKOUT)
    subtotal = models.DecimalField(_("subtotal"), **MONEY)
    line_discount = models.DecimalField(_("line discounts"), **MONEY, default=ZERO)
    tier_discount = models.DecimalField(_("tier discount"), **MONEY, default=ZERO)
    coupon_discount = models.DecimalField(_("coupon discount"), **MONEY, default=ZERO)
    points_used = models.BigIntegerField(_("points used"), default=0)
    points_discount = models.DecimalField(_("points deduction"), **MONEY, default=ZERO)
    total = models.DecimalField(_("amount paid"), **MONEY)
    refunded_total = models.DecimalField(_("refunded"), **MONEY, default=ZERO)
    external_ref = models.CharField(max_length=64, blank=True, db_index=True)
    # What each multiplier of the loyalty rules (category, tier, birthday month) added to the
    # points earned, as checkout priced it (points.earning.EarnPart.as_record), for the receipt.
    points_parts = models.JSONField(default=list, db_default=Value([], output_field=models.JSONField()), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-visited_at", "-id"]
        # Covering: a member's visits in a window, their spend and whether they count are read
        # from the index alone (segments.conditions; insights.selectors.counted needs the id).
        indexes = [models.Index(fields=["member", "-visited_at"], include=["total", "refunded_total", "id"],
                                name="visit_member_time_cover")]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="visit_total_not_negative"),
            models.CheckConstraint(condition=Q(refunded_total__gte=0) & Q(refunded_total__lte=F("total")),
                                   name="visit_refund_within_total"),
            models.CheckConstraint(condition=Q(points_used__gte=0), name="visit_points_used_not_negative"),
            models.CheckConstraint(
                condition=Q(total=F("subtotal") - F("line_discount") - F("tier_discount")
                            - F("coupon_discount") - F("points_discount")),
                name="visit_total_adds_up"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.member} {self.visited_at:%Y-%m-%d}"

    @property
    def net_paid(self) -> Decimal:
        return self.total - self.refunded_total


class VisitLine(models.Model):
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(CatalogueItem, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    name = models.CharField(max_length=120)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(**MONEY)
    discount = models.DecimalField(**MONEY, default=ZERO)
    line_total = models.DecimalField(**MONEY)
    refunded_quantity = models.PositiveIntegerField(default=0)
    points_earned = models.BigIntegerField(_("points earned"), default=0, db_default=0,
                                           help_text=_("This line's share of the visit's earned points."))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_quantity_positive"),
            models.CheckConstraint(condition=Q(points_earned__gte=0), name="line_points_not_negative"),
            models.CheckConstraint(condition=Q(refunded_quantity__lte=F("quantity")),
                                   name="line_refund_within_quantity"),
            models.CheckConstraint(condition=Q(discount__gte=0) & Q(line_total__gte=0),
                                   name="line_amounts_not_negative"),
            models.CheckConstraint(
                condition=Q(line_total=F("unit_price") * F("quantity") - F("discount")),
                name="line_total_adds_up"),
        ]


class Payment(models.Model):
    class Method(models.TextChoices):
        CASH = "cash", _("Cash")
        BANK_CARD = "bank_card", _("Bank card")
        WECHAT_PAY = "wechat_pay", _("WeChat Pay")
        ALIPAY = "alipay", _("Alipay")
        OTHER = "other", _("Other")
        STORED_VALUE = "stored_value", _("Stored value card")

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="payments")
    method = models.CharField(_("method"), max_length=12, choices=Method.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    refund = models.ForeignKey("Refund", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="payments",
                               help_text=_("Set on money paid back; the amount is negative."))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(refund__isnull=True) & Q(amount__gt=0)) | (Q(refund__isnull=False) & Q(amount__lt=0)),
                name="payment_sign_matches_kind"),
        ]


class Refund(models.Model):
    """Money given back on a visit, in full or in part, with who did it and why."""

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(_("amount"), **MONEY)
    reason = models.CharField(_("reason"), max_length=255)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    points_reversed = models.BigIntegerField(
        _("points reversed"), default=0, db_default=0,
        help_text=_("Earned and bonus points taken back by this refund."))
    points_unrecovered = models.BigIntegerField(
        _("points not recovered"), default=0, db_default=0,
        help_text=_("Points this refund should have taken back but could not: already spent or expired."))
    points_restored = models.BigIntegerField(
        _("points given back"), default=0, db_default=0,
        help_text=_("Points used as cash on the visit that this refund gave back."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="refund_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(points_reversed__gte=0) & Q(points_unrecovered__gte=0) & Q(points_restored__gte=0),
                name="refund_points_not_negative"),
        ]


class RefundLine(models.Model):
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(VisitLine, on_delete=models.PROTECT, related_name="refund_lines")
    quantity = models.PositiveIntegerField()
    amount = models.DecimalField(**MONEY)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="refund_line_quantity_positive")]

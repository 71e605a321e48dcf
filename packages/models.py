"""Treatment packages (疗程卡/次卡): the products a clinic sells, each purchase a member holds, and
refunds of unused sessions. The sessions themselves live on the ledger (`points.ledger`): one
account per member and package product (asset `package:<product id>`), one lot per purchase."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from members.models import Member
from points.models import Entry, Lot
from visits.models import MONEY, CatalogueItem, Refund, VisitLine


def package_asset(product_id: int) -> str:
    """The ledger asset of a package product's sessions."""
    return f"package:{product_id}"


class PackageProduct(models.Model):
    """N sessions of one treatment (or of any treatment of a set), sold as the catalogue item
    `item` at its price."""

    class ValidityStart(models.TextChoices):
        PURCHASE = "purchase", _("From the day of purchase")
        FIRST_USE = "first_use", _("From the first session")

    item = models.OneToOneField(CatalogueItem, on_delete=models.PROTECT, related_name="package",
                                help_text=_("What the front desk sells; its name and price are the package's."))
    treatments = models.ManyToManyField(CatalogueItem, related_name="covered_by_packages",
                                        verbose_name=_("treatments covered"))
    sessions = models.PositiveIntegerField(_("sessions"))
    validity_months = models.PositiveIntegerField(_("valid for months"), null=True, blank=True,
                                                  help_text=_("Empty: the sessions never expire."))
    validity_start = models.CharField(_("validity counted"), max_length=10, choices=ValidityStart.choices,
                                      default=ValidityStart.PURCHASE)
    transferable = models.BooleanField(_("transferable to another member"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("treatment package")
        ordering = ["item__name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(sessions__gt=0) & Q(sessions__lte=1000),
                                   name="package_sessions_1_to_1000"),
            models.CheckConstraint(condition=Q(validity_months__isnull=True) | Q(validity_months__gt=0),
                                   name="package_validity_positive"),
        ]

    def __str__(self) -> str:
        return self.item.name

    @property
    def asset(self) -> str:
        return package_asset(self.pk)


class PackageSettings(models.Model):
    """The clinic's rule for refunding unused sessions, and when members are warned (one row)."""

    class RefundRule(models.TextChoices):
        PRO_RATA = "pro_rata", _("Pro rata: the unused sessions' share of the price paid")
        LIST_PRICE = "list_price", _("Used sessions charged at the treatment's catalogue price")

    refund_rule = models.CharField(_("refund of unused sessions"), max_length=12, choices=RefundRule.choices,
                                   default=RefundRule.PRO_RATA)
    refund_fee_percent = models.PositiveIntegerField(
        _("refund fee (%)"), default=0, help_text=_("Kept by the clinic from every refund of unused sessions."))
    expiry_warning_days = models.PositiveIntegerField(_("warn days before sessions expire"), default=30)

    class Meta:
        verbose_name = _("package settings")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="package_settings_single_row"),
            models.CheckConstraint(condition=Q(refund_fee_percent__lte=100), name="package_fee_at_most_100"),
        ]


class PackagePurchase(models.Model):
    """One package a member bought (or brought from another system): its lot of sessions on the
    ledger, the price paid, and the validity fixed at purchase."""

    class Source(models.TextChoices):
        CHECKOUT = "checkout", _("Checkout")
        IMPORT = "import", _("Imported")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="package_purchases")
    product = models.ForeignKey(PackageProduct, on_delete=models.PROTECT, related_name="purchases")
    lot = models.OneToOneField(Lot, on_delete=models.PROTECT, related_name="package_purchase",
                               help_text=_("The sessions on the ledger (followed when a member merge moves them)."))
    visit_line = models.OneToOneField(VisitLine, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="package_purchase")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CHECKOUT)
    sessions = models.PositiveIntegerField(_("sessions bought"))
    sessions_used_before = models.PositiveIntegerField(
        _("sessions used before import"), default=0,
        help_text=_("Imported packages: sessions used in the previous system."))
    price = models.DecimalField(_("price paid"), **MONEY)
    purchased_at = models.DateTimeField(_("bought"))
    validity_months = models.PositiveIntegerField(null=True, blank=True)
    validity_start = models.CharField(max_length=10, choices=PackageProduct.ValidityStart.choices)
    first_used_at = models.DateTimeField(null=True, blank=True)
    refunded_amount = models.DecimalField(_("refunded"), **MONEY, default=0)

    class Meta:
        ordering = ["purchased_at", "id"]
        indexes = [models.Index(fields=["member", "product"], name="package_purchase_member")]
        constraints = [
            models.CheckConstraint(condition=Q(sessions__gt=0), name="purchase_sessions_positive"),
            models.CheckConstraint(condition=Q(sessions_used_before__lt=F("sessions")),
                                   name="purchase_used_before_within_sessions"),
            models.CheckConstraint(condition=Q(price__gte=0), name="purchase_price_not_negative"),
            models.CheckConstraint(condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("price")),
                                   name="purchase_refund_within_price"),
            models.CheckConstraint(condition=Q(source="import") | Q(visit_line__isnull=False),
                                   name="sold_purchase_has_visit_line"),
        ]


class PackageRefund(models.Model):
    """Unused sessions of a purchase taken off the ledger and paid back by the clinic's rule,
    with who did it and why (append-only)."""

    purchase = models.ForeignKey(PackagePurchase, on_delete=models.PROTECT, related_name="refunds")
    entry = models.OneToOneField(Entry, on_delete=models.PROTECT, related_name="package_refund")
    visit_refund = models.OneToOneField(Refund, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="package_refund",
                                        help_text=_("The money paid back, on the visit the package was sold in."))
    sessions = models.PositiveIntegerField()
    value = models.DecimalField(_("value of the sessions"), **MONEY)
    amount = models.DecimalField(_("refunded"), **MONEY)
    rule = models.CharField(max_length=12, choices=PackageSettings.RefundRule.choices)
    reason = models.CharField(_("reason"), max_length=255)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("refund_package", _("Can refund the unused sessions of a treatment package"))]
        constraints = [
            models.CheckConstraint(condition=Q(sessions__gt=0), name="package_refund_sessions_positive"),
            models.CheckConstraint(condition=Q(amount__gte=0) & Q(amount__lte=F("value")),
                                   name="package_refund_within_value"),
        ]

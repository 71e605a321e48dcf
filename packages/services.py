"""Writes of the treatment packages: the products, the clinic's refund rule, refunds of unused
sessions and opening balances brought from another system. Selling and using sessions happen
at checkout (packages.checkout_steps); the ledger (points.ledger) moves the sessions."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import settings_update
from checkout.services import _refund_payments
from members.models import Member
from packages.models import PackageProduct, PackagePurchase, PackageRefund, PackageSettings, package_asset
from packages.valuation import value_consumed
from points.ledger import Source, account_for, ledger_credit, ledger_debit, ledger_move_lot
from points.models import Account, Entry, Lot
from points.rules import _add_months, local_date, local_midnight
from points.selectors import lot_last_day
from storedvalue.services import card_refund
from visits.models import ZERO, CatalogueItem, Category, Refund, Visit
from visits.services import catalogue_item_create, catalogue_item_update

REFUND_PERMISSION = "packages.refund_package"


def package_settings() -> PackageSettings:
    return PackageSettings.objects.filter(pk=1).first() or PackageSettings(pk=1)


@transaction.atomic
def package_settings_update(*, actor: User | None, refund_rule: str, refund_fee_percent: int,
                            expiry_warning_days: int) -> PackageSettings:
    return settings_update(actor=actor, obj=PackageSettings.objects.select_for_update().get_or_create(pk=1)[0],
                           changes={"refund_rule": refund_rule, "refund_fee_percent": refund_fee_percent,
                                    "expiry_warning_days": expiry_warning_days},
                           fields=SETTINGS_FIELDS, validate=_settings_check)


SETTINGS_FIELDS = ("refund_rule", "refund_fee_percent", "expiry_warning_days")


def _settings_check(row: PackageSettings) -> None:
    if row.expiry_warning_days is not None and row.expiry_warning_days > 365:
        raise ValidationError({"expiry_warning_days": _("At most %(limit)s.") % {"limit": 365}})


def validity_end(start: datetime, months: int | None) -> datetime | None:
    """Sessions valid for `months` from `start` can be used until the end of the local day N months
    later (the same rule as rolling points expiry); None: they never expire."""
    if months is None:
        return None
    return local_midnight(_add_months(local_date(start), months) + timedelta(days=1))


def _treatments_check(treatments: list[CatalogueItem]) -> None:
    if not treatments:
        raise ValidationError({"treatments": _("Choose at least one treatment the package covers.")})
    if any(item.kind != CatalogueItem.Kind.TREATMENT for item in treatments):
        raise ValidationError({"treatments": _("A package covers treatments only.")})


def _product_check(product: PackageProduct) -> None:
    if not product.sessions or product.sessions < 1 or product.sessions > 1000:
        raise ValidationError({"sessions": _("A package has from 1 to 1000 sessions.")})
    if product.validity_months is not None and not 1 <= product.validity_months <= 1200:
        raise ValidationError({"validity_months": _("The validity is from 1 to 1200 months, or empty.")})
    product.full_clean(exclude=["item", "treatments"])


PRODUCT_FIELDS = ("sessions", "validity_months", "validity_start", "transferable")


@transaction.atomic
def package_product_create(*, name: str, sku: str, category: Category, price: Decimal, sessions: int,
                           treatments: list[CatalogueItem], validity_months: int | None = 12,
                           validity_start: str = PackageProduct.ValidityStart.PURCHASE,
                           transferable: bool = False, actor: User | None = None) -> PackageProduct:
    """A package product and the catalogue item the front desk sells it as (a product at the
    package's price)."""
    _treatments_check(treatments)
    product = PackageProduct(sessions=sessions, validity_months=validity_months,
                             validity_start=validity_start, transferable=transferable)
    _product_check(product)
    product.item = catalogue_item_create(kind=CatalogueItem.Kind.PRODUCT, name=name, sku=sku, category=category,
                                         price=price, online_booking_enabled=False, actor=actor)
    return settings_update(actor=actor, obj=product, changes={}, fields=PRODUCT_FIELDS, full_clean=False,
                           related={"treatments": treatments})


@transaction.atomic
def package_product_update(*, product: PackageProduct, actor: User | None = None,
                           treatments: list[CatalogueItem] | None = None, **changes) -> PackageProduct:
    """Change a package product. Purchases keep the sessions and validity they were sold with;
    name, price, category and `active` are the catalogue item's."""
    product = PackageProduct.objects.select_for_update().select_related("item").get(pk=product.pk)
    item_changes = {key: changes.pop(key) for key in ("name", "sku", "category", "price", "active") if key in changes}
    if treatments is not None:
        _treatments_check(treatments)
    product = settings_update(actor=actor, obj=product, changes=changes, fields=PRODUCT_FIELDS,
                              validate=_product_check, full_clean=False, related={"treatments": treatments})
    if item_changes:
        product.item = catalogue_item_update(item=product.item, actor=actor, **item_changes)
    return product


@dataclass(frozen=True)
class RefundQuote:
    """What refunding a purchase's unused sessions would do, by the clinic's rule."""

    purchase: PackagePurchase
    sessions: int
    value: Decimal  # what the unused sessions are worth (the most that can be refunded)
    amount: Decimal  # the rule's refund
    rule: str
    fee_percent: int


def _unused(purchase: PackagePurchase, lot: Lot, at: datetime) -> int:
    if lot.remaining == 0:
        raise ValidationError(_("This package has no unused sessions to refund."))
    if lot.expires_at is not None and lot.expires_at <= at:
        raise ValidationError(_("This package expired on %(day)s; its sessions can no longer be refunded.")
                              % {"day": lot_last_day(lot.expires_at)})
    return lot.remaining


def package_refund_quote(*, purchase: PackagePurchase, at: datetime | None = None) -> RefundQuote:
    """The refund of the purchase's unused sessions by the clinic's rule: pro rata (their share of
    the price paid, as valued on the ledger), or the price paid less the used sessions at the
    cheapest covered treatment's catalogue price; less the clinic's fee, rounded down to the cent."""
    at = at or timezone.now()
    lot = Lot.objects.get(pk=purchase.lot_id)
    unused = _unused(purchase, lot, at)
    used = purchase.sessions - unused
    value = purchase.price - value_consumed(purchase.price, purchase.sessions, used)
    rules = package_settings()
    amount = value
    if rules.refund_rule == PackageSettings.RefundRule.LIST_PRICE:
        prices = [item.price for item in purchase.product.treatments.all()]
        amount = max(ZERO, min(value, purchase.price - used * min(prices, default=ZERO)))
    amount = (amount * (100 - rules.refund_fee_percent) / 100).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return RefundQuote(purchase=purchase, sessions=unused, value=value, amount=amount, rule=rules.refund_rule,
                       fee_percent=rules.refund_fee_percent)


@transaction.atomic
def package_refund(*, purchase: PackagePurchase, actor: User, reason: str, amount: Decimal | None = None,
                   at: datetime | None = None) -> PackageRefund:
    """Refund the unused sessions of a purchase: they leave the ledger (a `reverse` entry) and the
    money goes back, on the visit the package was sold in, by the methods it was paid with (what a
    stored-value card paid goes back onto the card, as for a visit refund). The
    amount is the clinic's rule's unless a manager sets another, never more than the unused
    sessions are worth. What is not refunded of their value is the clinic's revenue."""
    if actor is None or not actor.has_perm(REFUND_PERMISSION):
        raise PermissionDenied(_("Only owners and managers may refund package sessions."))
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the sessions are refunded.")})
    at = at or timezone.now()
    account = account_for(purchase.member, package_asset(purchase.product_id), lock=True)
    purchase = (PackagePurchase.objects.select_for_update(of=("self",)).select_related("product", "visit_line")
                .get(pk=purchase.pk))
    quote = package_refund_quote(purchase=purchase, at=at)
    if amount is None:
        amount = quote.amount
    if amount < 0:
        raise ValidationError({"amount": _("The refund cannot be negative.")})
    if amount > quote.value:
        raise ValidationError({"amount": _("At most %(value)s can be refunded: what the %(sessions)s unused "
                                           "sessions are worth of the price paid.")
                               % {"value": quote.value, "sessions": quote.sessions}})
    lot = Lot.objects.get(pk=purchase.lot_id)
    entry = ledger_debit(account=account, amount=quote.sessions, kind=Entry.Kind.REVERSE,
                         source=Source("package-refund", purchase.pk), actor=actor,
                         reason=_("Unused sessions refunded: %(reason)s") % {"reason": reason.strip()}, at=at,
                         first_lots=[lot])
    visit_refund = None
    if purchase.visit_line is not None and amount > 0:
        visit = Visit.objects.select_for_update().get(pk=purchase.visit_line.visit_id)
        if amount > visit.total - visit.refunded_total:
            raise ValidationError({"amount": _("At most %(value)s of this visit is left to refund.")
                                   % {"value": visit.total - visit.refunded_total}})
        visit_refund = Refund.objects.create(
            visit=visit, amount=amount, actor=actor,
            reason=(_("Unused package sessions: %(reason)s") % {"reason": reason.strip()})[:255])
        _refund_payments(visit_refund, visit, amount)
        card_refund(refund=visit_refund, actor=actor, at=at)
        Visit.objects.filter(pk=visit.pk).update(refunded_total=visit.refunded_total + amount)
    PackagePurchase.objects.filter(pk=purchase.pk).update(refunded_amount=purchase.refunded_amount + amount)
    return PackageRefund.objects.create(purchase=purchase, entry=entry, visit_refund=visit_refund,
                                        sessions=quote.sessions, value=quote.value, amount=amount,
                                        rule=quote.rule, reason=reason.strip()[:255], actor=actor)


@transaction.atomic
def package_opening_import(*, member: Member, product: PackageProduct, sessions: int, sessions_left: int,
                           price: Decimal, purchased_at: datetime, expires_at: datetime | None = None,
                           first_used_at: datetime | None = None, actor: User | None = None,
                           dedupe_key: str | None = None, never_expires: bool = False) -> PackagePurchase:
    """A package a member bought in another system: `sessions_left` of `sessions` still to use, the
    price paid, the original purchase date and validity. The expiry is `expires_at` when given,
    none with `never_expires`, else the product's validity counted from the purchase (or the first
    use, when known). The
    sessions are an `opening` lot; the value of the used ones was recognised before the import."""
    if not 0 < sessions_left <= sessions:
        raise ValidationError({"sessions_left": _("Sessions left must be from 1 to the sessions bought.")})
    if price < 0:
        raise ValidationError({"price": _("The price cannot be negative.")})
    if not member.is_active:
        raise ValidationError(_("Only an active member can hold a package."))
    now = timezone.now()
    if purchased_at > now:
        raise ValidationError({"purchased_at": _("The purchase date cannot be in the future.")})
    if expires_at is None and not never_expires:
        start = purchased_at
        if product.validity_start == PackageProduct.ValidityStart.FIRST_USE:
            start = first_used_at
        expires_at = validity_end(start, product.validity_months) if start else None
    if expires_at is not None and expires_at <= now:
        raise ValidationError({"expires_at": _("These sessions have already expired.")})
    account = account_for(member, package_asset(product.pk), lock=True)
    entry = ledger_credit(account=account, amount=sessions_left, kind=Entry.Kind.OPENING,
                          source=Source("package-import", product.pk), actor=actor,
                          reason=_("Package brought from another system: %(name)s") % {"name": product.item.name},
                          expires_at=expires_at, at=purchased_at, dedupe_key=dedupe_key)
    return PackagePurchase.objects.create(
        member=member, product=product, lot=entry.lot, source=PackagePurchase.Source.IMPORT, sessions=sessions,
        sessions_used_before=sessions - sessions_left, price=price, purchased_at=purchased_at,
        validity_months=product.validity_months, validity_start=product.validity_start,
        first_used_at=first_used_at or (purchased_at if sessions_left < sessions else None))


@transaction.atomic
def package_transfer(*, purchase: PackagePurchase, to_member: Member, actor: User, reason: str,
                     at: datetime | None = None) -> PackagePurchase:
    """Give what is left of a transferable package to another member: the lot moves on the ledger
    with its sessions and expiry (transfer entries on both accounts), and the purchase follows."""
    at = at or timezone.now()
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the package is transferred.")})
    purchase = (PackagePurchase.objects.select_for_update(of=("self",)).select_related("product__item", "member")
                .get(pk=purchase.pk))
    if not purchase.product.transferable:
        raise ValidationError(_("“%(name)s” cannot be transferred to another member.")
                              % {"name": purchase.product.item.name})
    if to_member.pk == purchase.member_id or not to_member.is_active:
        raise ValidationError({"to_member": _("Choose another, active member.")})
    asset = package_asset(purchase.product_id)
    for member in (purchase.member, to_member):
        account_for(member, asset)
    accounts = {account.member_id: account for account in Account.objects.select_for_update()
                .filter(member__in=[purchase.member, to_member], asset=asset).order_by("pk")}
    lot = Lot.objects.get(pk=purchase.lot_id)
    if lot.remaining == 0 or (lot.expires_at is not None and lot.expires_at <= at):
        raise ValidationError(_("This package has no usable sessions to transfer."))
    lot.account = accounts[purchase.member_id]
    why = (_("Package transferred: %(reason)s") % {"reason": reason.strip()})[:255]
    entry = ledger_move_lot(lot=lot, target=accounts[to_member.pk], source=Source("package-transfer", purchase.pk),
                            actor=actor, reason=why, at=at)
    purchase.member, purchase.lot = to_member, entry.lot
    purchase.save(update_fields=["member", "lot"])
    return purchase

"""What checkout does with packages, as steps of checkout.services (run inside its transaction):
a line selling a package product opens a purchase of N sessions on the ledger; a line covered by
a package (`LineInput.package_id`) takes sessions from the member's purchases of that product,
soonest-expiring first. A refund of a sale line takes the untouched sessions back; a refund of a
covered line gives the sessions back into their purchases."""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from accounts.models import User
from members.models import Member
from packages.models import PackageProduct, PackagePurchase, package_asset
from packages.services import validity_end
from points.ledger import Source, account_for, available_lots, ledger_credit, ledger_debit, ledger_restore
from points.models import Entry, Lot
from points.selectors import lot_last_day
from visits.models import ZERO, Visit, VisitLine

USE_SOURCE = "package-use"
SALE_SOURCE = "package-sale"


def _line_error(index: int, message: str) -> ValidationError:
    return ValidationError({"lines": _("Line %(n)s: %(problem)s") % {"n": index, "problem": message}})


def _paid_for(visit: Visit, visit_lines: list[VisitLine], line: VisitLine) -> Decimal:
    """The line's share of what the visit paid (after tier, coupon and points discounts), to the cent."""
    gross = sum((each.line_total for each in visit_lines), ZERO)
    if gross == 0:
        return ZERO
    return (visit.total * line.line_total / gross).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def package_lines_record(*, member: Member, visit: Visit, lines, visit_lines: list[VisitLine],
                         actor: User | None, at: datetime) -> None:
    # bill_lines read which items are package products with the catalogue (`package_product_id`).
    selling = [line.item_id for line in visit_lines if getattr(line.item, "package_product_id", True)]
    sold = PackageProduct.objects.select_related("item").in_bulk(selling, field_name="item_id") if selling else {}
    for index, line in enumerate(visit_lines, start=1):
        product = sold.get(line.item_id)
        if product is None:
            continue
        if lines[index - 1].package_id is not None:
            raise _line_error(index, _("a package cannot be paid with a package."))
        if line.quantity != 1:
            raise _line_error(index, _("sell one package per line."))
        _sell(member=member, visit=visit, product=product, line=line,
              price=_paid_for(visit, visit_lines, line), actor=actor, at=at)
    for index, (given, line) in enumerate(zip(lines, visit_lines, strict=True), start=1):
        if given.package_id is not None:
            _use(member=member, product_id=given.package_id, line=line, index=index, actor=actor, at=at)


def _sell(*, member: Member, visit: Visit, product: PackageProduct, line: VisitLine, price: Decimal,
          actor: User | None, at: datetime) -> PackagePurchase:
    account = account_for(member, package_asset(product.pk), lock=True)
    expires_at = None
    if product.validity_start == PackageProduct.ValidityStart.PURCHASE:
        expires_at = validity_end(at, product.validity_months)
    entry = ledger_credit(account=account, amount=product.sessions, kind=Entry.Kind.EARN,
                          source=Source(SALE_SOURCE, line.pk), actor=actor,
                          reason=_("Package bought: %(name)s") % {"name": product.item.name},
                          dedupe_key=f"package:sale:{line.pk}", key_unused=True, at=at, expires_at=expires_at)
    return PackagePurchase.objects.create(
        member=member, product=product, lot=entry.lot, visit_line=line, sessions=product.sessions, price=price,
        purchased_at=at, validity_months=product.validity_months, validity_start=product.validity_start)


def _use(*, member: Member, product_id: int, line: VisitLine, index: int, actor: User | None,
         at: datetime) -> Entry:
    product = PackageProduct.objects.select_related("item").filter(pk=product_id).first()
    if product is None:
        raise _line_error(index, _("there is no such package."))
    if not product.treatments.filter(pk=line.item_id).exists():
        raise _line_error(index, _("“%(treatment)s” is not covered by “%(package)s”.")
                          % {"treatment": line.name, "package": product.item.name})
    account = account_for(member, package_asset(product.pk), lock=True)
    left = available_lots(account, at=at, lock=False).aggregate(total=Sum("remaining"))["total"] or 0
    if left < line.quantity:
        expired = (Lot.objects.filter(account=account, remaining__gt=0, expires_at__lte=at)
                   .order_by("-expires_at").first())
        if left == 0 and expired is not None:
            raise _line_error(index, _("the member's “%(package)s” expired on %(day)s.")
                              % {"package": product.item.name, "day": lot_last_day(expired.expires_at)})
        raise _line_error(index, _("the member has %(left)s sessions left of “%(package)s”, %(wanted)s needed.")
                          % {"left": left, "package": product.item.name, "wanted": line.quantity})
    entry = ledger_debit(account=account, amount=line.quantity, kind=Entry.Kind.REDEEM,
                         source=Source(USE_SOURCE, line.pk), actor=actor,
                         reason=_("Session used: %(treatment)s") % {"treatment": line.name},
                         dedupe_key=f"package:use:{line.pk}", at=at)
    _first_use_start(entry, at)
    return entry


def _first_use_start(entry: Entry, at: datetime) -> None:
    """Purchases valid from their first session start their validity now."""
    purchases = (PackagePurchase.objects.select_for_update()
                 .filter(lot__allocations__entry=entry, first_used_at__isnull=True))
    for purchase in purchases:
        purchase.first_used_at = at
        purchase.save(update_fields=["first_used_at"])
        if purchase.validity_start == PackageProduct.ValidityStart.FIRST_USE:
            Lot.objects.filter(pk=purchase.lot_id, expires_at__isnull=True).update(
                expires_at=validity_end(at, purchase.validity_months))


def package_lines_refund(*, visit: Visit, visit_lines: dict[int, VisitLine], requested: dict[int, int],
                         actor: User, at: datetime) -> None:
    purchases = {purchase.visit_line_id: purchase for purchase in PackagePurchase.objects
                 .select_for_update().select_related("product__item").filter(visit_line_id__in=list(requested))}
    for line_id in requested:
        purchase = purchases.get(line_id)
        if purchase is not None:
            _sale_cancel(purchase=purchase, visit=visit, actor=actor, at=at)
    uses = Entry.objects.filter(source_type=USE_SOURCE, source_id__in=[str(pk) for pk in requested],
                                kind=Entry.Kind.REDEEM).select_related("account")
    for entry in uses:
        _use_give_back(entry=entry, quantity=requested[int(entry.source_id)], visit=visit, actor=actor, at=at)


def _sale_cancel(*, purchase: PackagePurchase, visit: Visit, actor: User, at: datetime) -> None:
    account = account_for(purchase.member, package_asset(purchase.product_id), lock=True)
    lot = Lot.objects.select_for_update().get(pk=purchase.lot_id)
    untouched = lot.remaining == lot.amount == purchase.sessions and not (
        lot.expires_at is not None and lot.expires_at <= at)
    if not untouched:
        raise ValidationError({"lines": _("Sessions of “%(package)s” were used, expired or refunded: refund its "
                                          "unused sessions from the member's page instead.")
                               % {"package": purchase.product.item.name}})
    ledger_debit(account=account, amount=lot.remaining, kind=Entry.Kind.REVERSE,
                 source=Source(SALE_SOURCE, purchase.visit_line_id), actor=actor,
                 reason=_("Package sale refunded (visit #%(id)s)") % {"id": visit.pk}, at=at, first_lots=[lot])
    PackagePurchase.objects.filter(pk=purchase.pk).update(refunded_amount=purchase.price)


def _use_give_back(*, entry: Entry, quantity: int, visit: Visit, actor: User, at: datetime) -> None:
    """Give a refunded treatment's sessions back into the purchases they came from, while those
    are still valid; sessions of an expired purchase are not given back."""
    account = account_for(entry.account.member, entry.account.asset, lock=True)
    lots = Lot.objects.filter(allocations__entry=entry)
    if lots.filter(Q(expires_at__lte=at) | ~Q(account=account)).exists():
        return
    ledger_restore(account=account, debit=entry, amount=quantity, source=Source("visit", visit.pk), actor=actor,
                   reason=_("Refund of visit #%(id)s: session given back") % {"id": visit.pk}, at=at)

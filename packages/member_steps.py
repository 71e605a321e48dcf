"""What packages do when a member is merged into another: each open purchase moves to the
survivor with its sessions and dates (the ledger moves the lot), closed ones follow on record."""

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from members.models import Member
from packages.models import PackagePurchase
from points.ledger import Source, ledger_move_lot
from points.models import Account, Lot


def packages_merge(survivor: Member, duplicate: Member, actor: User | None) -> None:
    purchases = list(PackagePurchase.objects.select_for_update().filter(member=duplicate).order_by("id"))
    if not purchases:
        return
    now = timezone.now()
    reason = _("Merged %(from)s into %(to)s") % {"from": duplicate.member_number, "to": survivor.member_number}
    for asset in sorted({f"package:{purchase.product_id}" for purchase in purchases}):
        for member in (survivor, duplicate):
            Account.objects.get_or_create(member=member, asset=asset)
        accounts = {account.member_id: account for account in Account.objects.select_for_update()
                    .filter(member__in=[survivor, duplicate], asset=asset).order_by("pk")}
        for purchase in purchases:
            if f"package:{purchase.product_id}" != asset:
                continue
            lot = Lot.objects.select_related("account").get(pk=purchase.lot_id)
            if lot.remaining > 0:
                lot.account = accounts[duplicate.pk]
                entry = ledger_move_lot(lot=lot, target=accounts[survivor.pk], source=Source("merge", duplicate.pk),
                                        actor=actor, reason=reason, at=now)
                purchase.lot = entry.lot
            purchase.member = survivor
            purchase.save(update_fields=["lot", "member"])

"""Every write of stored value: plans and settings, top-ups at the desk, paying at checkout, giving
back on a refund, cashing a card out. The money moves only through points.ledger, in the member's
two card accounts (principal and bonus, in cents), locked principal then bonus, after the points
account and the tier lock where a flow takes those too (the order checkout takes them in)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import settings_update
from members.models import Member
from points.ledger import (
    Debit,
    Source,
    accounts_lock,
    accounts_lock_many,
    available_balance,
    ledger_credit,
    ledger_debit,
    ledger_debit_many,
    ledger_restore,
    lots_spendable,
)
from points.models import STORED_VALUE_ASSETS, Account, Asset, Entry, Lot
from points.rules import local_date, local_midnight, lot_available_from, lot_expiry, loyalty_settings, points_round
from storedvalue.models import CardCharge, CardRefund, CashOut, PaymentMethod, StoredValueSettings, TopUp, TopUpPlan
from storedvalue.rules import MAX_AMOUNT, cents, money, payment_split, restore_split, stored_value_settings
from visits.models import Payment, Refund, Visit


@dataclass(frozen=True)
class Card:
    principal: Account
    bonus: Account


def card_accounts(member: Member) -> list[tuple[int, str]]:
    """The (member, asset) pairs of the member's card, for `points.ledger.accounts_lock_many`:
    a caller locking other accounts too locks the card's in the same statement."""
    return [(member.pk, asset) for asset in STORED_VALUE_ASSETS]


def card_of(member: Member, locked: dict[tuple[int, str], Account]) -> Card:
    """The member's card from accounts locked by `accounts_lock_many` (with `card_accounts`)."""
    return Card(principal=locked[(member.pk, Asset.STORED_VALUE_PRINCIPAL)],
                bonus=locked[(member.pk, Asset.STORED_VALUE_BONUS)])


def card_lock(member: Member) -> Card:
    """The member's two card accounts, opened if missing, locked together in id order."""
    return card_of(member, accounts_lock_many(card_accounts(member)))


def _available(card: Card, at: datetime) -> tuple[int, int]:
    """Cents spendable now in the principal and the bonus account, in one query."""
    found = dict(Lot.objects.filter(account__in=[card.principal, card.bonus], remaining__gt=0, available_from__lte=at)
                 .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))
                 .values("account_id").annotate(total=Sum("remaining")).values_list("account_id", "total"))
    return found.get(card.principal.pk, 0), found.get(card.bonus.pk, 0)


def _member_now(member: Member) -> Member:
    while member.status == Member.Status.MERGED and member.merged_into_id:
        member = Member.objects.get(pk=member.merged_into_id)
    return member


def _next_id(model) -> int:
    """The row's id from its table's sequence before it is written, so that the ledger entries
    written first can name it as their source."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [model._meta.db_table])
        return cursor.fetchone()[0]


def _method_check(method: str) -> None:
    if method not in PaymentMethod.values:
        raise ValidationError({"method": _("Unknown payment method.")})


# ---- settings and plans ---------------------------------------------------------------------

SETTINGS_FIELDS = tuple(field.name for field in StoredValueSettings._meta.concrete_fields if field.name != "id")


@transaction.atomic
def stored_value_settings_update(*, actor: User, **changes) -> StoredValueSettings:
    return settings_update(actor=actor, obj=StoredValueSettings.objects.select_for_update().get_or_create(pk=1)[0],
                           changes=changes, fields=SETTINGS_FIELDS)


def _plan_validate(plan: TopUpPlan) -> None:
    errors = {}
    if plan.pay_amount is None or plan.pay_amount <= 0 or plan.pay_amount > MAX_AMOUNT:
        errors["pay_amount"] = _("The amount paid in must be more than zero and at most %(max)s.") % {
            "max": MAX_AMOUNT}
    if plan.bonus_amount is None or plan.bonus_amount < 0 or plan.bonus_amount > MAX_AMOUNT:
        errors["bonus_amount"] = _("The bonus cannot be negative.")
    if plan.bonus_valid_days is not None and plan.bonus_valid_days < 1:
        errors["bonus_valid_days"] = _("The bonus must be valid for at least one day.")
    if errors:
        raise ValidationError(errors)
    plan.full_clean()


PLAN_FIELDS = ("name", "pay_amount", "bonus_amount", "bonus_valid_days", "bonus_points", "tier", "active")


@transaction.atomic
def top_up_plan_create(*, actor: User, name: str, pay_amount: Decimal, bonus_amount: Decimal = Decimal(0),
                       bonus_valid_days: int | None = None, bonus_points: int = 0, tier=None,
                       active: bool = True) -> TopUpPlan:
    plan = TopUpPlan(name=name.strip(), pay_amount=pay_amount, bonus_amount=bonus_amount,
                     bonus_valid_days=bonus_valid_days, bonus_points=bonus_points, tier=tier, active=active)
    return settings_update(actor=actor, obj=plan, changes={}, fields=PLAN_FIELDS, validate=_plan_validate,
                           full_clean=False)


@transaction.atomic
def top_up_plan_update(*, plan: TopUpPlan, actor: User, **changes) -> TopUpPlan:
    """Change a plan. Top-ups already made keep what they were given."""
    changes = {name: value.strip() if isinstance(value, str) else value for name, value in changes.items()}
    return settings_update(actor=actor, obj=TopUpPlan.objects.select_for_update().get(pk=plan.pk), changes=changes,
                           fields=PLAN_FIELDS, validate=_plan_validate, full_clean=False)


# ---- top-up ---------------------------------------------------------------------------------

def _bonus_expiry(at: datetime, days: int | None) -> datetime | None:
    """The bonus can be used through the clinic-local day `days` days after the top-up."""
    if days is None:
        return None
    return local_midnight(local_date(at) + timedelta(days=days + 1))


@transaction.atomic
def stored_value_top_up(*, member: Member, actor: User, method: str, plan: TopUpPlan | None = None,
                        paid: Decimal | None = None, reference: str = "", at: datetime | None = None) -> TopUp:
    """Money paid in at the desk. With a plan: the plan's amount is paid and its bonus (with its
    validity), bonus points and tier come with it; without one: any amount, no bonus. The paid-in
    amount becomes a principal lot, the bonus a bonus lot; points are earned on the amount paid in
    only if the clinic says so (off by default)."""
    at = at or timezone.now()
    _method_check(method)
    if not member.is_active:
        raise ValidationError(_("Only an active member can top up."))
    if plan is not None:
        if not plan.active:
            raise ValidationError({"plan": _("This top-up plan is no longer offered.")})
        if paid is not None and paid != plan.pay_amount:
            raise ValidationError({"paid": _("The plan “%(plan)s” is topped up with exactly %(amount)s.")
                                   % {"plan": plan.name, "amount": plan.pay_amount}})
        paid, bonus = plan.pay_amount, plan.bonus_amount
    else:
        bonus = Decimal(0)
    if paid is None or paid <= 0 or paid > MAX_AMOUNT:
        raise ValidationError({"paid": _("Top up more than zero and at most %(max)s.") % {"max": MAX_AMOUNT}})
    paid_cents, bonus_cents = cents(paid), cents(bonus)
    config = stored_value_settings()
    rules = loyalty_settings()
    points = (points_round(paid * rules.points_per_currency_unit, rules) if config.top_up_earns_points else 0)
    points += plan.bonus_points if plan is not None else 0
    points_account = accounts_lock([member])[member.pk] if points > 0 else None
    if plan is not None and plan.tier_id:
        from tiers.services import tier_raise_to
        tier_raise_to(member=member, tier=plan.tier, actor=actor, at=at,
                      reason=_("Topped up with the plan “%(plan)s”") % {"plan": plan.name})
    card = card_lock(member)
    top_up = TopUp(pk=_next_id(TopUp), member=member, plan=plan, paid=money(paid_cents), bonus=money(bonus_cents),
                   method=method, reference=reference.strip()[:64], actor=actor, at=at,
                   bonus_expires_at=_bonus_expiry(at, plan.bonus_valid_days) if bonus_cents else None)
    source = Source("topup", top_up.pk)
    top_up.principal_entry = ledger_credit(
        account=card.principal, amount=paid_cents, kind=Entry.Kind.TOPUP, source=source, actor=actor,
        reason=_("Top-up"), at=at)
    if bonus_cents:
        top_up.bonus_entry = ledger_credit(
            account=card.bonus, amount=bonus_cents, kind=Entry.Kind.BONUS, source=source, actor=actor,
            reason=_("Top-up bonus (%(plan)s)") % {"plan": plan.name}, at=at, expires_at=top_up.bonus_expires_at)
    top_up.points_earned = points
    top_up.save(force_insert=True)
    if points_account is not None:
        ledger_credit(account=points_account, amount=points, kind=Entry.Kind.EARN, source=Source("topup", top_up.pk),
                      actor=actor, reason=_("Top-up"), dedupe_key=f"earn:topup:{top_up.pk}", key_unused=True,
                      at=at, available_from=lot_available_from(at, rules), expires_at=lot_expiry(at, rules))
    return top_up


# ---- paying at checkout ---------------------------------------------------------------------

def card_short_error(available: int, wanted: int) -> ValidationError:
    return ValidationError({"payments": _(
        "Not enough stored value: %(available)s available, %(wanted)s to pay.")
        % {"available": money(available), "wanted": money(wanted)}})


def card_charge(*, visit: Visit, payment: Payment, actor: User | None, at: datetime,
                rules: StoredValueSettings | None = None, card: Card | None = None) -> CardCharge:
    """Take a checkout payment from the member's card, split between principal and bonus by the
    clinic's rule (`rules`: the stored-value settings, read when not given). `card`: the card's
    accounts when the caller has locked them already (checkout locks them with the points
    accounts). Called by checkout inside its transaction; refuses (and so rolls the checkout back)
    when the card's available balance is short."""
    member = visit.member
    amount = cents(payment.amount)
    card = card or card_lock(member)
    lots = lots_spendable([card.principal, card.bonus], at=at)
    principal = sum(lot.remaining for lot in lots[card.principal.pk])
    bonus = sum(lot.remaining for lot in lots[card.bonus.pk])
    if amount > principal + bonus:
        raise card_short_error(principal + bonus, amount)
    from_principal, from_bonus = payment_split(amount, principal=principal, bonus=bonus,
                                               rule=(rules or stored_value_settings()).split_rule)
    source = Source("visit", visit.pk)
    charge = CardCharge(visit=visit, payment=payment, member=member, principal=from_principal, bonus=from_bonus,
                        at=at)
    entries = ledger_debit_many(
        debits=[Debit(card.principal, from_principal, lots[card.principal.pk]),
                Debit(card.bonus, from_bonus, lots[card.bonus.pk])],
        kind=Entry.Kind.PAYMENT, source=source, actor=actor, reason=_("Paid at checkout"), at=at)
    charge.principal_entry = entries.get(card.principal.pk)
    charge.bonus_entry = entries.get(card.bonus.pk)
    charge.save()
    return charge


def card_refund(*, refund: Refund, actor: User | None, at: datetime) -> list[CardRefund]:
    """Give back to the card what a refund pays back with the card: exactly the principal and the
    bonus the visit's payment took, in proportion (see restore_split), into the lots they came
    from. A bonus lot that expired meanwhile gets its part back already expired (the nightly
    expiry takes it): a refund does not prolong a bonus."""
    to_give = -cents(Payment.objects.filter(refund=refund, method=Payment.Method.STORED_VALUE)
                     .aggregate(total=Sum("amount"))["total"] or 0)
    if to_give <= 0:
        return []
    charges = list(CardCharge.objects.select_for_update(of=("self",)).filter(visit_id=refund.visit_id)
                   .select_related("member", "principal_entry", "bonus_entry").order_by("id"))
    if not charges:
        return []
    card = card_lock(_member_now(charges[0].member))
    source = Source("refund", refund.pk)
    given = []
    for charge in charges:
        room = charge.principal + charge.bonus - charge.principal_restored - charge.bonus_restored
        give = min(room, to_give)
        if give <= 0:
            continue
        before = charge.principal_restored + charge.bonus_restored
        bonus = restore_split(taken_principal=charge.principal, taken_bonus=charge.bonus,
                              restored_before=before, restored_after=before + give)
        principal = give - bonus
        reason = _("Refund: stored value given back")
        if principal:
            ledger_restore(account=card.principal, debit=charge.principal_entry, amount=principal, source=source,
                           actor=actor, reason=reason, at=at)
        if bonus:
            ledger_restore(account=card.bonus, debit=charge.bonus_entry, amount=bonus, source=source, actor=actor,
                           reason=reason, at=at, fresh_expiry=at)
        CardCharge.objects.filter(pk=charge.pk).update(principal_restored=F("principal_restored") + principal,
                                                       bonus_restored=F("bonus_restored") + bonus)
        given.append(CardRefund.objects.create(refund=refund, charge=charge, principal=principal, bonus=bonus))
        to_give -= give
    if to_give:
        raise ValidationError(_("This refund gives back more stored value than the visit took."))
    return given


# ---- cash-out -------------------------------------------------------------------------------

@dataclass(frozen=True)
class CashOutQuote:
    principal: Decimal
    bonus: Decimal
    bonus_used: Decimal
    charge_back_percent: int
    charge_back: Decimal
    refund: Decimal


def cash_out_quote(member: Member, *, at: datetime | None = None) -> CashOutQuote:
    """What cashing the card out now would give back: the paid-in balance less the clinic's share
    of the bonus used since the card was last cashed out (bonus paid at checkout less what refunds
    gave back), never below zero; the bonus left is forfeited."""
    at = at or timezone.now()
    principal_account = Account.objects.filter(member=member, asset=Asset.STORED_VALUE_PRINCIPAL).first()
    bonus_account = Account.objects.filter(member=member, asset=Asset.STORED_VALUE_BONUS).first()
    principal = available_balance(principal_account, at=at) if principal_account else 0
    bonus = available_balance(bonus_account, at=at) if bonus_account else 0
    used = (CardCharge.objects.filter(member=member, settled_by__isnull=True)
            .aggregate(total=Sum(F("bonus") - F("bonus_restored")))["total"] or 0)
    percent = stored_value_settings().cash_out_charge_back_percent
    charge_back = min(principal, int((Decimal(used) * percent / 100).to_integral_value(rounding=ROUND_HALF_UP)))
    return CashOutQuote(principal=money(principal), bonus=money(bonus), bonus_used=money(used),
                        charge_back_percent=percent, charge_back=money(charge_back),
                        refund=money(principal - charge_back))


@transaction.atomic
def stored_value_cash_out(*, member: Member, actor: User, reason: str, method: str, reference: str = "",
                          expected_refund: Decimal | None = None, at: datetime | None = None) -> CashOut:
    """Close the card: the whole paid-in balance leaves it (the member is paid back the quote's
    refund, the clinic keeps the charge-back), the bonus left is forfeited. Managers only, with a
    reason. `expected_refund` is the figure the manager confirmed: if the card moved since, nothing
    happens and the new figure must be confirmed."""
    at = at or timezone.now()
    if not actor.has_perm("storedvalue.cash_out_card"):
        raise PermissionDenied(_("Only a manager may cash out a card."))
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the card is cashed out.")})
    _method_check(method)
    card = card_lock(member)
    quote = cash_out_quote(member, at=at)
    if quote.principal == 0 and quote.bonus == 0:
        raise ValidationError(_("The card is empty: there is nothing to cash out."))
    if expected_refund is not None and expected_refund != quote.refund:
        raise ValidationError({"expected_refund": _(
            "The card changed since the calculation was shown: %(amount)s would now be paid back. "
            "Check the new figures and confirm again.") % {"amount": quote.refund}})
    cash_out = CashOut(pk=_next_id(CashOut), member=member, principal=quote.principal, bonus=quote.bonus,
                       bonus_used=quote.bonus_used, charge_back_percent=quote.charge_back_percent,
                       charge_back=quote.charge_back, refund=quote.refund, method=method,
                       reference=reference.strip()[:64], reason=reason.strip()[:255], actor=actor, at=at)
    source = Source("cashout", cash_out.pk)
    if quote.principal:
        cash_out.principal_entry = ledger_debit(
            account=card.principal, amount=cents(quote.principal), kind=Entry.Kind.CASH_OUT, source=source,
            actor=actor, reason=reason.strip()[:255], at=at)
    if quote.bonus:
        cash_out.bonus_entry = ledger_debit(
            account=card.bonus, amount=cents(quote.bonus), kind=Entry.Kind.FORFEIT, source=source, actor=actor,
            reason=reason.strip()[:255], at=at)
    cash_out.save(force_insert=True)
    CardCharge.objects.filter(member=member, settled_by__isnull=True).update(settled_by=cash_out)
    return cash_out

"""Reads of members: search as the front desk types, consent state, medical notes."""

import contextlib
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, When
from django.db.models.lookups import Contains
from django.utils.translation import gettext as _

from accounts.models import User
from clinic_loyalty.sql_arrays import any_of
from members.models import PINYIN_COMPACT, ConsentRecord, MedicalAccessLog, MedicalProfile, Member, MemberEvent
from members.naming import has_cjk, phone_normalize

_DIGITS = re.compile(r"[\d\s\-+()]+")
_LETTERS = re.compile(r"^[A-Za-z]+$")


def members_with_allergy_flag(members: QuerySet[Member] | None = None) -> QuerySet[Member]:
    """Members with the allergy safety flag read in the same query (`member_has_allergies`)."""
    allergic = MedicalProfile.objects.filter(member=OuterRef("pk"), has_allergies=True)
    return (Member.objects.all() if members is None else members).annotate(allergy_flag=Exists(allergic))


def _search_condition(query: str) -> tuple[Q, Case]:
    """What a search for `query` matches, and how the matches rank (0 first)."""
    number = query.upper()
    if _DIGITS.fullmatch(query):
        digits = re.sub(r"\D", "", query)
        condition = Q(member_number=number)
        if len(digits) == 4:
            condition |= Q(phone_last4=digits)
        elif len(digits) >= 7:
            with contextlib.suppress(ValidationError):
                condition |= Q(phone=phone_normalize(query))
        rank = Case(When(member_number=number, then=0), default=1, output_field=IntegerField())
    elif has_cjk(query):
        condition = Q(name__startswith=query) | Q(name_tail__startswith=query)
        if len(query) >= 3:
            condition |= Q(name__contains=query)
        rank = Case(When(name=query, then=0), When(name__startswith=query, then=1), default=2,
                    output_field=IntegerField())
    else:
        lowered = query.lower()
        condition = Q(member_number__startswith=number)
        if _LETTERS.fullmatch(query):
            condition |= Q(name_initials__startswith=lowered)
        if len(query) >= 3:
            condition |= Q(name_pinyin__contains=lowered)
        compact = re.sub(r"\s+", "", lowered)
        if len(compact) >= 3 and _LETTERS.fullmatch(compact):
            condition |= Q(Contains(PINYIN_COMPACT, compact))
        rank = Case(When(name_initials=lowered, then=0), When(member_number=number, then=0), default=1,
                    output_field=IntegerField())
    return condition, rank


def _search(members: QuerySet[Member], query: str) -> QuerySet[Member]:
    condition, rank = _search_condition(query)
    return (members_with_allergy_flag(members.filter(condition)).annotate(rank=rank)
            .order_by("rank", "name", "pk"))


def member_with_phone(phone: str, *, exclude_pk: int | None = None) -> Member | None:
    """The member who has this (normalized) phone, other than `exclude_pk`; phones are unique per
    clinic whatever the member's status."""
    return Member.objects.filter(phone=phone).exclude(pk=exclude_pk).first()


def member_search(*, query: str, limit: int = 20, include_inactive: bool = False) -> list[Member]:
    """Find members by phone (full or last 4 digits), name (or given name), pinyin initials
    (zxm → 张小美), full pinyin, or member number. Every branch is served by an index."""
    query = query.strip()
    if not query:
        return []
    members = Member.objects.all() if include_inactive else Member.objects.filter(
        status=Member.Status.ACTIVE)
    return list(_search(members, query)[:limit])


def member_merge_candidates(*, survivor: Member, query: str, limit: int = 20) -> list[Member]:
    """Members found by the same search who could be merged into `survivor`: active or
    archived, and not the survivor itself."""
    query = query.strip()
    if not query:
        return []
    members = Member.objects.filter(status__in=[Member.Status.ACTIVE, Member.Status.ARCHIVED]).exclude(
        pk=survivor.pk)
    return list(_search(members, query)[:limit])


def members_matching(*, query: str) -> QuerySet[Member]:
    """Every member, whatever their status, that a search for `query` finds, unranked and
    without a limit: for narrowing other lists (the message log) to the members typed."""
    query = query.strip()
    if not query:
        return Member.objects.none()
    return Member.objects.filter(_search_condition(query)[0])


def consent_current(*, member: Member) -> dict[str, ConsentRecord | None]:
    """The member's latest consent record per purpose (None where never asked)."""
    latest = (ConsentRecord.objects.filter(member=member)
              .order_by("purpose", "-recorded_at", "-id").distinct("purpose"))
    by_purpose = {record.purpose: record for record in latest}
    return {purpose: by_purpose.get(purpose) for purpose in ConsentRecord.Purpose.values}


def consent_granted(*, member: Member, purpose: str) -> bool:
    record = consent_current(member=member)[purpose]
    return bool(record and record.granted)


def consent_granted_member_ids(*, purpose: str, at: datetime) -> QuerySet:
    """The ids of the members whose latest record for `purpose` recorded by `at` grants it, by
    the same rule as `consent_current` (latest by time, then id), as a subquery for
    `member__in`/`pk__in`: one pass over the records, not a lookup per member."""
    records = ConsentRecord.objects.filter(purpose=purpose, recorded_at__lte=at)
    later = records.filter(member_id=OuterRef("member_id")).filter(
        Q(recorded_at__gt=OuterRef("recorded_at")) | Q(recorded_at=OuterRef("recorded_at"), id__gt=OuterRef("id")))
    return records.filter(granted=True).exclude(Exists(later)).values("member_id")


def consent_granted_members(*, member_ids: list[int], purpose: str) -> set[int]:
    """Of these members, those whose latest record for `purpose` grants it (one query for a
    whole batch, by the same rule as `consent_current`)."""
    latest = (ConsentRecord.objects.filter(member_id__in=any_of(member_ids, "bigint"), purpose=purpose)
              .order_by("member_id", "-recorded_at", "-id").distinct("member_id")
              .values_list("member_id", "granted"))
    return {member_id for member_id, granted in latest if granted}


def consent_withdrawn_members(*, member_ids: list[int], purpose: str) -> set[int]:
    """Of these members, those whose latest record for `purpose` withdraws it (for purposes that
    hold until withdrawn, such as appointment reminders)."""
    latest = (ConsentRecord.objects.filter(member_id__in=any_of(member_ids, "bigint"), purpose=purpose)
              .order_by("member_id", "-recorded_at", "-id").distinct("member_id")
              .values_list("member_id", "granted"))
    return {member_id for member_id, granted in latest if not granted}


def member_has_allergies(*, member: Member) -> bool:
    """The safety flag every staff member may see."""
    if hasattr(member, "allergy_flag"):
        return member.allergy_flag
    return MedicalProfile.objects.filter(member=member, has_allergies=True).exists()


def medical_profile_read(*, member: Member, actor: User) -> MedicalProfile | None:
    """Medical notes, for practitioners and managers only; every read is logged."""
    if not actor.has_perm("accounts.view_medical"):
        raise PermissionDenied(_("Only practitioners and managers may see medical notes."))
    MedicalAccessLog.objects.create(member=member, staff=actor, action=MedicalAccessLog.Action.READ)
    return MedicalProfile.objects.filter(member=member).first()


def medical_access_log(*, member: Member, actor: User) -> QuerySet[MedicalAccessLog]:
    """Who read, changed or exported the member's medical profile, newest first: for the staff
    who may see medical notes themselves."""
    if not actor.has_perm("accounts.view_medical"):
        raise PermissionDenied(_("Only practitioners and managers may see medical notes."))
    return MedicalAccessLog.objects.filter(member=member).select_related("staff").order_by("-at", "-id")


def member_referrals(*, member: Member) -> QuerySet[Member]:
    return member.referrals.order_by("-joined_on")


def _json_value(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def export_rows(rows: QuerySet, *fields: str) -> list[dict]:
    """Rows of a queryset as JSON-ready dicts of `fields` (dates as ISO text, money as text)."""
    return [{field: _json_value(value) for field, value in row.items()} for row in rows.values(*fields)]


# Apps that hold records about a member add their part of an export (visits, points, tiers…).
# Each registers a function from its AppConfig.ready(); it returns a dict merged into the export.
EXPORT_SECTIONS: list[Callable[[Member], dict]] = []


def member_export(*, member: Member, actor: User | None) -> dict:
    """Everything the clinic holds about the member, for an access request: the profile,
    consents, referrals, history of the record, and every app's part (visits, points, coupons,
    redemptions, tiers). Medical notes are included only for staff who may read them, and that
    is logged. The export itself is recorded as a member event with the actor; with no actor the
    member downloaded it themselves in the portal (medical notes are then left out: the clinic
    hands those over on request, as a practitioner must read them first)."""
    data = {
        "member_number": member.member_number,
        "name": member.name,
        "phone": member.phone,
        "gender": member.gender,
        "birthday": member.birthday.isoformat() if member.birthday else None,
        "celebrates_lunar_birthday": member.celebrates_lunar_birthday,
        "email": member.email,
        "source": member.source,
        "referral_code": member.referral_code,
        "referred_by": member.referred_by.member_number if member.referred_by else None,
        "tags": member.tags,
        "notes": member.notes,
        "status": member.status,
        "joined_on": member.joined_on.isoformat(),
        "consents": [
            {"purpose": c.purpose, "granted": c.granted, "channel": c.channel,
             "policy_version": c.policy_version, "recorded_at": c.recorded_at.isoformat()}
            for c in member.consents.order_by("recorded_at", "id")
        ],
        "referred_members": [
            {"member_number": number, "joined_on": joined.isoformat(), "status": status}
            for number, joined, status in member.referrals.exclude(status=Member.Status.MERGED)
            .order_by("joined_on", "id").values_list("member_number", "joined_on", "status")
        ],
        "merged_members": list(Member.objects.filter(merged_into=member).order_by("id")
                               .values_list("member_number", flat=True)),
        "events": [
            {"kind": event.kind, "actor": event.actor_id, "detail": event.detail,
             "at": event.created_at.isoformat()}
            for event in member.events.order_by("created_at", "id")
        ],
    }
    medical = actor is not None and actor.has_perm("accounts.view_medical")
    if medical:
        profile = MedicalProfile.objects.filter(member=member).first()
        MedicalAccessLog.objects.create(member=member, staff=actor, action=MedicalAccessLog.Action.EXPORT)
        data["medical"] = None if profile is None else {
            "allergies": profile.allergies, "contraindications": profile.contraindications,
            "medical_notes": profile.medical_notes}
    for section in EXPORT_SECTIONS:
        data.update(section(member))
    MemberEvent.objects.create(member=member, kind=MemberEvent.Kind.EXPORTED, actor=actor,
                               detail={"medical": medical, **({} if actor else {"by": "member"})})
    return data

"""Writes to members, their consent and their medical profile. Each records who did it."""

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from clinics.context import local_today
from members.models import ConsentRecord, MedicalAccessLog, MedicalProfile, Member, MemberEvent, MemberTagEvent
from members.naming import name_initials, name_pinyin, phone_normalize
from members.selectors import member_with_phone

REFERRAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CURRENT_POLICY_VERSION = "2026-01"
EDITABLE_FIELDS = ("name", "phone", "gender", "birthday", "celebrates_lunar_birthday", "email",
                   "source", "tags", "notes")


class DuplicateMemberError(ValidationError):
    """A member with this phone already exists; `existing` points to them."""

    def __init__(self, existing: Member):
        self.existing = existing
        super().__init__(
            {"phone": ValidationError(
                _("This phone number already belongs to member %(name)s (%(number)s)."),
                params={"name": existing.name, "number": existing.member_number},
                code="duplicate_phone")})


@dataclass(frozen=True)
class ConsentInput:
    purpose: str
    granted: bool
    channel: str = ConsentRecord.Channel.FRONT_DESK
    policy_version: str = CURRENT_POLICY_VERSION


def referral_code_generate() -> str:
    while True:
        code = "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(6))
        if not Member.objects.filter(referral_code=code).exists():
            return code


def _member_number_free(candidate: str) -> str:
    """The number itself, or with a suffix when an imported member already has it."""
    number, suffix = candidate, 1
    while Member.objects.filter(member_number=number).exists():
        suffix += 1
        number = f"{candidate}-{suffix}"
    return number


def _check_phone_free(phone: str, *, exclude_pk: int | None = None) -> None:
    existing = member_with_phone(phone, exclude_pk=exclude_pk)
    if existing is not None:
        raise DuplicateMemberError(existing)


def _clean_tags(tags: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        tag = tag.strip().lower()
        if tag:
            seen.setdefault(tag[:40])
    return list(seen)


def _tags_record(member: Member, before: Iterable[str], after: Iterable[str], actor: User | None) -> None:
    """Append the tag history: one event per tag added or removed."""
    before, after = list(before), list(after)
    events = [MemberTagEvent(member=member, tag=tag, action=MemberTagEvent.Action.ADDED, actor=actor)
              for tag in after if tag not in before]
    events += [MemberTagEvent(member=member, tag=tag, action=MemberTagEvent.Action.REMOVED, actor=actor)
               for tag in before if tag not in after]
    MemberTagEvent.objects.bulk_create(events)


@transaction.atomic
def member_tag_add(*, member: Member, actor: User | None, tag: str) -> Member:
    """Add a free tag to an active member (trimmed, lower case, at most 40 characters); adding a
    tag the member has changes nothing."""
    tag = tag.strip().lower()
    if not tag:
        raise ValidationError({"tag": _("Write a tag.")})
    if len(tag) > 40:
        raise ValidationError({"tag": _("Each tag can have at most 40 characters: “%(tag)s”.") % {"tag": tag}})
    member = Member.objects.select_for_update().get(pk=member.pk)
    if not member.is_active:
        raise ValidationError(_("Only an active member can be edited."))
    if tag not in member.tags:
        before = list(member.tags)
        member.tags = [*member.tags, tag]
        member.save(update_fields=["tags", "updated_at"])
        _tags_record(member, before, member.tags, actor)
    return member


@transaction.atomic
def member_tag_remove(*, member: Member, actor: User | None, tag: str) -> Member:
    """Remove a tag from an active member; removing a tag the member lacks changes nothing."""
    tag = tag.strip().lower()
    member = Member.objects.select_for_update().get(pk=member.pk)
    if not member.is_active:
        raise ValidationError(_("Only an active member can be edited."))
    if tag in member.tags:
        before = list(member.tags)
        member.tags = [t for t in member.tags if t != tag]
        member.save(update_fields=["tags", "updated_at"])
        _tags_record(member, before, member.tags, actor)
    return member


def _romanize(member: Member) -> None:
    member.name = member.name.strip()
    member.name_initials = name_initials(member.name)[:100]
    member.name_pinyin = name_pinyin(member.name)[:300]
    member.name_tail = member.name[1:100]
    member.phone_last4 = member.phone[-4:] if member.phone else ""


# Apps that give something to every new member (e.g. a sign-up bonus) register a step here
# from their AppConfig.ready(); steps run inside the registration transaction.
REGISTER_STEPS: list[Callable[[Member, User | None], None]] = []


@transaction.atomic
def member_register(*, name: str, phone: str, actor: User | None,
                    gender: str = Member.Gender.UNKNOWN, birthday: date | None = None,
                    celebrates_lunar_birthday: bool = False, email: str = "",
                    source: str = Member.Source.WALK_IN, referral_code: str = "",
                    tags: Iterable[str] = (), notes: str = "",
                    consents: Iterable[ConsentInput] = (), joined_on: date | None = None,
                    member_number: str = "") -> Member:
    """Register a member. A phone that is already registered is refused, naming the member."""
    phone = phone_normalize(phone)
    _check_phone_free(phone)
    referrer = None
    if referral_code.strip():
        referrer = Member.objects.filter(referral_code=referral_code.strip().upper(),
                                         status=Member.Status.ACTIVE).first()
        if referrer is None:
            raise ValidationError({"referral_code": _("No member has this referral code.")})
        source = Member.Source.REFERRAL
    member = Member(name=name, phone=phone, gender=gender, birthday=birthday,
                    celebrates_lunar_birthday=celebrates_lunar_birthday, email=email.strip().lower(),
                    source=source, referred_by=referrer, tags=_clean_tags(tags), notes=notes,
                    joined_on=joined_on or local_today(),
                    member_number=member_number.strip().upper() or "pending",
                    referral_code=referral_code_generate())
    _romanize(member)
    member.full_clean(exclude=["member_number", "referral_code"])
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError:
        _check_phone_free(phone)
        raise
    if not member_number.strip():
        member.member_number = _member_number_free(f"M{member.pk:06d}")
        member.save(update_fields=["member_number"])
    now = timezone.now()
    for consent in consents:
        consent_record(member=member, actor=actor, at=now, **consent.__dict__)
    MemberEvent.objects.create(member=member, kind=MemberEvent.Kind.REGISTERED, actor=actor,
                               detail={"source": member.source})
    _tags_record(member, [], member.tags, actor)
    for step in REGISTER_STEPS:
        step(member, actor)
    return member


@transaction.atomic
def member_update(*, member: Member, actor: User | None, **changes) -> Member:
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(_("These fields cannot be changed here: %(fields)s"),
                              params={"fields": ", ".join(sorted(unknown))})
    if not member.is_active:
        raise ValidationError(_("Only an active member can be edited."))
    if "phone" in changes:
        changes["phone"] = phone_normalize(changes["phone"])
        _check_phone_free(changes["phone"], exclude_pk=member.pk)
    if "tags" in changes:
        changes["tags"] = _clean_tags(changes["tags"])
    if "email" in changes:
        changes["email"] = changes["email"].strip().lower()
    changed = sorted(field for field, value in changes.items() if getattr(member, field) != value)
    tags_before = list(member.tags)
    for field, value in changes.items():
        setattr(member, field, value)
    _romanize(member)
    member.full_clean()
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError:
        if "phone" in changes:  # taken by a registration or edit that committed meanwhile
            _check_phone_free(changes["phone"], exclude_pk=member.pk)
        raise
    if changed:
        MemberEvent.objects.create(member=member, kind=MemberEvent.Kind.UPDATED, actor=actor,
                                   detail={"fields": changed})
    if "tags" in changed:
        _tags_record(member, tags_before, member.tags, actor)
    return member


@transaction.atomic
def member_archive(*, member: Member, actor: User | None, reason: str = "") -> Member:
    """Archive a member. A staff member must say why; the system (None) may archive without."""
    reason = reason.strip()
    if actor is not None and not reason:
        raise ValidationError({"reason": _("Say why the member is archived.")})
    if member.status != Member.Status.ACTIVE:
        raise ValidationError(_("Only an active member can be archived."))
    member.status = Member.Status.ARCHIVED
    member.save(update_fields=["status", "updated_at"])
    MemberEvent.objects.create(member=member, kind=MemberEvent.Kind.ARCHIVED, actor=actor,
                               detail={"reason": reason})
    return member


@transaction.atomic
def member_restore(*, member: Member, actor: User | None) -> Member:
    if member.status != Member.Status.ARCHIVED:
        raise ValidationError(_("Only an archived member can be restored."))
    member.status = Member.Status.ACTIVE
    member.save(update_fields=["status", "updated_at"])
    MemberEvent.objects.create(member=member, kind=MemberEvent.Kind.RESTORED, actor=actor)
    return member


def _refuse_closed(member: Member) -> None:
    """A merged member's records live on with the survivor; an erased member's data must not
    come back."""
    if member.status == Member.Status.MERGED:
        raise ValidationError(_("This member was merged into another member; record it there."))
    if member.status == Member.Status.ERASED:
        raise ValidationError(_("This member's data was erased; nothing more is recorded for them."))


def consent_record(*, member: Member, purpose: str, granted: bool, channel: str,
                   actor: User | None, policy_version: str = CURRENT_POLICY_VERSION,
                   at: datetime | None = None) -> ConsentRecord:
    """Append a grant or withdrawal; earlier records stay. Archived members may still withdraw."""
    _refuse_closed(member)
    record = ConsentRecord(member=member, purpose=purpose, granted=granted, channel=channel,
                           policy_version=policy_version, recorded_at=at or timezone.now(),
                           recorded_by=actor)
    record.full_clean(exclude=["member", "recorded_by"])
    record.save()
    return record


def _require_medical_access(actor: User) -> None:
    if not actor.has_perm("accounts.view_medical"):
        raise PermissionDenied(_("Only practitioners and managers may see or change medical notes."))


@transaction.atomic
def medical_profile_update(*, member: Member, actor: User, allergies: str | None = None,
                           contraindications: str | None = None,
                           medical_notes: str | None = None) -> MedicalProfile:
    _require_medical_access(actor)
    _refuse_closed(member)
    profile, _created = MedicalProfile.objects.select_for_update().get_or_create(member=member)
    for field, value in (("allergies", allergies), ("contraindications", contraindications),
                         ("medical_notes", medical_notes)):
        if value is not None:
            setattr(profile, field, value.strip())
    profile.has_allergies = bool(profile.allergies)
    profile.has_contraindications = bool(profile.contraindications)
    profile.updated_by = actor
    profile.save()
    MedicalAccessLog.objects.create(member=member, staff=actor, action=MedicalAccessLog.Action.UPDATE)
    return profile


# Other apps move what they own from a duplicate to the survivor (ledger, visits, bookings…).
# Each registers a step here from its AppConfig.ready(); steps run inside the merge transaction.
MERGE_STEPS: list[Callable[[Member, Member, User | None], None]] = []


@transaction.atomic
def member_merge(*, survivor: Member, duplicate: Member, actor: User | None) -> Member:
    """Fold a duplicate registration into the survivor: consents, medical profile, referrals and
    every other app's records move over; the duplicate is kept as a pointer (status merged)."""
    if survivor.pk == duplicate.pk:
        raise ValidationError(_("A member cannot be merged into itself."))
    survivor, duplicate = (Member.objects.select_for_update().get(pk=pk)
                           for pk in (survivor.pk, duplicate.pk))
    if survivor.status != Member.Status.ACTIVE or duplicate.status not in (
            Member.Status.ACTIVE, Member.Status.ARCHIVED):
        raise ValidationError(_("Only active or archived members can be merged."))
    ConsentRecord.objects.filter(member=duplicate).update(member=survivor)
    MedicalAccessLog.objects.filter(member=duplicate).update(member=survivor)
    _merge_medical(survivor, duplicate, actor)
    Member.objects.filter(referred_by=duplicate).exclude(pk=survivor.pk).update(referred_by=survivor)
    if survivor.referred_by_id is None and duplicate.referred_by_id not in (None, survivor.pk):
        survivor.referred_by_id = duplicate.referred_by_id
    tags_before = list(survivor.tags)
    survivor.tags = _clean_tags([*survivor.tags, *duplicate.tags])
    _tags_record(survivor, tags_before, survivor.tags, actor)
    for field in ("birthday", "email"):
        if not getattr(survivor, field) and getattr(duplicate, field):
            setattr(survivor, field, getattr(duplicate, field))
    if duplicate.notes:
        survivor.notes = "\n".join(filter(None, [survivor.notes, duplicate.notes]))
    survivor.joined_on = min(survivor.joined_on, duplicate.joined_on)
    for step in MERGE_STEPS:
        step(survivor, duplicate, actor)
    duplicate.status = Member.Status.MERGED
    duplicate.merged_into = survivor
    duplicate.phone = None
    duplicate.phone_last4 = ""
    duplicate.save()
    survivor.save()
    detail = {"survivor": survivor.member_number, "duplicate": duplicate.member_number}
    MemberEvent.objects.create(member=survivor, kind=MemberEvent.Kind.MERGED, actor=actor, detail=detail)
    MemberEvent.objects.create(member=duplicate, kind=MemberEvent.Kind.MERGED, actor=actor, detail=detail)
    return survivor


def _merge_medical(survivor: Member, duplicate: Member, actor: User | None) -> None:
    dup_profile = MedicalProfile.objects.filter(member=duplicate).first()
    if dup_profile is None:
        return
    profile, _created = MedicalProfile.objects.get_or_create(member=survivor)
    for field in ("allergies", "contraindications", "medical_notes"):
        merged = "\n".join(dict.fromkeys(filter(None, [getattr(profile, field),
                                                      getattr(dup_profile, field)])))
        setattr(profile, field, merged)
    profile.has_allergies = bool(profile.allergies)
    profile.has_contraindications = bool(profile.contraindications)
    profile.updated_by = actor
    profile.save()
    dup_profile.delete()


# Apps that hold personal data about a member pseudonymize it from here on erasure.
ERASE_STEPS: list[Callable[[Member], None]] = []


@transaction.atomic
def member_erase(*, member: Member, actor: User, reason: str) -> Member:
    """Erase a member's personal data on request. The record stays, pseudonymized, so ledger
    totals and KPIs remain intact."""
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the member's data is erased.")})
    if member.status == Member.Status.ERASED:
        raise ValidationError(_("This member has already been erased."))
    member = Member.objects.select_for_update().get(pk=member.pk)
    member.name = _("Erased member %(number)s") % {"number": member.member_number}
    member.phone = None
    member.email = ""
    member.birthday = None
    member.celebrates_lunar_birthday = False
    member.gender = Member.Gender.UNKNOWN
    # The tag history goes with the tags: the erasure event is the record.
    MemberTagEvent.objects.filter(member=member).delete()
    member.tags = []
    member.notes = ""
    member.status = Member.Status.ERASED
    _romanize(member)
    member.save()
    MedicalProfile.objects.filter(member=member).delete()
    for step in ERASE_STEPS:
        step(member)
    MemberEvent.objects.create(member=member, kind=MemberEvent.Kind.ERASED, actor=actor,
                               detail={"reason": reason.strip()})
    return member

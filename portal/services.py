"""Writes made from the portal, each through the service that owns the rule: registration,
profile edits and consent go to members' services, with the member as the source (no staff
actor, consent channel "portal"); the portal itself owns only its settings, the member's
language and erasure requests."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import settings_update
from members.models import ConsentRecord, Member
from members.naming import phone_normalize
from members.selectors import member_export, member_with_phone
from members.services import ConsentInput, consent_record, member_erase, member_register, member_update
from portal.auth import member_sessions_revoke
from portal.models import ErasureRequest, MemberSession, PortalPreference, PortalSettings, SignInCode
from portal.signin import sign_in_code_request

# What a member may change about themselves in the portal. The phone number is their sign-in
# identity, so it changes at the front desk, where staff check who they are.
PROFILE_FIELDS = ("name", "gender", "birthday", "email")
# Purposes a member decides in the portal: marketing per channel and each kind of service notice.
PORTAL_CONSENT_PURPOSES = (
    ConsentRecord.Purpose.MARKETING_SMS, ConsentRecord.Purpose.MARKETING_EMAIL,
    ConsentRecord.Purpose.MARKETING_WECHAT, ConsentRecord.Purpose.NOTICE_APPOINTMENTS,
    ConsentRecord.Purpose.NOTICE_POINTS_EXPIRY, ConsentRecord.Purpose.SURVEYS,
    ConsentRecord.Purpose.NOTICE_PACKAGES,
)
SETTINGS_FIELDS = ("join_enabled", "profile_edit_enabled")


def portal_settings() -> PortalSettings:
    return PortalSettings.objects.filter(pk=1).first() or PortalSettings(pk=1)


@transaction.atomic
def portal_settings_update(*, actor: User | None, **changes) -> PortalSettings:
    row = PortalSettings.objects.select_for_update().get_or_create(pk=1)[0]
    return settings_update(actor=actor, obj=row, changes=changes, fields=SETTINGS_FIELDS)


@dataclass(frozen=True)
class JoinInput:
    name: str
    phone: str
    data_processing: bool
    marketing_sms: bool = False
    birthday: date | None = None
    email: str = ""
    referral_code: str = ""


def member_join(*, data: JoinInput, ip: str | None) -> str:
    """Someone joins from the portal: registered exactly as at the front desk (the same service,
    source "online", consent recorded with the portal as channel), then sent a sign-in code.
    A phone that already belongs to a member is not registered again and is not revealed: that
    member is sent a sign-in code, and the answer is the same. Returns the phone (E.164)."""
    if not portal_settings().join_enabled:
        raise ValidationError(_("This clinic does not take new members online. Please ask at the front desk."))
    if not data.data_processing:
        raise ValidationError({"data_processing": _("To be a member, agree to the processing of your data.")})
    phone = phone_normalize(data.phone)
    with transaction.atomic():
        if member_with_phone(phone) is None:
            consents = [ConsentInput(purpose=ConsentRecord.Purpose.DATA_PROCESSING, granted=True,
                                     channel=ConsentRecord.Channel.PORTAL),
                        ConsentInput(purpose=ConsentRecord.Purpose.MARKETING_SMS, granted=data.marketing_sms,
                                     channel=ConsentRecord.Channel.PORTAL)]
            member_register(name=data.name, phone=phone, actor=None, birthday=data.birthday, email=data.email,
                            source=Member.Source.ONLINE, referral_code=data.referral_code, consents=consents)
        return sign_in_code_request(phone=phone, ip=ip)


def member_profile_update(*, member: Member, **changes) -> Member:
    """The member edits their own details (only PROFILE_FIELDS), through the members service."""
    if not portal_settings().profile_edit_enabled:
        raise ValidationError(_("Your details are changed at the front desk in this clinic."))
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError(_("These details cannot be changed here: %(fields)s")
                              % {"fields": ", ".join(sorted(unknown))})
    return member_update(member=member, actor=None, **changes)


def member_language_set(*, member: Member, language: str) -> PortalPreference:
    if language not in {code for code, _name in settings.LANGUAGES}:
        raise ValidationError({"language": _("This language is not offered.")})
    preference, _created = PortalPreference.objects.update_or_create(member=member,
                                                                     defaults={"language": language})
    return preference


def member_consent_set(*, member: Member, purpose: str, granted: bool) -> ConsentRecord:
    """The member grants or withdraws one purpose in the portal: a new consent record with the
    portal as channel, through the consent service (staff see it on the member page)."""
    if purpose not in PORTAL_CONSENT_PURPOSES:
        raise ValidationError(_("This consent cannot be changed here."))
    return consent_record(member=member, purpose=purpose, granted=granted,
                          channel=ConsentRecord.Channel.PORTAL, actor=None)


def member_data_export(*, member: Member) -> dict:
    """The member downloads their data: the same export staff run, recorded with no staff actor."""
    return member_export(member=member, actor=None)


@transaction.atomic
def erasure_request_create(*, member: Member, reason: str = "") -> ErasureRequest:
    """The member asks the clinic to erase their data; staff decide. One open request at a time."""
    if ErasureRequest.objects.filter(member=member, status=ErasureRequest.Status.PENDING).exists():
        raise ValidationError(_("You have already asked for this; the clinic is looking at it."))
    request = ErasureRequest(member=member, reason=reason.strip()[:2000], requested_at=timezone.now())
    request.full_clean(exclude=["member", "decided_by"])
    request.save()
    return request


@transaction.atomic
def erasure_request_decide(*, request: ErasureRequest, actor: User, erase: bool, note: str) -> ErasureRequest:
    """Staff act on a request: erase the member (the members service, which closes the request
    through its erase step) or decline it, saying why."""
    if not actor.has_perm("members.manage_member"):
        raise PermissionDenied(_("Only owners and managers may erase members."))
    request = ErasureRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != ErasureRequest.Status.PENDING:
        raise ValidationError(_("This request was already decided."))
    if not note.strip():
        raise ValidationError({"note": _("Say why.") if not erase else _("Say what was done, for the record.")})
    if erase:
        member_erase(member=request.member, actor=actor, reason=note)
        request.refresh_from_db()
        request.decided_by = actor
        request.decision_note = note.strip()
        request.save(update_fields=["decided_by", "decision_note"])
        return request
    request.status = ErasureRequest.Status.DECLINED
    request.decided_at = timezone.now()
    request.decided_by = actor
    request.decision_note = note.strip()
    request.save()
    return request


def member_erased_step(member: Member) -> None:
    """When a member is erased by any route, their open request is done and their sessions end."""
    ErasureRequest.objects.filter(member=member, status=ErasureRequest.Status.PENDING).update(
        status=ErasureRequest.Status.DONE, decided_at=timezone.now())
    member_sessions_revoke(member=member)


# How long ended sessions and used or expired codes are kept (they explain recent sign-ins).
KEEP_ENDED = timedelta(days=7)


def portal_records_expired_delete(*, now: datetime | None = None) -> dict[str, int]:
    """Delete member sessions that ended (expired or revoked) and sign-in codes older than
    `KEEP_ENDED`: housekeeping, as for staff sessions."""
    before = (now or timezone.now()) - KEEP_ENDED
    sessions, _by_model = MemberSession.objects.filter(
        Q(expires_at__lt=before) | Q(revoked_at__lt=before)).delete()
    codes, _by_model = SignInCode.objects.filter(created_at__lt=before).delete()
    return {"sessions_deleted": sessions, "codes_deleted": codes}

"""One-time sign-in codes: asked for by phone, sent through messaging, stored hashed, valid
for 5 minutes, single use, 5 tries each; 5 codes per phone and per address an hour. The answers
are the same whether or not the phone belongs to a member."""

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from members.models import Member
from members.naming import phone_normalize
from messaging.models import Channel, Purpose
from messaging.services import message_send
from portal.models import SignInCode

CODE_MINUTES = 5
MAX_ATTEMPTS = 5
LIMIT_WINDOW = timedelta(hours=1)


def codes_per_hour() -> int:
    return getattr(settings, "PORTAL_CODES_PER_HOUR", 5)


class SignInLimited(ValidationError):
    """Too many codes asked for this phone or from this address in the last hour."""

    def __init__(self, wait: timedelta):
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        super().__init__(ngettext(
            "Too many codes were asked for this number or from this network. Try again in %(minutes)d minute.",
            "Too many codes were asked for this number or from this network. Try again in %(minutes)d minutes.",
            minutes) % {"minutes": minutes}, code="limited")


def _code_hash(phone: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"portal-code:{phone}:{code}".encode(),
                    hashlib.sha256).hexdigest()


def _limit_wait(rows, now: datetime) -> timedelta | None:
    """How long until one of the last hour's codes leaves the window, if there are too many."""
    times = sorted(rows.filter(created_at__gt=now - LIMIT_WINDOW).values_list("created_at", flat=True))
    if len(times) < codes_per_hour():
        return None
    return times[-codes_per_hour()] + LIMIT_WINDOW - now


@transaction.atomic
def sign_in_code_request(*, phone: str, ip: str | None, now: datetime | None = None) -> str:
    """Record a code for the phone and, if it is an active member's, send it by SMS. Returns the
    phone in E.164 form. Raises ValidationError for a malformed number and SignInLimited past
    the limits (the same for members and for anyone else)."""
    phone = phone_normalize(phone)
    now = now or timezone.now()
    with connection.cursor() as cursor:  # one request at a time per phone, so the count holds
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"portal-code:{phone}"])
    waits = [_limit_wait(SignInCode.objects.filter(phone=phone), now)]
    if ip:
        waits.append(_limit_wait(SignInCode.objects.filter(ip=ip), now))
    waits = [wait for wait in waits if wait is not None]
    if waits:
        raise SignInLimited(max(waits))
    member = Member.objects.filter(phone=phone, status=Member.Status.ACTIVE).first()
    code = f"{secrets.randbelow(10 ** 6):06d}"
    SignInCode.objects.create(phone=phone, member=member, code_hash=_code_hash(phone, code), ip=ip,
                              created_at=now, expires_at=now + timedelta(minutes=CODE_MINUTES))
    if member is not None:
        message_send(member=member, purpose=Purpose.SIGN_IN_CODE, channel=Channel.SMS,
                     variables={"code": code, "minutes": CODE_MINUTES}, at=now)
    return phone


@dataclass(frozen=True)
class _Outcome:
    member: Member | None
    error: str


def _check(phone: str, code: str, now: datetime) -> _Outcome:
    row = (SignInCode.objects.select_for_update(of=("self",)).select_related("member")
           .filter(phone=phone, used_at__isnull=True, created_at__lte=now).order_by("-created_at", "-id").first())
    if row is None or row.expires_at <= now:
        return _Outcome(None, _("This code has expired or was already used. Ask for a new code."))
    if row.attempts >= MAX_ATTEMPTS:
        return _Outcome(None, _("Too many wrong codes. Ask for a new code."))
    row.attempts += 1
    right = hmac.compare_digest(row.code_hash, _code_hash(phone, code.strip()))
    if right and row.member is not None and row.member.is_active:
        row.used_at = now
        row.save(update_fields=["attempts", "used_at"])
        return _Outcome(row.member, "")
    row.save(update_fields=["attempts"])
    left = MAX_ATTEMPTS - row.attempts
    if left == 0:
        return _Outcome(None, _("Too many wrong codes. Ask for a new code."))
    return _Outcome(None, ngettext("This code is not right. %(left)d try left.",
                                   "This code is not right. %(left)d tries left.", left) % {"left": left})


def sign_in_code_verify(*, phone: str, code: str, now: datetime | None = None) -> Member:
    """The member whose latest code for this phone this is; the code is then used up. A wrong
    code counts as a try (kept even though an error is raised); only the latest code counts."""
    with transaction.atomic():
        outcome = _check(phone, code, now or timezone.now())
    if outcome.member is None:
        raise ValidationError(outcome.error, code="wrong_code")
    return outcome.member

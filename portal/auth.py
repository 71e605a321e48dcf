"""Member sign-in sessions, apart from staff sessions: their own table, their own cookie (name
and path /m/), no django.contrib.auth user. `member_required` guards every signed-in portal
page and sets `request.member`."""

import hashlib
import secrets
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from accounts.client_address import UNKNOWN_ADDRESS, client_address
from members.models import Member
from points.rules import clinic_zone
from portal.models import MemberSession, PortalPreference

COOKIE_NAME = "cl_member"
COOKIE_PATH = "/m/"
SESSION_DAYS = 30


def client_ip(request) -> str | None:
    """The address a request came from, for the sign-in code limits: the same client address as
    staff sign-ins, so the trusted-proxy settings apply (docs/security.md)."""
    address = client_address(request)
    return None if address == UNKNOWN_ADDRESS else address


def member_sign_in_identifier(phone: str) -> str:
    """How a member's code sign-ins are counted by the sign-in guard (accounts.sign_in_guard) and
    shown on the sign-in audit page: apart from staff usernames."""
    return f"member:{phone}"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def member_session_create(*, member: Member, user_agent: str = "") -> tuple[MemberSession, str]:
    """Start a 30-day session for the member; returns the row and the token the cookie carries."""
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    session = MemberSession.objects.create(member=member, key_hash=_token_hash(token), created_at=now,
                                           expires_at=now + timedelta(days=SESSION_DAYS),
                                           user_agent=user_agent[:200])
    return session, token


def member_session_cookie_set(response, token: str) -> None:
    response.set_cookie(COOKIE_NAME, token, max_age=SESSION_DAYS * 24 * 3600, path=COOKIE_PATH,
                        secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Lax")


def member_sign_in(request, response, member: Member) -> MemberSession:
    """Sign the member in on this browser: a new session row and its cookie on `response`."""
    session, token = member_session_create(member=member,
                                           user_agent=request.headers.get("User-Agent", ""))
    member_session_cookie_set(response, token)
    return session


def member_session_get(request) -> MemberSession | None:
    """The live session the request's cookie names, with its member, or None."""
    token = request.COOKIES.get(COOKIE_NAME)
    if not token:
        return None
    return (MemberSession.objects.select_related("member")
            .filter(key_hash=_token_hash(token), revoked_at__isnull=True, expires_at__gt=timezone.now(),
                    member__status=Member.Status.ACTIVE)
            .first())


def member_sign_out(request, response, *, everywhere: bool = False) -> int:
    """End this browser's session (or every session of its member); returns how many ended."""
    response.delete_cookie(COOKIE_NAME, path=COOKIE_PATH, samesite="Lax")
    session = member_session_get(request)
    if session is None:
        return 0
    live = MemberSession.objects.filter(revoked_at__isnull=True)
    live = live.filter(member_id=session.member_id) if everywhere else live.filter(pk=session.pk)
    with transaction.atomic():
        return live.update(revoked_at=timezone.now())


def member_sessions_revoke(*, member: Member) -> int:
    """End every session of the member (e.g. when their data is erased)."""
    return MemberSession.objects.filter(member=member, revoked_at__isnull=True).update(revoked_at=timezone.now())


def member_language(member: Member) -> str:
    """The member's chosen language, else the clinic's (already active for the request)."""
    preference = PortalPreference.objects.filter(member=member).values_list("language", flat=True).first()
    supported = {code for code, _name in settings.LANGUAGES}
    return preference if preference in supported else ""


def language_cookie_set(response, language: str) -> None:
    """The member's language as the browser's language choice for the clinic's other pages too
    (the survey page a portal link opens), as Django's own language switch stores it."""
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
                        path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
                        secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                        samesite=settings.LANGUAGE_COOKIE_SAMESITE)


def signin_url(next_path: str = "") -> str:
    url = reverse("portal:signin")
    return f"{url}?{urlencode({'next': next_path})}" if next_path else url


def safe_next(request, candidate: str | None) -> str:
    """Where to go after signing in: a portal path on this host, else the portal's home."""
    if candidate and candidate.startswith(COOKIE_PATH) and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return candidate
    return reverse("portal:home")


def member_required(view):
    """Only for a signed-in member: sets `request.member` (and `request.member_session`) and
    the member's language (also as the browser's language cookie, so pages outside /m/ such as
    the survey page speak it) and the clinic's time zone for every date and time shown; anyone
    else goes to the sign-in page with `?next=`."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        session = member_session_get(request)
        if session is None:
            response = redirect(signin_url(request.get_full_path()))
            if COOKIE_NAME in request.COOKIES:
                response.delete_cookie(COOKIE_NAME, path=COOKIE_PATH, samesite="Lax")
            return response
        request.member_session = session
        request.member = session.member
        language = member_language(session.member)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        timezone.activate(clinic_zone())
        try:
            response = view(request, *args, **kwargs)
        finally:
            timezone.deactivate()
        response.headers["Cache-Control"] = "private, no-store"
        if (language and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language
                and settings.LANGUAGE_COOKIE_NAME not in response.cookies):
            language_cookie_set(response, language)
        return response

    return wrapper

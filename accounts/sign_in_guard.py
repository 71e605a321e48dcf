"""Protection against password (and code) guessing for every way in, that nobody can turn into
a lockout of a clinic. Every sign-in calls it twice, with the request and the identifier it names:

    sign_in_check(request=request, identifier=username)          # raises SignInRefused
    ... check the password or the one-time code ...
    sign_in_record(request=request, identifier=username, succeeded=ok)

Three counts of failed attempts in the last LOGIN_FAILURE_WINDOW_SECONDS, kept in the database of
the schema being served (a clinic's for its staff and members, public for the console):

- per identifier and client address: LOGIN_FAILURE_LIMIT failures lock that pair only;
- per client address, whatever the identifier: LOGIN_ADDRESS_FAILURE_LIMIT failures slow that
  address down until the oldest counted failure ages out;
- per identifier, from every address: after LOGIN_ACCOUNT_SLOWDOWN_AFTER failures each further
  attempt waits a delay that doubles per failure, up to LOGIN_ACCOUNT_DELAY_MAX_SECONDS, and the
  owners are emailed once per window.

An address the identifier signed in from in the last LOGIN_KNOWN_ADDRESS_DAYS is known: the
address and identifier slow-downs do not apply to it (the pair lock still does), so the front desk
at its usual address is not stopped by guessing elsewhere. Refusals are not counted as failures.
See docs/security.md.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.client_address import client_address
from accounts.models import SignInAlert, SignInAttempt


class SignInRefused(Exception):
    """Too many failed attempts: the attempt is refused without checking its secret."""

    PAIR = "pair"
    ADDRESS = "address"
    ACCOUNT = "account"

    MESSAGES = {
        PAIR: _("Too many failed sign-ins for this account from your network."),
        ADDRESS: _("Too many failed sign-ins from your network."),
        ACCOUNT: _("Too many failed sign-ins for this account; its owners have been told."),
    }

    def __init__(self, *, reason: str, retry_after: int):
        self.reason = reason
        self.retry_after = max(1, retry_after)
        super().__init__(reason, self.retry_after)

    @property
    def message(self) -> str:
        """Why, without the wait (the API says the wait in its own words)."""
        return str(self.MESSAGES[self.reason])

    @property
    def message_with_wait(self) -> str:
        if self.retry_after < 60:
            wait = ngettext("Please try again in %(count)d second.", "Please try again in %(count)d seconds.",
                            self.retry_after) % {"count": self.retry_after}
        else:
            minutes = math.ceil(self.retry_after / 60)
            wait = ngettext("Please try again in %(count)d minute.", "Please try again in %(count)d minutes.",
                            minutes) % {"count": minutes}
        return f"{self.message} {wait}"


@dataclass(frozen=True)
class _Counts:
    pair: int
    address: int
    account: int
    account_last: datetime | None
    known: bool


def identifier_normalize(identifier: str) -> str:
    """Counted case-insensitively, so that "Owner" and "owner" share their counts."""
    return identifier.strip().casefold()[:254]


def failure_window() -> timedelta:
    return timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)


def failures_since(since: datetime):
    return SignInAttempt.objects.filter(succeeded=False, cleared_at__isnull=True, created_at__gt=since)


def _counts(*, identifier: str, address: str, now: datetime) -> _Counts:
    since = now - failure_window()
    known_since = now - timedelta(days=settings.LOGIN_KNOWN_ADDRESS_DAYS)
    failure = Q(succeeded=False, cleared_at__isnull=True, created_at__gt=since)
    this_identifier, this_address = Q(identifier=identifier), Q(address=address)
    known = Q(succeeded=True, created_at__gt=known_since) & this_identifier & this_address
    row = (SignInAttempt.objects.filter(this_identifier | this_address).filter(failure | known)
           .aggregate(pair_failures=Count("id", filter=failure & this_identifier & this_address),
                      address_failures=Count("id", filter=failure & this_address),
                      account_failures=Count("id", filter=failure & this_identifier),
                      account_last=Max("created_at", filter=failure & this_identifier),
                      known_successes=Count("id", filter=known)))
    return _Counts(pair=row["pair_failures"], address=row["address_failures"],
                   account=row["account_failures"], account_last=row["account_last"],
                   known=row["known_successes"] > 0)


def seconds_until_below(failures, limit: int, now: datetime) -> int:
    """Seconds until fewer than `limit` of these failures are inside the window."""
    times = list(failures.order_by("-created_at").values_list("created_at", flat=True)[:limit])
    return math.ceil((times[-1] + failure_window() - now).total_seconds()) if len(times) >= limit else 0


def account_delay(failures: int) -> int:
    """The wait, in seconds, after the last failure once an identifier has this many failures."""
    over = failures - settings.LOGIN_ACCOUNT_SLOWDOWN_AFTER
    if over < 0:
        return 0
    return min(2 ** over, settings.LOGIN_ACCOUNT_DELAY_MAX_SECONDS)


def sign_in_check(*, request, identifier: str) -> None:
    """Raise SignInRefused if this identifier may not try to sign in from this request's client
    now. Call it before checking the password or code, and record the outcome afterwards."""
    identifier = identifier_normalize(identifier)
    address = client_address(request)
    now = timezone.now()
    counts = _counts(identifier=identifier, address=address, now=now)
    since = now - failure_window()
    if counts.pair >= settings.LOGIN_FAILURE_LIMIT:
        wait = seconds_until_below(failures_since(since).filter(identifier=identifier, address=address),
                                    settings.LOGIN_FAILURE_LIMIT, now)
        if wait > 0:
            raise SignInRefused(reason=SignInRefused.PAIR, retry_after=wait)
    if counts.known:
        return
    if counts.address >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
        wait = seconds_until_below(failures_since(since).filter(address=address),
                                    settings.LOGIN_ADDRESS_FAILURE_LIMIT, now)
        if wait > 0:
            raise SignInRefused(reason=SignInRefused.ADDRESS, retry_after=wait)
    delay = account_delay(counts.account)
    if delay and counts.account_last is not None:
        wait = math.ceil((counts.account_last + timedelta(seconds=delay) - now).total_seconds())
        if wait > 0:
            raise SignInRefused(reason=SignInRefused.ACCOUNT, retry_after=wait)


def sign_in_record(*, request, identifier: str, succeeded: bool) -> None:
    """Record the outcome of an attempt that sign_in_check let through. A success clears the
    failures of this identifier from this address; a failure may tell the owners (by email, once
    per window) that the identifier is being guessed from many places."""
    identifier = identifier_normalize(identifier)
    address = client_address(request)
    now = timezone.now()
    SignInAttempt.objects.create(identifier=identifier, address=address, succeeded=succeeded, created_at=now)
    if succeeded:
        SignInAttempt.objects.filter(identifier=identifier, address=address, succeeded=False,
                                     cleared_at__isnull=True).update(cleared_at=now)
        return
    failures = failures_since(now - failure_window()).filter(identifier=identifier).count()
    if failures >= settings.LOGIN_ACCOUNT_SLOWDOWN_AFTER:
        _alert(identifier=identifier, failures=failures, now=now)


def _alert(*, identifier: str, failures: int, now: datetime) -> None:
    from accounts import tasks

    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    window_start = datetime.fromtimestamp(int(now.timestamp()) // window * window, tz=UTC)
    try:
        with transaction.atomic():
            alert = SignInAlert.objects.create(identifier=identifier, window_start=window_start,
                                               failures=failures)
    except IntegrityError:
        return
    tasks.sign_in_alert_send.delay_on_commit(alert.pk)

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from accounts.models import SignInAttempt, SignInLift, StaffEvent, User
from accounts.roles import Role
from accounts.sign_in_guard import SignInRefused, account_delay, failure_window, failures_since, seconds_until_below
from clinics.context import current_clinic


def staff_list(*, include_inactive: bool = True) -> QuerySet[User]:
    users = User.objects.prefetch_related("groups").order_by("-is_active", "username")
    return users if include_inactive else users.filter(is_active=True)


def staff_history(*, user: User) -> QuerySet[StaffEvent]:
    return user.events.select_related("actor")


@dataclass(frozen=True)
class SignInLockout:
    """A lockout in force: of an identifier at one address (`pair`), of an address (`address`),
    or the slow-down of an identifier from every address it is not known at (`account`)."""

    kind: str
    identifier: str
    address: str | None
    failures: int
    last_failure: datetime
    until: datetime


def sign_in_lockout_list() -> list[SignInLockout]:
    """Every lockout in force now, in the current schema, the longest-lasting first."""
    now = timezone.now()
    since = now - failure_window()
    failures = failures_since(since)
    lockouts = []
    groups = [
        (SignInRefused.PAIR, ("identifier", "address"), settings.LOGIN_FAILURE_LIMIT),
        (SignInRefused.ADDRESS, ("address",), settings.LOGIN_ADDRESS_FAILURE_LIMIT),
        (SignInRefused.ACCOUNT, ("identifier",), settings.LOGIN_ACCOUNT_SLOWDOWN_AFTER),
    ]
    for kind, fields, limit in groups:
        rows = (failures.values(*fields).annotate(failures=Count("id"), last=Max("created_at"))
                .filter(failures__gte=limit).order_by("-last")[:100])
        for row in rows:
            if kind == SignInRefused.ACCOUNT:
                until = row["last"] + timedelta(seconds=account_delay(row["failures"]))
            else:
                keys = {field: row[field] for field in fields}
                until = now + timedelta(seconds=seconds_until_below(failures.filter(**keys), limit, now))
            if until > now:
                lockouts.append(SignInLockout(kind=kind, identifier=row.get("identifier", ""),
                                              address=row.get("address"), failures=row["failures"],
                                              last_failure=row["last"], until=until))
    return sorted(lockouts, key=lambda lockout: lockout.until, reverse=True)


def sign_in_failure_list(*, limit: int = 50) -> QuerySet[SignInAttempt]:
    return SignInAttempt.objects.filter(succeeded=False)[:limit]


def sign_in_lift_list(*, limit: int = 20) -> QuerySet[SignInLift]:
    return SignInLift.objects.all()[:limit]


def sign_in_alert_recipients() -> list[str]:
    """Who is told of an identifier guessed from many places: a clinic's active owners, or on
    the platform the active operators."""
    users = User.objects.filter(is_active=True).exclude(email="")
    if current_clinic() is None:
        users = users.filter(is_staff=True)
    else:
        users = users.filter(groups__name=Role.OWNER.value)
    return sorted(set(users.values_list("email", flat=True)))

"""Slows down password guessing: too many failures for one account or one address lock it out
for a while. Counters live in Redis, keyed per clinic by the cache's key function."""

import hashlib

from django.conf import settings
from django.core.cache import cache


def _keys(*, username: str, ip: str) -> list[str]:
    user_digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return [f"login-fail:user:{user_digest}", f"login-fail:ip:{ip}"]


# Many people share one clinic address, so an address may fail more often than one account.
IP_LIMIT_FACTOR = 4


def login_is_locked(*, username: str, ip: str) -> bool:
    user_key, ip_key = _keys(username=username, ip=ip)
    counts = cache.get_many([user_key, ip_key])
    limit = settings.LOGIN_FAILURE_LIMIT
    return counts.get(user_key, 0) >= limit or counts.get(ip_key, 0) >= limit * IP_LIMIT_FACTOR


def login_failure_record(*, username: str, ip: str) -> None:
    for key in _keys(username=username, ip=ip):
        cache.add(key, 0, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS)
        cache.incr(key)


def login_success_record(*, username: str, ip: str) -> None:
    cache.delete(_keys(username=username, ip=ip)[0])

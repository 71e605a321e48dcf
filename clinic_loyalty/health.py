"""Health of the parts the product runs on: database, Redis and Celery workers."""

import contextlib

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views import View

from clinic_loyalty.celery import app as celery_app


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 - any failure is reported, not raised
        return {"ok": False, "error": exc.__class__.__name__}


def _check_redis() -> dict:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
        client.ping()
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": exc.__class__.__name__}


WORKERS_KEY = "health:workers"
WORKERS_FRESH_SECONDS = 15


def _ping_workers() -> dict:
    try:
        replies = celery_app.control.ping(timeout=1.0) or []
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "workers": 0, "error": exc.__class__.__name__}
    return {"ok": bool(replies), "workers": len(replies)}


def _check_workers() -> dict:
    """The workers that answered a ping, at most WORKERS_FRESH_SECONDS old. A ping waits its whole
    second for every worker's reply, so it is not sent on every probe: a load balancer or the
    compose file's healthcheck asking often would otherwise hold a web process a second each time."""
    try:
        known = cache.get(WORKERS_KEY)
    except Exception:  # noqa: BLE001 - Redis down: its own check says so
        known = None
    if known is not None:
        return known
    checked = _ping_workers()
    with contextlib.suppress(Exception):
        cache.set(WORKERS_KEY, checked, WORKERS_FRESH_SECONDS)
    return checked


class HealthView(View):
    """200 when the database and Redis answer (workers are reported, since the web can serve
    without them); 503 otherwise. No authentication, no clinic data."""

    def get(self, request):
        checks = {"database": _check_database(), "redis": _check_redis(), "workers": _check_workers()}
        healthy = checks["database"]["ok"] and checks["redis"]["ok"]
        return JsonResponse({"status": "ok" if healthy else "degraded", "checks": checks},
                            status=200 if healthy else 503)

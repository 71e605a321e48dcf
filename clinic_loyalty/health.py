"""Health of the parts the product runs on: database, Redis and Celery workers."""

import redis
from django.conf import settings
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


def _check_workers() -> dict:
    try:
        replies = celery_app.control.ping(timeout=1.0) or []
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "workers": 0, "error": exc.__class__.__name__}
    return {"ok": bool(replies), "workers": len(replies)}


class HealthView(View):
    """200 when the database and Redis answer (workers are reported, since the web can serve
    without them); 503 otherwise. No authentication, no clinic data."""

    def get(self, request):
        checks = {"database": _check_database(), "redis": _check_redis(), "workers": _check_workers()}
        healthy = checks["database"]["ok"] and checks["redis"]["ok"]
        return JsonResponse({"status": "ok" if healthy else "degraded", "checks": checks},
                            status=200 if healthy else 503)

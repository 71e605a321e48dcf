"""Settings for the test suite: real PostgreSQL and Redis, fast password hashing."""

import uuid
import warnings

from .base import *  # noqa: F403
from .base import DATABASES, env

SECRET_KEY = "test-only-secret-key"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SITE_SCHEME = "http"
EMAIL_BACKEND = env("TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", "test_clinic_loyalty")}
DATABASES["default"]["CONN_MAX_AGE"] = int(env("DB_CONN_MAX_AGE", "0"))
REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # A prefix per run keeps parallel runs against one Redis apart.
        "KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# The static files are served from their source folders (the finders); STATIC_ROOT is filled only
# by collectstatic for production, so WhiteNoise's warning that it does not exist says nothing here.
# This silences it in the benchmarks' gunicorn workers; pytest sets its own warning filters, so
# pyproject.toml says the same for the tests.
warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)
CLINIC_FANOUT_JITTER_SECONDS = 0
# Broker keys and worker broadcasts carry a prefix per run, so parallel runs against one Redis
# never take each other's tasks; the test worker is started with the same prefix.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "global_keyprefix": env("CELERY_BROKER_KEY_PREFIX", f"test-{uuid.uuid4().hex[:8]}:"),
}
FIELD_ENCRYPTION_KEYS = ["dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyYnl0ZXM="]

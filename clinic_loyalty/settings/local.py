"""Development on a laptop: `make run`."""

from .base import *  # noqa: F403
from .base import env, env_list

DEBUG = True
SECRET_KEY = env("SECRET_KEY", "dev-only-insecure-key-change-me")
SITE_SCHEME = env("SITE_SCHEME", "http")
SITE_PORT = env("SITE_PORT", "8000")
# Outgoing mail is printed to the console unless an SMTP server is configured.
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
CLINIC_FANOUT_JITTER_SECONDS = int(env("CLINIC_FANOUT_JITTER_SECONDS", "5"))
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS") or ["ZGV2LW9ubHktZW5jcnlwdGlvbi1rZXktMzJieXRlcyE="]

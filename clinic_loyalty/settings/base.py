"""Settings shared by every environment; each value that differs comes from the environment."""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = env("SECRET_KEY", "")
DEBUG = False

# The public host serves the platform console; every clinic is served at <slug>.<BASE_DOMAIN>.
BASE_DOMAIN = env("BASE_DOMAIN", "localhost")
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}", *env_list("ALLOWED_HOSTS")]

SHARED_APPS = [
    "django_tenants",
    "clinics",
    "accounts",
    "jobs",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "rest_framework.authtoken",
    "idempotency",
    "accounts",
    "frontdesk",
    "manager",
    "members",
    "visits",
    "tiers",
    "points",
    "checkout",
    "packages",
    "imports",
    "appointments",
    "campaigns",
    "messaging",
    "portal",
    "insights",
    "feedback",
    "audit",
    "segments",
    "storedvalue",
    "recommendations",
]

INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

PUBLIC_SCHEMA_NAME = "public"
TENANT_MODEL = "clinics.Clinic"
TENANT_DOMAIN_MODEL = "clinics.Domain"
# New clinics are copied from this migrated template schema, so provisioning time does not
# grow with the number of migrations.
TENANT_BASE_SCHEMA = "clinic_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
PUBLIC_SCHEMA_URLCONF = "clinic_loyalty.urls_public"
ROOT_URLCONF = "clinic_loyalty.urls_tenants"
DEFAULT_NOT_FOUND_TENANT_VIEW = "clinics.platform.views.UnknownClinicView"
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
# Set the search path once per schema change instead of on every cursor.
TENANT_LIMIT_SET_CALLS = True
# migrate_platform migrates (and re-installs the defaults of) clinics in this many parallel
# processes; each holds one database connection (docs/operations.md).
MIGRATE_PROCESSES = int(env("MIGRATE_PROCESSES", "2"))

MIDDLEWARE = [
    "clinics.middleware.ClinicTenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "clinics.middleware.ClinicLanguageMiddleware",
    "clinics.middleware.ClinicSuspendedMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "clinics.middleware.SessionBoundToClinicMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinics.context_processors.clinic",
            ],
        },
    },
]

WSGI_APPLICATION = "clinic_loyalty.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clinic_loyalty"),
        engine="django_tenants.postgresql_backend",
        conn_max_age=int(env("DB_CONN_MAX_AGE", "60")),
    )
}
# Behind a pooler in transaction mode a server-side cursor (QuerySet.iterator()) may outlive the
# transaction's server connection; set DB_DISABLE_SERVER_SIDE_CURSORS then (docs/operations.md).
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("DB_DISABLE_SERVER_SIDE_CURSORS", False)
# The checkout's statements and every request's clinic and token lookups bound by PostgreSQL and
# kept prepared (clinic_loyalty.database.statements_prepared); everything else as Django sends it.
# Turn off behind a pooler in transaction mode (docs/operations.md, "Database settings").
DATABASE_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", "cl"),
        # Keys carry the clinic's schema, so no clinic can read another's cached data.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.StaffBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "accounts:login"
# Sign-in protection (accounts/sign_in_guard.py, docs/security.md). Failures count for
# LOGIN_FAILURE_WINDOW_SECONDS: LOGIN_FAILURE_LIMIT of them lock one username at one address,
# LOGIN_ADDRESS_FAILURE_LIMIT slow one address down whatever the username, and past
# LOGIN_ACCOUNT_SLOWDOWN_AFTER for one username from anywhere, each attempt waits a doubling delay
# (at most LOGIN_ACCOUNT_DELAY_MAX_SECONDS) and the owners are emailed.
LOGIN_FAILURE_LIMIT = int(env("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_FAILURE_WINDOW_SECONDS = int(env("LOGIN_FAILURE_WINDOW_SECONDS", "900"))
LOGIN_ADDRESS_FAILURE_LIMIT = int(env("LOGIN_ADDRESS_FAILURE_LIMIT", "20"))
LOGIN_ACCOUNT_SLOWDOWN_AFTER = int(env("LOGIN_ACCOUNT_SLOWDOWN_AFTER", "10"))
LOGIN_ACCOUNT_DELAY_MAX_SECONDS = int(env("LOGIN_ACCOUNT_DELAY_MAX_SECONDS", "60"))
# An address a username signed in from this recently is not slowed down for it.
LOGIN_KNOWN_ADDRESS_DAYS = int(env("LOGIN_KNOWN_ADDRESS_DAYS", "30"))
# How long failed sign-ins are kept for the audit page.
SIGN_IN_RECORD_DAYS = int(env("SIGN_IN_RECORD_DAYS", "7"))
# The client's address (accounts/client_address.py): by default the connection's own. Behind
# reverse proxies, name them (addresses or networks, comma-separated) or say how many there are.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
TRUSTED_PROXY_COUNT = int(env("TRUSTED_PROXY_COUNT", "0"))
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24 * 3

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Clinic Loyalty <no-reply@localhost>")

# Public URL scheme and port for links sent in emails (invitations, password resets).
SITE_SCHEME = env("SITE_SCHEME", "https")
SITE_PORT = env("SITE_PORT", "")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.backends.StaffTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "clinic_loyalty.openapi.AutoSchema",
    # The API reads JSON bodies only (the CSV imports read multipart/form-data); the schema says so.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "clinic_loyalty.api_errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Clinic Loyalty API",
    "DESCRIPTION": "Membership and loyalty management for medical-aesthetics clinics.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Tags and operation ids start after /api/v1/: `members`, `members_search`, not `v1_…`.
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Several models have a `kind`, `source` or `status` of their own; each gets a named enum.
    "ENUM_NAME_OVERRIDES": {
        "BirthdayTimingEnum": "campaigns.models.BirthdayTiming",
        "StaffEventKindEnum": "accounts.models.StaffEvent.Kind",
        "PredictiveClvStatusEnum": "insights.customer_value.PANEL_STATUSES",
        "ClinicStatusEnum": "clinics.models.Clinic.Status",
        "ImportRunKindEnum": "imports.models.ImportRun.Kind",
        "ImportRunStatusEnum": "imports.models.ImportRun.Status",
        "MemberSourceEnum": "members.models.Member.Source",
        "MemberStatusEnum": "members.models.Member.Status",
        "EntryKindEnum": "points.models.Entry.Kind",
        "PointsAdjustmentStatusEnum": "points.models.PointsAdjustment.Status",
        "CouponTemplateKindEnum": "points.models.CouponTemplate.Kind",
        "CouponStatusEnum": "points.models.Coupon.Status",
        "CouponSourceEnum": "points.models.Coupon.Source",
        "RewardKindEnum": "points.models.Reward.Kind",
        "RedemptionStatusEnum": "points.models.Redemption.Status",
        "TierChangeKindEnum": "tiers.models.TierChange.Kind",
        "CatalogueItemKindEnum": "visits.models.CatalogueItem.Kind",
        "VisitSourceEnum": "visits.models.Visit.Source",
        "BookingStatusEnum": "appointments.models.Booking.Status",
        "BookingChannelEnum": "appointments.models.Booking.Channel",
        "ConsentChannelEnum": "members.models.ConsentRecord.Channel",
        "BookingPartyEnum": "appointments.models.Booking.Party",
        "ReminderStatusEnum": "appointments.models.Reminder.Status",
        "ScheduleExceptionKindEnum": "appointments.models.ScheduleException.Kind",
        "ResourceTypeKindEnum": "appointments.models.ResourceType.Kind",
        "MessageChannelEnum": "messaging.models.Channel",
        "MessagePurposeEnum": "messaging.models.Purpose",
        "PurposeEnum": "members.models.ConsentRecord.Purpose",
        "MessageStatusEnum": "messaging.models.Message.Status",
        "SurveyStatusEnum": "feedback.models.Survey.Status",
        "FollowUpKindEnum": "feedback.models.FollowUpTask.Kind",
        "FollowUpStatusEnum": "feedback.models.FollowUpTask.Status",
        "FollowUpOutcomeKindEnum": "feedback.models.FollowUpOutcome.Kind",
        "MethodEnum": "visits.models.Payment.Method",
        "StoredValuePaymentMethodEnum": "storedvalue.models.PaymentMethod",
        "RefundRuleEnum": "packages.models.PackageSettings.RefundRule",
    },
}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
# A request that queues a task after its commit waits at most about a second for an
# unreachable broker (docs/operations.md "Redis").
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5,
                                    "interval_max": 0.5}
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Upper bound, in seconds, of the random delay spread over per-clinic fan-out.
CLINIC_FANOUT_JITTER_SECONDS = int(env("CLINIC_FANOUT_JITTER_SECONDS", "60"))
# Per-clinic jobs go through the dispatcher; an hourly entry with `local_hour` runs a job once a
# day at that hour of each clinic's own time zone.
CELERY_BEAT_SCHEDULE = {
    "sessions-clear-clinics": {
        "task": "clinics.tasks.clinics_fan_out",
        "schedule": crontab(minute=0),
        "args": ("accounts.tasks.sessions_clear",),
        "kwargs": {"local_hour": 4},
    },
    "sessions-clear-platform": {
        "task": "accounts.tasks.sessions_clear",
        "schedule": crontab(hour=20, minute=0),
    },
    "sign-in-attempts-prune-clinics": {
        "task": "clinics.tasks.clinics_fan_out",
        "schedule": crontab(minute=15),
        "args": ("accounts.tasks.sign_in_attempts_prune",),
        "kwargs": {"local_hour": 4},
    },
    "sign-in-attempts-prune-platform": {
        "task": "accounts.tasks.sign_in_attempts_prune",
        "schedule": crontab(hour=20, minute=15),
    },
    "portal-records-clear": {
        "task": "clinics.tasks.clinics_fan_out",
        "schedule": crontab(minute=10),
        "args": ("portal.tasks.portal_records_clear",),
        "kwargs": {"local_hour": 4},
    },
    "points-expire": {
        "task": "clinics.tasks.clinics_fan_out",
        "schedule": crontab(minute=5),
        "args": ("points.tasks.points_expire",),
        "kwargs": {"local_hour": 0},
    },
    "tiers-evaluate": {
        "task": "clinics.tasks.clinics_fan_out",
        "schedule": crontab(minute=0),
        "args": ("tiers.tasks.tiers_evaluate_nightly",),
        "kwargs": {"local_hour": 2},
    },
    "insights-rollups": {
        "task": "clinics.tasks.clinics_fan_out",
        "schedule": crontab(minute=25),
        "args": ("insights.tasks.rollups_nightly",),
        "kwargs": {"local_hour": 2},
    },
    "customer-value-fit": {
        "task": "clinics.tasks.clinics_fan_out",
        "schedule": crontab(minute=20),
        "args": ("insights.tasks.customer_value_fit_nightly",),
        "kwargs": {"local_hour": 3},
    },
    "member-scores": {
        "task": "clinics.tasks.clinics_fan_out",
        "schedule": crontab(minute=40),
        "args": ("segments.tasks.member_scores_nightly",),
        "kwargs": {"local_hour": 3},
    },
    "recommendations-learn": {
        "task": "clinics.tasks.clinics_fan_out",
        "schedule": crontab(minute=40),
        "args": ("recommendations.tasks.recommendations_learn_nightly",),
        "kwargs": {"local_hour": 3},
    },
    # Every hour in every clinic: the birthday campaigns give at their own send time (09:00 unless
    # changed). An older beat entry with local_hour=9 still works for send times up to 09:00.
    "birthday-offers": {
        "task": "clinics.tasks.clinics_fan_out",
        "schedule": crontab(minute=0),
        "args": ("campaigns.tasks.birthday_offers_grant",),
    },
    "campaigns-run": {
        "task": "clinics.tasks.clinics_fan_out",
        "schedule": crontab(minute=0),
        "args": ("campaigns.tasks.campaigns_run_due",),
    },
    "campaign-results": {
        "task": "clinics.tasks.clinics_fan_out",
        "schedule": crontab(minute=40),
        "args": ("campaigns.tasks.campaign_results_due",),
        "kwargs": {"local_hour": 4},
    },
    "points-expiry-warnings": {
        "task": "clinics.tasks.clinics_fan_out",
        "schedule": crontab(minute=30),
        "args": ("points.tasks.points_expiry_warn",),
        "kwargs": {"local_hour": 10},
    },
    "package-expiry-warnings": {
        "task": "clinics.tasks.clinics_fan_out",
        "schedule": crontab(minute=35),
        "args": ("packages.tasks.package_expiry_warn",),
        "kwargs": {"local_hour": 10},
    },
    "messages-deliver": {
        "task": "clinics.tasks.clinics_fan_out",
        "schedule": crontab(minute="*/5"),
        "args": ("messaging.tasks.messages_deliver_due",),
    },
    "appointment-reminders": {
        "task": "clinics.tasks.clinics_fan_out",
        "schedule": crontab(minute="*/5"),
        "args": ("appointments.tasks.appointment_reminders_send",),
    },
    "feedback-surveys": {
        "task": "clinics.tasks.clinics_fan_out",
        "schedule": crontab(minute="*/10"),
        "args": ("feedback.tasks.feedback_surveys_send",),
    },
    "recall-followups": {
        "task": "clinics.tasks.clinics_fan_out",
        "schedule": crontab(minute=15),
        "args": ("feedback.tasks.recall_followups_create",),
        "kwargs": {"local_hour": 8},
    },
}

# The shared secret the SMS provider signs its reply webhook with (POST
# /api/v1/campaigns/sms-replies/ on the clinic's host, see docs/api.md). Empty: the webhook
# refuses every request (403).
SMS_INBOUND_SECRET = env("SMS_INBOUND_SECRET", "")

# The backend of each messaging channel (see messaging/backends). The development default
# records messages in the message log only; production sets SMS_BACKEND to
# messaging.backends.http.SmsHttpBackend with the provider's URL and key.
MESSAGING_BACKENDS = {
    "sms": {
        "BACKEND": env("SMS_BACKEND", "messaging.backends.log.LogBackend"),
        "OPTIONS": {"url": env("SMS_API_URL", ""), "api_key": env("SMS_API_KEY", ""),
                    "timeout": float(env("SMS_API_TIMEOUT", "5")), "retries": 2}
        if env("SMS_API_URL", "") else {},
    },
    "email": {"BACKEND": env("MESSAGING_EMAIL_BACKEND", "messaging.backends.email.EmailBackend")},
    "wechat": {
        "BACKEND": env("WECHAT_BACKEND", "messaging.backends.log.LogBackend"),
        "OPTIONS": {"url": env("WECHAT_API_URL", ""), "api_key": env("WECHAT_API_KEY", "")}
        if env("WECHAT_API_URL", "") else {},
    },
}

# Key for encrypting medical notes at rest (Fernet, url-safe base64, 32 bytes). Several keys,
# comma-separated, allow rotation: the first encrypts, all decrypt.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")

# Every log line names the clinic schema it was written in ("public" on the platform), with
# django-tenants' filter.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"clinic": {"()": "django_tenants.log.TenantContextFilter"}},
    "formatters": {"clinic": {"format": "[%(schema_name)s] %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["clinic"], "formatter": "clinic"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}

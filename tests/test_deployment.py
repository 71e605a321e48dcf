"""The deployment files (Dockerfile, docker-compose.yml) name only things that exist, and the
production settings pass Django's deployment checks. Neither Docker nor a database is needed."""

import importlib
import importlib.util
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import yaml
from celery import Celery
from celery.app.utils import find_app
from cryptography.fernet import Fernet
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
DEPLOYMENT_TEXT = f"{DOCKERFILE}\n{COMPOSE_TEXT}"
APP_SERVICES = ("migrate", "web", "worker", "beat")
# Separators between words, both in shell form and in exec form (["python", "manage.py", ...]).
SEP = r"""["',\s]+"""


def named(pattern: str) -> set[str]:
    return set(re.findall(pattern, DEPLOYMENT_TEXT))


def test_every_long_running_service_has_a_health_check():
    for name in ("web", "worker", "beat", "pgbouncer", "postgres", "redis"):
        assert name in SERVICES, name
        assert SERVICES[name].get("healthcheck", {}).get("test"), name


def test_the_app_starts_only_once_the_platform_is_migrated():
    assert SERVICES["migrate"]["command"] == ["python", "manage.py", "migrate_platform"]
    assert SERVICES["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        assert SERVICES[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        for backing in ("pgbouncer", "redis"):
            assert SERVICES[name]["depends_on"][backing] == {"condition": "service_healthy"}
    for backing in ("postgres", "redis"):
        assert SERVICES["migrate"]["depends_on"][backing] == {"condition": "service_healthy"}
    assert SERVICES["pgbouncer"]["depends_on"]["postgres"] == {"condition": "service_healthy"}


def database_url(service: str) -> str:
    return SERVICES[service]["environment"]["DATABASE_URL"]


def default(value: str) -> int:
    """The default of a compose variable such as ${CELERY_CONCURRENCY:-4}, or the plain number."""
    found = re.fullmatch(r"\$\{\w+:-(\d+)\}|(\d+)", str(value))
    assert found, value
    return int(found.group(1) or found.group(2))


def test_the_app_reaches_postgres_through_pgbouncer_in_session_mode_and_migrate_directly():
    pgbouncer = SERVICES["pgbouncer"]["environment"]
    # django-tenants' SET search_path is session state: transaction pooling would hand it to
    # another client's next transaction (docs/operations.md).
    assert pgbouncer["POOL_MODE"] == "session"
    # a client's prepared statements (clinic_loyalty.database) leave with it
    assert pgbouncer["SERVER_RESET_QUERY"] == "DISCARD ALL"
    assert pgbouncer["DB_HOST"] == "postgres"
    assert pgbouncer["DB_NAME"] == "clinic_loyalty"
    for name in ("web", "worker", "beat"):
        assert f"@pgbouncer:{pgbouncer['LISTEN_PORT']}/clinic_loyalty" in database_url(name), name
        # Each request and task gives its connection back, so the pool serves every thread.
        assert SERVICES[name]["environment"]["DB_CONN_MAX_AGE"] == "0", name
    assert "@postgres:5432/clinic_loyalty" in database_url("migrate")


def test_the_connection_budget_fits_postgres_max_connections():
    command = SERVICES["postgres"]["command"]
    max_connections = int(next(arg.split("=")[1] for arg in command if arg.startswith("max_connections=")))
    pgbouncer = SERVICES["pgbouncer"]["environment"]
    server_side = (int(pgbouncer["DEFAULT_POOL_SIZE"]) + int(pgbouncer["RESERVE_POOL_SIZE"])
                   + default(SERVICES["migrate"]["environment"]["MIGRATE_PROCESSES"]))
    # PostgreSQL keeps 3 for superusers; leave 10 more for backups, psql and monitoring.
    assert server_side + 3 + 10 <= max_connections
    gunicorn_workers = int(re.search(r'"--workers",\s*"(\d+)"', DOCKERFILE).group(1))
    threads = re.search(r'"--threads",\s*"(\d+)"', DOCKERFILE)
    web = gunicorn_workers * (int(threads.group(1)) if threads else 1)
    worker = SERVICES["worker"]["command"]
    celery = default(worker[worker.index("--concurrency") + 1])
    clients = web + celery + 1  # beat
    # Every process that may hold a connection at once gets one without waiting, even at
    # several times this many web and worker containers.
    assert clients * 4 <= int(pgbouncer["MAX_CLIENT_CONN"])
    assert clients <= int(pgbouncer["DEFAULT_POOL_SIZE"])


def test_the_app_services_get_production_settings_and_every_secret_from_the_environment():
    for name in APP_SERVICES:
        environment = SERVICES[name]["environment"]
        assert environment["DJANGO_SETTINGS_MODULE"] == "clinic_loyalty.settings.production"
        for key in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "BASE_DOMAIN", "ALLOWED_HOSTS",
                    "FIELD_ENCRYPTION_KEYS", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER",
                    "EMAIL_HOST_PASSWORD", "EMAIL_USE_TLS", "DEFAULT_FROM_EMAIL"):
            assert key in environment, (name, key)
        assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?"), "no default secret key"


def test_every_settings_module_named_exists():
    modules = named(r"""DJANGO_SETTINGS_MODULE[=:]["'\s]*([\w.]+)""")
    assert modules
    assert {module for module in modules if importlib.util.find_spec(module) is None} == set()


def test_every_management_command_named_exists():
    commands = named(rf"manage\.py{SEP}(\w+)")
    assert {"migrate_platform", "collectstatic"} <= commands
    assert commands - set(get_commands()) == set()


def test_every_celery_app_named_is_importable():
    apps = named(rf"celery{SEP}-A{SEP}([\w.]+)")
    assert apps
    for app in apps:
        assert isinstance(find_app(app), Celery), app


def test_gunicorn_serves_an_importable_wsgi_application():
    targets = named(rf"gunicorn{SEP}([\w.]+:\w+)")
    assert targets == {"clinic_loyalty.wsgi:application"}
    module, attribute = next(iter(targets)).split(":")
    assert callable(getattr(importlib.import_module(module), attribute))


def test_the_image_runs_as_an_unprivileged_user():
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE, flags=re.MULTILINE)
    assert users
    assert users[-1] not in {"root", "0"}


def test_production_settings_pass_the_deployment_checks():
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "clinic_loyalty.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "BASE_DOMAIN": "clinics.example.com",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": "postgres://clinic_loyalty:secret@postgres:5432/clinic_loyalty",
        "REDIS_URL": "redis://redis:6379/0",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout

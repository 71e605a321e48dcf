"""Every log line names the clinic schema it was written in: on the web (`settings.LOGGING` with
django-tenants' `TenantContextFilter`) and in Celery workers, task logs included. Run in a fresh
interpreter, because configuring the worker's logging replaces the root logger's handlers."""

import os
import subprocess
import sys

from django.conf import settings

SCRIPT = """
import logging
import django
django.setup()
from celery.signals import setup_logging
from celery.utils.log import get_task_logger
from django_tenants.utils import schema_context
from clinic_loyalty.celery import app, logging_configure
if {without_hook}:
    setup_logging.disconnect(logging_configure)
app.log.setup(loglevel="INFO")  # what a worker does when it starts
logging.getLogger("startup").info("outside any clinic")
with schema_context("{schema}"):
    get_task_logger("points.tasks").info("a task line")
    logging.getLogger("django.request").warning("a web line")
"""


def worker_log(*, schema: str, without_hook: bool = False) -> list[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "clinic_loyalty.settings.test", "LOG_LEVEL": "INFO"}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", SCRIPT.format(schema=schema, without_hook=without_hook)],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=True)
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_worker_and_task_log_lines_start_with_the_clinic_schema():
    lines = worker_log(schema="clinic_logging_probe")
    assert "[public] INFO startup: outside any clinic" in lines
    assert "[clinic_logging_probe] INFO points.tasks: a task line" in lines
    assert "[clinic_logging_probe] WARNING django.request: a web line" in lines


def test_without_the_hook_celery_would_log_without_the_schema():
    """The control: Celery's own logging set-up drops the schema, so the hook is what adds it."""
    lines = worker_log(schema="clinic_logging_probe", without_hook=True)
    task_lines = [line for line in lines if "a task line" in line]
    assert task_lines
    assert not any("clinic_logging_probe" in line for line in lines)

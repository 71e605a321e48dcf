"""The Celery app. Every task runs in the schema of the clinic it was sent from: the sender's
schema travels in the message headers (tenant-schemas-celery) and the worker switches to it
before the task starts, and back after it ends."""

import functools
import logging
import logging.config
import os
from typing import Any

from celery.signals import setup_logging
from django.conf import settings
from django.db import connection, transaction
from django.utils import translation
from kombu.exceptions import OperationalError
from tenant_schemas_celery.app import CeleryApp
from tenant_schemas_celery.task import TenantTask, headers_with_schema

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_loyalty.settings.local")

logger = logging.getLogger(__name__)


class ClinicTask(TenantTask):
    """Base of every task. Tasks queued to run after a commit carry the schema current when they
    were queued, not the one current when the transaction commits (by then a `schema_context`
    may have ended). A task runs in its clinic's language."""

    abstract = True

    def delay_on_commit(self, *args: Any, **kwargs: Any) -> None:
        self.apply_async_on_commit(args, kwargs)

    def apply_async_on_commit(self, args: tuple | None = None, kwargs: dict | None = None,
                              **options: Any) -> None:
        options["headers"] = headers_with_schema(options.get("headers"))
        transaction.on_commit(functools.partial(self._send_after_commit, args, kwargs, **options))

    def _send_after_commit(self, args: tuple | None, kwargs: dict | None, **options: Any) -> None:
        """The transaction has committed: a broker that cannot be reached must not turn the
        request into an error. What the task would have done stays in PostgreSQL for the jobs
        that poll it (messages due, reminders), so it is logged, not raised."""
        try:
            self.apply_async(args, kwargs, **options)
        except OperationalError:
            logger.exception("The broker is unreachable; %s was not queued.", self.name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        language = getattr(connection.tenant, "language", None) or settings.LANGUAGE_CODE
        with translation.override(language):
            return super().__call__(*args, **kwargs)


@setup_logging.connect
def logging_configure(loglevel: int | str | None = None, **kwargs: Any) -> None:
    """Workers log as the web does, through `settings.LOGGING`: every line, task logs included,
    starts with the schema of the clinic it was written in (django-tenants' `TenantContextFilter`).
    A receiver of this signal keeps Celery from replacing the root logger's handlers with its own
    format. The worker's `--loglevel` still sets the level."""
    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


class ClinicCeleryApp(CeleryApp):
    task_cls = ClinicTask


app = ClinicCeleryApp("clinic_loyalty")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["clinics.platform"])  # the per-clinic dispatcher

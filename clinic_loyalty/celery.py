"""The Celery app. Every task runs in the schema of the clinic it was sent from: the sender's
schema travels in the message headers (tenant-schemas-celery) and the worker switches to it."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_loyalty.settings.local")

app = CeleryApp("clinic_loyalty")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

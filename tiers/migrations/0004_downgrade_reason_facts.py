"""Moves down recorded before the reason was worded on display: their metrics gain the day the
member fell short and the grace period, read from the recorded reason (in English or Chinese,
with the day as YYYY-MM-DD), so that staff read them in their own language like new ones. A
reason these cannot be read from stays as it is and is shown as written."""

import re
from datetime import date

from django.db import migrations

DAY = re.compile(r"(\d{4}-\d{2}-\d{2})")
GRACE = re.compile(r"(\d+)(?:-day| ?天)")


def forwards(apps, schema_editor):
    TierChange = apps.get_model("tiers", "TierChange")
    changed = []
    for change in TierChange.objects.filter(kind="downgrade").only("id", "reason", "metrics").iterator():
        metrics = change.metrics or {}
        if metrics.get("below_since"):
            continue
        day, grace = DAY.search(change.reason), GRACE.search(change.reason)
        if day is None or grace is None:
            continue
        try:
            date.fromisoformat(day.group(1))
        except ValueError:
            continue
        change.metrics = {**metrics, "below_since": day.group(1), "grace_days": int(grace.group(1))}
        changed.append(change)
    TierChange.objects.bulk_update(changed, ["metrics"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("tiers", "0003_clinic_config_stamp")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

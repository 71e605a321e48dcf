"""The test settings plus bench.fleet_app, for the fleet benchmark's real migrations.
BENCH_FLEET_MIGRATIONS=first stops its migrations at 0001 (a new table), =second at 0002 (a new
column with a default); otherwise 0003 (another) follows."""

from clinic_loyalty.settings.test import *  # noqa: F403
from clinic_loyalty.settings.test import SHARED_APPS, TENANT_APPS, env

TENANT_APPS = [*TENANT_APPS, "bench.fleet_app"]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]
STEP = env("BENCH_FLEET_MIGRATIONS", "")
MIGRATION_MODULES = {
    "fleet_app": f"bench.fleet_app.migrations_{STEP}" if STEP in {"first", "second"} else "bench.fleet_app.migrations",
}

"""What every database connection of the app sets when it opens: PostgreSQL's JIT compilation off.

JIT compiles a query's expressions when its estimated cost passes `jit_above_cost`, and the
estimates of the KPI panels, segment counts and campaign launches at 100,000 members pass it
although they run in a fraction of a second: compiling took longer than running them. Worse,
after a session has JIT-compiled a large query, its later queries can run slower, JIT or not
(measured: the response-rate count of a year, 14 ms before and 27 ms after the KPI summary's
hand-written anchor ran with JIT in the same session; a trivial compiled query did not do it).
With connections kept open (CONN_MAX_AGE) or pooled, one heavy query would slow a connection down
for good. So JIT is off for the whole session, set once per connection (through PgBouncer in
session pooling too: the pooler's reset clears it, the next client sets it again).
docs/operations.md, "Database settings"."""

from django.db.backends.signals import connection_created


def connection_prepare(sender, connection, **kwargs) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET jit = off")


def connection_setup_install() -> None:
    """Called once from the clinics app's ready()."""
    connection_created.connect(connection_prepare, dispatch_uid="clinic_loyalty.database.connection_prepare")

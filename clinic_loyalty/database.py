"""What every database connection of the app sets when it opens: PostgreSQL's JIT compilation off,
and, unless DB_PREPARED_STATEMENTS is off, the checkout's statements bound by the server and kept
prepared.

JIT compiles a query's expressions when its estimated cost passes `jit_above_cost`, and the
estimates of the KPI panels, segment counts and campaign launches at 100,000 members pass it
although they run in a fraction of a second: compiling took longer than running them. Worse,
after a session has JIT-compiled a large query, its later queries can run slower, JIT or not
(measured: the response-rate count of a year, 14 ms before and 27 ms after the KPI summary's
hand-written anchor ran with JIT in the same session; a trivial compiled query did not do it).
With connections kept open (CONN_MAX_AGE) or pooled, one heavy query would slow a connection down
for good. So JIT is off for the whole session, set once per connection (through PgBouncer in
session pooling too: the pooler's reset clears it, the next client sets it again).

Prepared statements: inside `statements_prepared()` (the checkout, through its API and the desk's
checkout page, and every request's clinic and API token lookups) PostgreSQL binds the parameters
and a statement run five times on a connection is kept prepared, so PostgreSQL parses and plans it
once per connection instead of on every run. A checkout repeats some twenty statements, each a
lookup by key or a write. A prepared statement is parsed again when the search path changes, so a
clinic's statements read its own schema. PostgreSQL binds parameters only in queries and data
changes; the few utility statements that take values (`COMMENT ON … IS %s`) have them written in.

Why only there: after five runs PostgreSQL may keep one generic plan for a prepared statement,
made without knowing the values. With every statement prepared, the campaign runs' batched
statements (arrays of thousands of members, planned for a few) ran twice as long, and in one
A/B run the KPI summary of 12 months and a segment count ran slower (386 against 301 ms, 337
against 287 ms). Everywhere else the values are written into the SQL by psycopg, as Django does
by default, and each statement is planned for them. Even inside, a statement with more than
LARGE_PARAMS values, or with an array of more than LARGE_ARRAY, is sent that way and never
prepared (binding on the server is also limited to 65,535 values per statement, which a bulk
insert can pass).
docs/operations.md, "Database settings"."""

import re
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.signals import connection_created
from psycopg import ClientCursor

PREPARE_THRESHOLD = 5
LARGE_PARAMS = 500
LARGE_ARRAY = 50
_BINDABLE = re.compile(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH|VALUES|TABLE)\b", re.IGNORECASE)


def _one_query(query: str) -> bool:
    """Whether `query` is one query or data change, which PostgreSQL can bind and prepare (a `;`
    anywhere but at the end, even inside a string, counts as several statements: those are only
    sent the way they always were)."""
    return bool(_BINDABLE.match(query)) and ";" not in query.strip().rstrip(";")


def _large(params) -> bool:
    """Whether `params` are a batch's: many values, or an array of many (a statement planned for
    the values it gets each time, as it always was)."""
    if not params:
        return False
    values = params.values() if isinstance(params, dict) else params
    if len(values) > LARGE_PARAMS:
        return True
    return any(isinstance(value, (list, tuple)) and len(value) > LARGE_ARRAY for value in values)


_preparing = ContextVar("statements_prepared", default=False)


@contextmanager
def statements_prepared():
    """Keep the repeated statements run inside prepared (when DB_PREPARED_STATEMENTS is on): for
    the desk's hot paths, whose statements are lookups by key and writes. Also a decorator."""
    token = _preparing.set(True)
    try:
        yield
    finally:
        _preparing.reset(token)


class PreparingCursor(ServerBindingCursor):
    """Inside `statements_prepared()`, a cursor whose parameters PostgreSQL binds and whose repeated
    statements psycopg prepares. Anything else (any statement outside, a utility statement such as
    `COMMENT ON … IS %s`, several statements in one string, a batch's statement with many values) is
    sent as Django's client-side cursor sends it: values written in, never prepared."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        if isinstance(query, str) and (not _preparing.get() or not _one_query(query) or _large(params)):
            if params:
                query, params = ClientCursor(self.connection).mogrify(query, params), None
            prepare = False
        return super().execute(query, params, prepare=prepare, binary=binary)


def connection_prepare(sender, connection, **kwargs) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        if settings.DATABASE_PREPARED_STATEMENTS:
            connection.connection.cursor_factory = PreparingCursor
            connection.connection.prepare_threshold = PREPARE_THRESHOLD
            # So that Django shows the SQL of a query with its values (DEBUG, captured queries),
            # composing it itself: a server-bound query has no such text.
            connection.features.uses_server_side_binding = True


def connection_setup_install() -> None:
    """Called once from the clinics app's ready()."""
    connection_created.connect(connection_prepare, dispatch_uid="clinic_loyalty.database.connection_prepare")

"""Writing many rows at once with PostgreSQL's COPY, the import's hot path. The rows have been
checked in Python against the models' rules; the database's constraints and triggers still
check every row."""

from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import Model


def ids_allocate(model: type[Model], count: int) -> list[int]:
    """Ids from the table's own sequence, known before the rows are written, so that rows
    pointing at each other are written in one go."""
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [model._meta.db_table, model._meta.pk.column, count])
        return [pk for (pk,) in cursor.fetchall()]


def rows_copy(model: type[Model], fields: Sequence[str], rows: Iterable[Sequence]) -> None:
    """COPY rows of values for `fields` (Python values: str, int, Decimal, date, aware datetime,
    list, None) into the model's table. Every other column gets its model default, or NULL."""
    opts = model._meta
    quote = connection.ops.quote_name
    given = set(fields)
    defaults = [(field.column, field.get_db_prep_save(field.get_default(), connection))
                for field in opts.concrete_fields
                if field.name not in given and not field.primary_key and field.has_default()]
    columns = [opts.get_field(name).column for name in fields] + [column for column, _value in defaults]
    tail = tuple(value for _column, value in defaults)
    sql = f"COPY {quote(opts.db_table)} ({', '.join(quote(column) for column in columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row((*row, *tail))

"""Long lists of values as one SQL array parameter.

`filter(member_id__in=ids)` writes one placeholder per value; with the tens of thousands of ids of
a batch job the driver spends seconds turning that statement into SQL, and PostgreSQL parses and
plans a list as long. `filter(member_id__in=any_of(ids, "bigint"))` sends the list as a single
array and lets PostgreSQL unnest it (a hashed semi-join): the same rows, one parameter.
"""

from collections.abc import Iterable

from django.db.models.expressions import RawSQL

SQL_TYPES = frozenset({"bigint", "text"})


def any_of(values: Iterable, sql_type: str) -> RawSQL:
    """The values as a subquery for `__in`: `SELECT unnest(%s::<sql_type>[])`."""
    if sql_type not in SQL_TYPES:
        raise ValueError(f"any_of takes one of {sorted(SQL_TYPES)}, not {sql_type!r}")
    return RawSQL(f"SELECT unnest(%s::{sql_type}[])", [list(values)])  # noqa: S611

"""The one way a settings change is made and recorded (like Zulip's RealmAuditLog).

Every service that changes a clinic's settings (earning rules and multipliers, the tier
programme and tiers, rewards, coupon templates, the catalogue, message templates and messaging,
portal, KPI and survey settings, staff and their roles) goes through `settings_update`, or wraps
its own write in `audited` when the write is more than setting fields. Either appends one
`SettingsChange` row with the actor and the values before and after, in the service's
transaction: a change that is refused leaves no row, and a row is never changed or deleted.
"""

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import settings_change_check
from audit.models import SettingsChange

M = TypeVar("M", bound=models.Model)
State = dict[str, object]


def _json(value: object) -> object:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def object_state(obj: models.Model, fields: Iterable[str], *,
                 extra: Callable[[models.Model], State] | None = None) -> State:
    """The audited values of `obj` as JSON: foreign keys as ids, many-to-many fields as sorted
    ids, decimals and dates as strings; {} for an object not (or no longer) saved."""
    if obj.pk is None:
        return {}
    state: State = {}
    for name in fields:
        field = obj._meta.get_field(name)
        if field.many_to_many:
            state[name] = sorted(getattr(obj, name).values_list("pk", flat=True))
        elif field.is_relation:
            state[name] = getattr(obj, field.attname)
        else:
            state[name] = getattr(obj, name)
    if extra is not None:
        state.update(extra(obj))
    return _json(state)


def change_record(*, actor: User | None, obj: models.Model, object_id: object, before: State,
                  after: State) -> SettingsChange | None:
    """Append the change from `before` to `after` (only the keys that differ for an update).
    Nothing is recorded when nothing changed."""
    if before and after:
        changed = sorted(key for key in after.keys() | before.keys() if before.get(key) != after.get(key))
        if not changed:
            return None
        before = {key: before.get(key) for key in changed}
        after = {key: after.get(key) for key in changed}
        action = SettingsChange.Action.UPDATED
    elif after:
        action = SettingsChange.Action.CREATED
    elif before:
        action = SettingsChange.Action.DELETED
    else:
        return None
    return SettingsChange.objects.create(
        actor=actor, actor_name=str(actor)[:150] if actor else "",
        action=action, object_type=obj._meta.label_lower, object_id=str(object_id),
        object_repr=str(obj)[:200], before=before, after=after)


@contextmanager
def audited(*, actor: User | None, obj: models.Model, fields: Iterable[str],
            extra: Callable[[models.Model], State] | None = None) -> Iterator[models.Model]:
    """Record what the block does to `obj`: its state is read before and after the block (an
    unsaved object is a creation, a deleted one a deletion). Nothing is recorded when the block
    raises. Run inside the service's transaction."""
    fields = tuple(fields)
    object_id = obj.pk
    before = object_state(obj, fields, extra=extra)
    yield obj
    after = object_state(obj, fields, extra=extra)
    change_record(actor=actor, obj=obj, object_id=obj.pk if obj.pk is not None else object_id,
                  before=before, after=after)


@contextmanager
def settings_change(*, actor: User | None, obj: models.Model, fields: Iterable[str],
                    extra: Callable[[models.Model], State] | None = None) -> Iterator[models.Model]:
    """`audited`, for a staff member who must hold the settings permission (owners and
    managers; None, the system, may)."""
    settings_change_check(actor)
    with audited(actor=actor, obj=obj, fields=fields, extra=extra):
        yield obj


def fields_check(changes: Iterable[str], allowed: Iterable[str]) -> None:
    """Refuse names that are not settings of the object, naming them."""
    if unknown := set(changes) - set(allowed):
        raise ValidationError(_("These settings do not exist: %(fields)s") % {"fields": ", ".join(sorted(unknown))})


def settings_update(*, actor: User | None, obj: M, changes: dict, fields: Iterable[str],
                    validate: Callable[[M], None] | None = None, full_clean: bool = True,
                    related: dict[str, Iterable | None] | None = None,
                    extra: Callable[[M], State] | None = None,
                    after_save: Callable[[M], None] | None = None) -> M:
    """The settings update every service shares: the actor's permission, unknown names refused,
    the changes set, `validate(obj)` (the object's own rules, raising ValidationError on the
    field), `full_clean()`, save, the many-to-many `related` values that are given, then
    `after_save(obj)`; all recorded in the audit log as one change. Lock `obj` first and run
    in the service's transaction: a refusal raises, and nothing is changed or recorded."""
    fields = tuple(fields)
    related = {name: values for name, values in (related or {}).items() if values is not None}
    settings_change_check(actor)
    fields_check(changes, fields)
    with audited(actor=actor, obj=obj, fields=(*fields, *related), extra=extra):
        for name, value in changes.items():
            setattr(obj, name, value)
        if validate is not None:
            validate(obj)
        if full_clean:
            obj.full_clean()
        obj.save()
        for name, values in related.items():
            getattr(obj, name).set(values)
        if after_save is not None:
            after_save(obj)
    return obj

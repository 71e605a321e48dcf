"""Writes of segments: create, change, archive and restore, each with its event."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from segments.conditions import conditions_clean
from segments.models import Segment, SegmentEvent

MANAGE_PERMISSION = "accounts.manage_settings"


def _check_actor(actor: User | None) -> None:
    if actor is not None and not actor.has_perm(MANAGE_PERMISSION):
        raise PermissionDenied(_("Only owners and managers can change segments."))


def _name_clean(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("A segment needs a name.")})
    if len(name) > 80:
        raise ValidationError({"name": _("At most 80 characters.")})
    return name


def _save(segment: Segment) -> None:
    try:
        with transaction.atomic():
            segment.save()
    except IntegrityError:
        raise ValidationError({"name": _("Another segment already has this name.")}) from None


def _event(segment: Segment, kind: str, actor: User | None) -> None:
    SegmentEvent.objects.create(segment=segment, kind=kind, actor=actor, name=segment.name,
                                conditions=segment.conditions)


@transaction.atomic
def segment_create(*, actor: User | None, name: str, conditions: dict | None, description: str = "") -> Segment:
    """A new segment. An empty definition ({"all": []}) is allowed and matches every active
    member; a campaign decides whether it may target everyone."""
    _check_actor(actor)
    segment = Segment(name=_name_clean(name), description=(description or "").strip(),
                      conditions=conditions_clean(conditions), created_by=actor, updated_by=actor)
    segment.full_clean(exclude=["conditions", "name"])
    _save(segment)
    _event(segment, SegmentEvent.Kind.CREATED, actor)
    return segment


@transaction.atomic
def segment_update(*, actor: User | None, segment: Segment, name: str | None = None,
                   conditions: dict | None = None, description: str | None = None) -> Segment:
    """Change what is given; nothing changes when anything given is wrong."""
    _check_actor(actor)
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    if segment.archived:
        raise ValidationError(_("An archived segment cannot be changed; restore it first."))
    if name is not None:
        segment.name = _name_clean(name)
    if conditions is not None:
        segment.conditions = conditions_clean(conditions)
    if description is not None:
        segment.description = description.strip()
    segment.updated_by = actor
    segment.full_clean(exclude=["conditions", "name"])
    _save(segment)
    _event(segment, SegmentEvent.Kind.UPDATED, actor)
    return segment


@transaction.atomic
def segment_archive(*, actor: User | None, segment: Segment, archived: bool = True) -> Segment:
    """Archive (hide, keep) or restore a segment. Restoring fails if a live segment took its name."""
    _check_actor(actor)
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    if segment.archived == archived:
        return segment
    segment.archived = archived
    segment.updated_by = actor
    _save(segment)
    _event(segment, SegmentEvent.Kind.ARCHIVED if archived else SegmentEvent.Kind.RESTORED, actor)
    return segment

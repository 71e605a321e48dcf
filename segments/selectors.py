"""Reads of segments: the members a segment matches (one SQL query), their count, a sample, the
CSV export rows, and the list of segments."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from members.models import Member
from segments.conditions import conditions_q
from segments.models import Segment


def members_matching(*, conditions: dict, at: datetime | None = None) -> QuerySet[Member]:
    """Active members (not archived, merged or erased) that match a checked definition at `at`."""
    return Member.objects.filter(status=Member.Status.ACTIVE).filter(conditions_q(conditions, at=at))


def segment_members(segment: Segment, *, at: datetime | None = None) -> QuerySet[Member]:
    """The active members the segment matches at the instant `at` (now if None), as one query.
    Stored RFM cells and lifecycle stages are those of the last nightly computation."""
    return members_matching(conditions=segment.conditions, at=at)


def segment_count(segment: Segment, *, at: datetime | None = None) -> int:
    return segment_members(segment, at=at).count()


def segment_preview(*, conditions: dict, at: datetime, limit: int) -> tuple[int, list[Member]]:
    """The editor's live count of a checked definition and a sample of its members, most
    recently joined first."""
    members = members_matching(conditions=conditions, at=at)
    return members.count(), list(members.order_by("-joined_on", "-id")[:limit])


def segment_list(*, archived: bool | None = False) -> QuerySet[Segment]:
    segments = Segment.objects.select_related("created_by", "updated_by")
    if archived is not None:
        segments = segments.filter(archived=archived)
    return segments.order_by("name", "id")


def segment_sample(*, conditions: dict, at: datetime | None = None, limit: int = 20) -> list[Member]:
    """A few matching members, most recently joined first."""
    return list(members_matching(conditions=conditions, at=at).order_by("-joined_on", "-id")[:limit])

"""Segments: saved, named sets of conditions over members (segments/conditions.py defines them and
compiles them to one SQL query), and each member's RFM scores, RFM cell and lifecycle stage as the
nightly job last computed them (segments/scoring.py; the rules are insights.selectors')."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from insights.models import LifecycleStage, RfmCellName


def empty_conditions() -> dict:
    return {"all": []}


class Segment(models.Model):
    name = models.CharField(pgettext_lazy("of a thing", "name"), max_length=80)
    description = models.TextField(_("description"), blank=True, max_length=1000)
    # {"all": [condition | {"any": [condition, …], "negate": bool}, …]}; each condition is
    # {"kind": …, "negate": bool, …its parameters}. Only segments.services writes it, after
    # segments.conditions.conditions_clean.
    conditions = models.JSONField(_("conditions"), default=empty_conditions)
    archived = models.BooleanField(_("archived"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["archived", "name", "id"]
        constraints = [
            models.UniqueConstraint(Lower("name"), condition=Q(archived=False), name="segment_name_unique_live"),
            models.CheckConstraint(condition=Q(conditions__has_key="all"), name="segment_conditions_shape"),
        ]

    def __str__(self) -> str:
        return self.name


class SegmentEvent(models.Model):
    """Append-only (a trigger refuses changes): who created, changed, archived or restored a
    segment, with its definition after the change."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        ARCHIVED = "archived", _("Archived")
        RESTORED = "restored", _("Restored")

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=80)
    conditions = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class MemberScore(models.Model):
    """A member's RFM scores and cell and lifecycle stage at the end of local day `computed_on`,
    from their counted visits up to then. Members with no counted visit have no row (stage "no
    visit"); members with no visit in the RFM window have a stage but no scores."""

    member = models.OneToOneField("members.Member", on_delete=models.CASCADE, primary_key=True,
                                  related_name="score")
    computed_on = models.DateField(_("as of"))
    first_visit_at = models.DateTimeField(_("first visit"))
    last_visit_at = models.DateTimeField(_("last visit"))
    lifecycle = models.CharField(_("lifecycle stage"), max_length=10, choices=LifecycleStage.choices)
    recency_days = models.PositiveIntegerField(_("days since the last visit"), null=True, blank=True)
    frequency = models.PositiveIntegerField(_("visits in the RFM window"), null=True, blank=True)
    monetary = models.DecimalField(_("spend in the RFM window"), max_digits=16, decimal_places=2,
                                   null=True, blank=True)
    r = models.PositiveSmallIntegerField(_("recency score"), null=True, blank=True)
    f = models.PositiveSmallIntegerField(_("frequency score"), null=True, blank=True)
    m = models.PositiveSmallIntegerField(_("monetary score"), null=True, blank=True)
    # NULL, not "", for members with no visit in the RFM window: the check constraint ties it to the scores.
    cell = models.CharField(_("RFM cell"), max_length=20, choices=RfmCellName.choices,  # noqa: DJ001
                            null=True, blank=True)

    class Meta:
        verbose_name = _("member score")
        constraints = [
            models.CheckConstraint(
                condition=Q(r__isnull=True, f__isnull=True, m__isnull=True, cell__isnull=True,
                            frequency__isnull=True, monetary__isnull=True)
                | Q(r__gte=1, r__lte=5, f__gte=1, f__lte=5, m__gte=1, m__lte=5, cell__isnull=False,
                    frequency__gte=1, monetary__isnull=False),
                name="member_score_rfm_complete"),
            models.CheckConstraint(condition=Q(lifecycle__in=LifecycleStage.values), name="member_score_stage_valid"),
            models.CheckConstraint(condition=Q(cell__isnull=True) | Q(cell__in=RfmCellName.values),
                                   name="member_score_cell_valid"),
        ]
        indexes = [
            models.Index(fields=["cell"], name="member_score_cell"),
            models.Index(fields=["lifecycle"], name="member_score_stage"),
        ]

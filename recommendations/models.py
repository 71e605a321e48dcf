"""What the nightly learning (recommendations/learning.py) stores for a clinic: each item's
typical repeat interval, item-to-item co-purchase scores and the recent popularity of items per
tier. Small tables, replaced whole each night, so that a member's recommendations are one
indexed query (recommendations/selectors.py). `Learning` keeps one row per run."""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from tiers.models import Tier
from visits.models import CatalogueItem


class ItemInterval(models.Model):
    """The clinic's typical gap between a member's repeat purchases of an item: the median of
    the gaps (local days) over all members, learned only from at least MIN_REPEATS gaps."""

    item = models.OneToOneField(CatalogueItem, primary_key=True, on_delete=models.CASCADE, related_name="+")
    days = models.PositiveIntegerField(_("usual interval (days)"))
    repeats = models.PositiveIntegerField(_("repeat purchases seen"))
    members = models.PositiveIntegerField(_("members who repeated it"))

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(days__gte=1) & Q(repeats__gte=1),
                                              name="recs_interval_positive")]


class ItemAssociation(models.Model):
    """Members who bought `item` and then `related` on the same day or within the window after
    it (`pair_members`), with the confidence (pair_members / item_members) and the lift
    (confidence / share of all buying members who ever bought `related`)."""

    item = models.ForeignKey(CatalogueItem, on_delete=models.CASCADE, related_name="+")
    related = models.ForeignKey(CatalogueItem, on_delete=models.CASCADE, related_name="+")
    pair_members = models.PositiveIntegerField()
    item_members = models.PositiveIntegerField()
    related_members = models.PositiveIntegerField()
    confidence = models.FloatField()
    lift = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["item", "-confidence"], name="recs_assoc_item_conf")]
        constraints = [
            models.UniqueConstraint(fields=["item", "related"], name="recs_assoc_one_per_pair"),
            models.CheckConstraint(condition=~Q(item=F("related")), name="recs_assoc_distinct_items"),
            models.CheckConstraint(condition=Q(confidence__gt=0) & Q(confidence__lte=1) & Q(lift__gt=0),
                                   name="recs_assoc_measures_in_range"),
        ]


class ItemPopularity(models.Model):
    """The items most bought in the recent period by the members of a tier (tier NULL: by all
    members): distinct buyers, their share of the tier's members who visited, and the rank."""

    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(CatalogueItem, on_delete=models.CASCADE, related_name="+")
    buyers = models.PositiveIntegerField()
    share = models.FloatField()
    rank = models.PositiveSmallIntegerField()

    class Meta:
        indexes = [models.Index(fields=["tier", "rank"], name="recs_popularity_tier_rank")]
        constraints = [
            models.UniqueConstraint(fields=["tier", "item"], nulls_distinct=False, name="recs_popularity_one_per_item"),
            models.CheckConstraint(condition=Q(share__gt=0) & Q(share__lte=1), name="recs_popularity_share_range"),
        ]


class Learning(models.Model):
    """One run of the nightly learning: from which visits (those before `before`) and what it
    stored."""

    before = models.DateTimeField(_("visits before"))
    finished_at = models.DateTimeField(_("finished at"))
    visit_lines = models.PositiveIntegerField(_("visit lines read"))
    intervals = models.PositiveIntegerField(_("item intervals"))
    associations = models.PositiveIntegerField(_("item pairs"))
    popular = models.PositiveIntegerField(_("popular items"))
    seconds = models.FloatField()

    class Meta:
        ordering = ["-finished_at", "-id"]

"""The settings audit log: one append-only row per change to a clinic's settings."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SettingsChange(models.Model):
    """Who changed which setting when, with the values before and after (only the fields that
    changed; everything for a creation or a deletion). A database trigger refuses UPDATE and
    DELETE."""

    class Action(models.TextChoices):
        CREATED = "created", pgettext_lazy("settings change", "Created")
        UPDATED = "updated", pgettext_lazy("settings change", "Changed")
        DELETED = "deleted", pgettext_lazy("settings change", "Deleted")

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    # None: the system itself (provisioning, imports, demo data).
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    # The model's label ("points.reward") and the object's primary key.
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-at", "-id")
        indexes = [
            models.Index(fields=("object_type", "-at"), name="audit_change_type_at"),
            models.Index(fields=("actor", "-at"), name="audit_change_actor_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(action__in=["created", "updated", "deleted"]),
                                   name="audit_change_action_known"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.object_type}#{self.object_id} {self.action}"

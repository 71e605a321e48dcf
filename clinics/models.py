import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

CURRENCIES = [("CNY", _("Chinese yuan (CNY)")), ("HKD", _("Hong Kong dollar (HKD)")),
              ("USD", _("US dollar (USD)")), ("EUR", _("Euro (EUR)"))]


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(value)s” is not a known time zone."), params={"value": value})


class Clinic(TenantMixin):
    """A clinic is a tenant: its data lives in the PostgreSQL schema named by its slug."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    class Language(models.TextChoices):
        ZH_HANS = "zh-hans", _("Simplified Chinese")
        EN = "en", _("English")

    name = models.CharField(_("display name"), max_length=120)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai",
                                 validators=[validate_time_zone])
    language = models.CharField(_("language"), max_length=10, choices=Language.choices,
                                default=Language.ZH_HANS)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES, default="CNY")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.ACTIVE)
    status_reason = models.CharField(_("reason for the status"), max_length=255, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Schemas are created by cloning the template in clinics.platform.provisioning.clinic_create.
    auto_create_schema = False

    class Meta:
        verbose_name = _("clinic")
        verbose_name_plural = _("clinics")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=["active", "suspended"]),
                                   name="clinic_status_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def slug(self) -> str:
        return self.schema_name

    @property
    def is_suspended(self) -> bool:
        return self.status == self.Status.SUSPENDED

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Domain(DomainMixin):
    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")


class ClinicEvent(models.Model):
    """Append-only history of what happened to a clinic, by whom and why."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        SUSPENDED = "suspended", _("Suspended")
        REACTIVATED = "reactivated", _("Reactivated")

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.CharField(_("actor"), max_length=150, help_text=_("Who did it."))
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

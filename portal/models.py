"""The member portal's own records: member sign-in sessions, one-time sign-in codes, the
member's portal preferences, the clinic's portal settings and members' erasure requests."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from members.models import Member


class MemberSession(models.Model):
    """A member signed in on one device. The cookie carries a random token; only its SHA-256
    is stored. Signing out revokes the row; signing out everywhere revokes all of the member's."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="portal_sessions")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["member"], condition=Q(revoked_at__isnull=True),
                                name="member_session_live")]
        constraints = [models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")),
                                              name="member_session_expires_after_start")]


class SignInCode(models.Model):
    """A one-time sign-in code asked for a phone number. A row is written whether or not the
    phone belongs to a member (member is then empty and no code is sent), so the answer and the
    rate limits are the same either way."""

    phone = models.CharField(max_length=20)
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="+")
    code_hash = models.CharField(max_length=64)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["phone", "created_at"], name="signin_code_phone"),
                   models.Index(fields=["ip", "created_at"], name="signin_code_ip")]
        constraints = [models.CheckConstraint(condition=Q(attempts__lte=5), name="signin_code_attempts_max")]


class PortalPreference(models.Model):
    """What a member chose in the portal for themselves (their language)."""

    member = models.OneToOneField(Member, on_delete=models.CASCADE, primary_key=True,
                                  related_name="portal_preference")
    language = models.CharField(_("language"), max_length=10, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class PortalSettings(models.Model):
    """The clinic's portal settings (one row per clinic)."""

    join_enabled = models.BooleanField(
        _("people can join from the portal"), default=False,
        help_text=_("Shows a form on the portal's sign-in page that registers a new member."))
    profile_edit_enabled = models.BooleanField(
        _("members can edit their details"), default=True,
        help_text=_("Name, gender, birthday and email. The phone number is changed at the front desk."))

    class Meta:
        verbose_name = _("portal settings")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="portal_settings_single_row")]


class ErasureRequest(models.Model):
    """A member's request, made in the portal, that the clinic erase their personal data. Staff
    act on it (erase, or decline with a reason); the member sees its status."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the clinic")
        DONE = "done", _("Done: data erased")
        DECLINED = "declined", _("Declined")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="erasure_requests")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField(_("reason"), blank=True)
    requested_at = models.DateTimeField(_("requested"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decision_note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["member"], condition=Q(status="pending"),
                                    name="one_pending_erasure_request"),
            models.CheckConstraint(condition=Q(status="pending", decided_at__isnull=True)
                                   | (~Q(status="pending") & Q(decided_at__isnull=False)),
                                   name="erasure_request_decided_iff_closed"),
        ]

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Replace
from django.utils.translation import gettext_lazy as _

from members.encryption import EncryptedTextField

# The member's name in full pinyin without the spaces between syllables.
PINYIN_COMPACT = Replace(models.F("name_pinyin"), models.Value(" "), models.Value(""))


class Member(models.Model):
    """A client of the clinic. Identified by phone; not a staff user."""

    class Gender(models.TextChoices):
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")
        UNKNOWN = "unknown", _("Not given")

    class Source(models.TextChoices):
        WALK_IN = "walk_in", _("Walk-in")
        REFERRAL = "referral", _("Referral")
        ONLINE = "online", _("Online")
        WECHAT = "wechat", _("WeChat")
        DIANPING = "dianping", _("Dianping / Meituan")
        XIAOHONGSHU = "xiaohongshu", _("Xiaohongshu")
        EVENT = "event", _("Event")
        IMPORT = "import", _("Import")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        ARCHIVED = "archived", _("Archived")
        MERGED = "merged", _("Merged into another member")
        ERASED = "erased", _("Erased")

    member_number = models.CharField(_("member number"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_initials = models.CharField(max_length=100, editable=False, db_index=False)
    name_pinyin = models.CharField(max_length=300, editable=False)
    name_tail = models.CharField(max_length=100, editable=False, default="",
                                 help_text="The name without its first character: 小美 finds 张小美.")
    # NULL, not "", for members without a number (merged, erased): unique allows many NULLs.
    phone = models.CharField(_("phone"), max_length=20, null=True, unique=True,  # noqa: DJ001
                             help_text=_("International format, e.g. +8613812345678."))
    phone_last4 = models.CharField(max_length=4, editable=False, blank=True)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices,
                              default=Gender.UNKNOWN)
    birthday = models.DateField(_("birthday"), null=True, blank=True,
                                help_text=_("Solar (Gregorian) date of birth."))
    celebrates_lunar_birthday = models.BooleanField(_("celebrates lunar birthday"), default=False)
    email = models.EmailField(_("email"), blank=True)
    source = models.CharField(_("source channel"), max_length=20, choices=Source.choices,
                              default=Source.WALK_IN)
    referred_by = models.ForeignKey("self", verbose_name=_("referred by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="referrals")
    referral_code = models.CharField(_("referral code"), max_length=12, unique=True)
    tags = ArrayField(models.CharField(max_length=40), verbose_name=_("interest tags"),
                      default=list, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.ACTIVE)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="merged_members")
    joined_on = models.DateField(_("joined on"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["-joined_on", "-id"]
        default_permissions = ()
        permissions = [
            ("manage_member", _("Can archive, merge and erase members")),
            ("export_member", _("Can export a member's data")),
        ]
        indexes = [
            # The KPI summary counts members joined by a day (not merged away) from this alone.
            models.Index(fields=["joined_on"], condition=~models.Q(status="merged"), name="member_joined_unmerged"),
            GinIndex(fields=["tags"], name="member_tags"),
            models.Index(fields=["phone_last4"], name="member_phone_last4"),
            models.Index(OpClass("name_initials", name="varchar_pattern_ops"),
                         name="member_initials_prefix"),
            models.Index(OpClass("member_number", name="varchar_pattern_ops"), name="member_number_prefix"),
            models.Index(OpClass("name", name="varchar_pattern_ops"), name="member_name_prefix"),
            models.Index(OpClass("name_tail", name="varchar_pattern_ops"), name="member_name_tail_prefix"),
            GinIndex(OpClass("name", name="gin_trgm_ops"), name="member_name_trgm"),
            GinIndex(OpClass("name_pinyin", name="gin_trgm_ops"), name="member_pinyin_trgm"),
            # Full pinyin typed without spaces ("zhoumei" finds 周美).
            GinIndex(OpClass(PINYIN_COMPACT, name="gin_trgm_ops"), name="member_pinyin_compact_trgm"),
            models.Index(fields=["status"], name="member_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(referred_by=models.F("id")),
                                   name="member_not_own_referrer"),
            models.CheckConstraint(
                condition=models.Q(status="merged", merged_into__isnull=False)
                | (~models.Q(status="merged") & models.Q(merged_into__isnull=True)),
                name="member_merged_has_survivor"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.member_number})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class ConsentRecord(models.Model):
    """Append-only: each grant or withdrawal of consent for one purpose. The member's current
    consent for a purpose is their latest record for it."""

    class Purpose(models.TextChoices):
        MARKETING_SMS = "marketing_sms", _("Marketing by SMS")
        MARKETING_EMAIL = "marketing_email", _("Marketing by email")
        MARKETING_WECHAT = "marketing_wechat", _("Marketing by WeChat")
        DATA_PROCESSING = "data_processing", _("Processing of personal data")
        PHOTOS = "photos", _("Before/after photos")
        NOTICE_APPOINTMENTS = "notice_appointments", _("Appointment reminders")
        NOTICE_POINTS_EXPIRY = "notice_points_expiry", _("Notices of points about to expire")
        SURVEYS = "surveys", _("Satisfaction surveys after visits")
        NOTICE_PACKAGES = "notice_packages", _("Notices of package sessions about to expire")

    class Channel(models.TextChoices):
        FRONT_DESK = "front_desk", _("At the front desk")
        PORTAL = "portal", _("Member portal")
        PAPER = "paper", _("Signed paper form")
        WECHAT = "wechat", _("WeChat")
        IMPORT = "import", _("Import")
        SURVEY_LINK = "survey_link", _("Survey link")
        UNSUBSCRIBE_LINK = "unsubscribe_link", _("Unsubscribe link in an email")
        SMS_REPLY = "sms_reply", _("Reply to an SMS (TD)")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    granted = models.BooleanField(_("granted"))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    policy_version = models.CharField(_("policy version"), max_length=20)
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["member", "purpose", "-recorded_at"], name="consent_current")]


# Service messages a member may turn off one kind at a time. Unlike the other purposes they are on
# until withdrawn: only a withdrawal (the latest record says not granted) stops them.
NOTICE_PURPOSES = frozenset({ConsentRecord.Purpose.NOTICE_APPOINTMENTS, ConsentRecord.Purpose.NOTICE_POINTS_EXPIRY,
                             ConsentRecord.Purpose.SURVEYS, ConsentRecord.Purpose.NOTICE_PACKAGES})


class MemberTagEvent(models.Model):
    """Append-only (a trigger refuses updates): a tag added to or removed from a member, by whom
    and when. The member's current tags are `Member.tags`. Erasing a member deletes their tag
    history with their tags."""

    class Action(models.TextChoices):
        ADDED = "added", _("Added")
        REMOVED = "removed", _("Removed")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="tag_events")
    tag = models.CharField(_("tag"), max_length=40)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["member", "-created_at"], name="member_tag_event_member")]


class MedicalProfile(models.Model):
    """Allergies, contraindications and medical notes, encrypted at rest. `has_allergies` and
    `has_contraindications` are kept in clear as safety flags (whether the text is empty, nothing
    of what it says): any staff may see them, and recommendations leave out the treatments that
    need medical clearance for a member with contraindications."""

    member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="medical")
    has_allergies = models.BooleanField(_("has allergies"), default=False)
    has_contraindications = models.BooleanField(_("has contraindications"), default=False)
    allergies = EncryptedTextField(_("allergies"), blank=True)
    contraindications = EncryptedTextField(_("contraindications"), blank=True)
    medical_notes = EncryptedTextField(_("medical notes"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT,
                                   related_name="+")


class MedicalAccessLog(models.Model):
    """Who read or changed a member's medical profile, and when."""

    class Action(models.TextChoices):
        READ = "read", _("Read")
        UPDATE = "update", _("Updated")
        EXPORT = "export", _("Exported")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="medical_accesses")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=10, choices=Action.choices)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]


class MemberEvent(models.Model):
    """Append-only history of a member's record: registration, edits, archive, merge, erasure."""

    class Kind(models.TextChoices):
        REGISTERED = "registered", _("Registered")
        UPDATED = "updated", _("Updated")
        ARCHIVED = "archived", _("Archived")
        RESTORED = "restored", _("Restored")
        MERGED = "merged", _("Merged")
        ERASED = "erased", _("Erased")
        EXPORTED = "exported", _("Data exported")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT,
                              related_name="+")
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

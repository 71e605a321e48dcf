"""Feedback after a visit and the follow-up (回访) that comes of it: the clinic's survey settings,
one survey per visit (the guard row that makes it go once) with its answer, follow-up rules per
treatment or category, follow-up tasks with their append-only outcomes, and complaint cases."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from appointments.models import Booking, Practitioner
from members.models import Member
from messaging.models import Message
from visits.models import CatalogueItem, Category, Visit

# The question wording, per language, when the clinic has not written its own.
DEFAULT_QUESTIONS = {
    "zh-hans": {"nps": "您有多大可能向亲友推荐{clinic}？",
                "practitioner": "您对为您服务的{practitioner}满意吗？"},
    "en": {"nps": "How likely are you to recommend {clinic} to a friend or family member?",
           "practitioner": "How satisfied are you with {practitioner}, who treated you?"},
}


class SurveySettings(models.Model):
    """The clinic's survey rules (one row per clinic)."""

    enabled = models.BooleanField(_("send surveys after visits"), default=True)
    delay_hours = models.PositiveIntegerField(
        _("hours after the visit"), default=24,
        help_text=_("The survey goes this long after checkout, moved to the end of quiet hours if it falls in them."))
    all_treatments = models.BooleanField(
        _("after every visit with a treatment"), default=True,
        help_text=_("If off, only visits with one of the treatments chosen below."))
    treatments = models.ManyToManyField(CatalogueItem, verbose_name=_("treatments that trigger a survey"),
                                        blank=True, related_name="+",
                                        limit_choices_to={"kind": CatalogueItem.Kind.TREATMENT})
    nps_question_zh = models.CharField(_("recommendation question (Chinese)"), max_length=200, blank=True,
                                       help_text=_("Empty: the default wording. {clinic} is the clinic's name."))
    nps_question_en = models.CharField(_("recommendation question (English)"), max_length=200, blank=True,
                                       help_text=_("Empty: the default wording. {clinic} is the clinic's name."))
    practitioner_question_zh = models.CharField(
        _("practitioner question (Chinese)"), max_length=200, blank=True,
        help_text=_("Empty: the default wording. {practitioner} is the practitioner's name."))
    practitioner_question_en = models.CharField(
        _("practitioner question (English)"), max_length=200, blank=True,
        help_text=_("Empty: the default wording. {practitioner} is the practitioner's name."))

    class Meta:
        verbose_name = _("survey settings")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="survey_settings_single_row"),
            models.CheckConstraint(condition=Q(delay_hours__lte=720), name="survey_delay_at_most_30_days"),
        ]


class Survey(models.Model):
    """The survey of one visit. Its row is the guard: one per visit, planned once, sent once."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent")
        SKIPPED = "skipped", _("Not sent")

    visit = models.OneToOneField(Visit, on_delete=models.CASCADE, related_name="survey")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="surveys")
    practitioner = models.ForeignKey(Practitioner, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="surveys", verbose_name=_("practitioner"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    skip_reason = models.CharField(_("reason not sent"), max_length=30, blank=True)
    due_at = models.DateTimeField(_("due"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # When its answer was first given: kept by the database (trigger feedback_survey_answered,
    # migration 0005) from feedback_surveyanswer, so that the response rate is one index read.
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True, editable=False)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-due_at", "-id"]
        indexes = [models.Index(fields=["due_at"], condition=Q(status="pending"), name="survey_pending_due"),
                   models.Index(fields=["member", "-due_at"], name="survey_member"),
                   # The response rate reads the surveys sent in a period and whether each is
                   # answered from this index alone.
                   models.Index(fields=["sent_at"], include=["answered_at"], condition=Q(status="sent"),
                                name="survey_sent_time")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["pending", "sent", "skipped"]), name="survey_status_valid"),
            models.CheckConstraint(condition=~Q(status="sent") | Q(sent_at__isnull=False), name="survey_sent_has_time"),
        ]

    def __str__(self) -> str:
        return f"survey of visit {self.visit_id}"


class SurveyAnswer(models.Model):
    """A member's answer to a survey: one per survey, which the member may change for 7 days."""

    class Tag(models.TextChoices):
        SERVICE = "service", pgettext_lazy("survey tag", "Service")
        RESULT = "result", pgettext_lazy("survey tag", "Result")
        ENVIRONMENT = "environment", _("Environment")
        PRICE = "price", _("Price")
        WAITING = "waiting", _("Waiting time")

    survey = models.OneToOneField(Survey, on_delete=models.CASCADE, related_name="answer")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="survey_answers")
    practitioner = models.ForeignKey(Practitioner, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="survey_answers")
    nps_score = models.PositiveSmallIntegerField(_("likelihood to recommend (0–10)"))
    practitioner_rating = models.PositiveSmallIntegerField(_("practitioner rating (1–5)"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True, max_length=2000)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    answered_at = models.DateTimeField(_("answered"))
    updated_at = models.DateTimeField(_("last changed"))
    edits = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("survey answer")
        ordering = ["-answered_at", "-id"]
        # NPS and the practitioner ratings of a period read this index alone.
        indexes = [models.Index(fields=["answered_at"], include=["nps_score", "practitioner_id", "practitioner_rating"],
                                name="survey_answer_time")]
        constraints = [
            models.CheckConstraint(condition=Q(nps_score__gte=0, nps_score__lte=10), name="answer_nps_0_to_10"),
            models.CheckConstraint(condition=Q(practitioner_rating__isnull=True)
                                   | Q(practitioner_rating__gte=1, practitioner_rating__lte=5),
                                   name="answer_rating_1_to_5"),
            models.CheckConstraint(condition=Q(updated_at__gte=F("answered_at")), name="answer_updated_after"),
        ]

    @property
    def tag_labels(self) -> list[str]:
        return [str(self.Tag(tag).label) for tag in self.tags if tag in self.Tag.values]

    @property
    def group(self) -> str:
        if self.nps_score >= 9:
            return "promoter"
        return "passive" if self.nps_score >= 7 else "detractor"


class FollowUpRule(models.Model):
    """Call (or message) the member this many days after a visit with a treatment, or with any
    treatment of a category."""

    treatment = models.ForeignKey(CatalogueItem, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="+", verbose_name=_("treatment"),
                                  limit_choices_to={"kind": CatalogueItem.Kind.TREATMENT})
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+", verbose_name=_("category"))
    days_after = models.PositiveIntegerField(_("days after the visit"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("follow-up rule")
        ordering = ["treatment__name", "category__name", "days_after"]
        constraints = [
            models.CheckConstraint(condition=Q(treatment__isnull=True) ^ Q(category__isnull=True),
                                   name="followup_rule_treatment_xor_category"),
            models.CheckConstraint(condition=Q(days_after__gte=1, days_after__lte=365),
                                   name="followup_rule_days_1_to_365"),
            models.UniqueConstraint(fields=["treatment", "days_after"], name="one_rule_per_treatment_day"),
            models.UniqueConstraint(fields=["category", "days_after"], name="one_rule_per_category_day"),
        ]

    def __str__(self) -> str:
        return f"{self.treatment or self.category} +{self.days_after}"


class FollowUpTask(models.Model):
    """One follow-up to do: call or message a member about a visit, an answer, a recall or
    whatever staff wrote. Open until an outcome closes it; `guard_key` makes the automatic ones
    once only."""

    class Kind(models.TextChoices):
        DETRACTOR = "detractor", _("Unhappy answer")
        TREATMENT = "treatment", _("After treatment")
        RECALL = "recall", _("Recall")
        MANUAL = "manual", _("By hand")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="followups")
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    due_at = models.DateTimeField(_("due"))
    first_due_at = models.DateTimeField(_("first due"))
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="followups", verbose_name=_("assigned to"))
    practitioner = models.ForeignKey(Practitioner, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="followups", verbose_name=_("practitioner"))
    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.SET_NULL, related_name="followups")
    treatment = models.ForeignKey(CatalogueItem, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("treatment"))
    answer = models.ForeignKey(SurveyAnswer, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="followups")
    rule = models.ForeignKey(FollowUpRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    booking = models.ForeignKey(Booking, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("appointment booked"))
    note = models.CharField(_("what to do"), max_length=300, blank=True)
    guard_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("created"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["due_at"], condition=Q(status="open"), name="followup_open_due"),
                   models.Index(fields=["member", "-created_at"], name="followup_member"),
                   # The measures read follow-ups first due, and recalls created, in a period.
                   models.Index(fields=["first_due_at"], include=["closed_at"], name="followup_first_due"),
                   models.Index(fields=["created_at"], condition=Q(kind="recall"), name="followup_recall_created"),
                   # Detractor follow-ups open at an instant (created before it, not closed by it).
                   models.Index(fields=["created_at"], include=["closed_at"], condition=Q(kind="detractor"),
                                name="followup_detractor_created")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["open", "done"]), name="followup_status_valid"),
            models.CheckConstraint(condition=Q(kind__in=["detractor", "treatment", "recall", "manual"]),
                                   name="followup_kind_valid"),
            models.CheckConstraint(condition=(Q(status="open") & Q(closed_at__isnull=True))
                                   | (Q(status="done") & Q(closed_at__isnull=False)),
                                   name="followup_closed_iff_done"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.member}"

    @property
    def last_outcome_label(self) -> str:
        """The label of the `last_outcome` a selector annotated (`recall_outcomes`), else ""."""
        kind = getattr(self, "last_outcome", None)
        return str(FollowUpOutcome.Kind(kind).label) if kind else ""


class FollowUpOutcome(models.Model):
    """Append-only: what happened when staff followed a task up, who recorded it and when."""

    class Kind(models.TextChoices):
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        CALL_BACK = "call_back", _("Call back later")
        COMPLAINT = "complaint", _("Complaint")
        BOOKED = "booked", _("Booked an appointment")
        NOT_INTERESTED = "not_interested", _("Not interested")

    task = models.ForeignKey(FollowUpTask, on_delete=models.CASCADE, related_name="outcomes")
    kind = models.CharField(_("outcome"), max_length=20, choices=Kind.choices)
    notes = models.TextField(_("notes"), blank=True, max_length=2000)
    call_back_at = models.DateTimeField(_("call back at"), null=True, blank=True)
    booking = models.ForeignKey(Booking, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("appointment"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded"))

    class Meta:
        verbose_name = _("follow-up outcome")
        ordering = ["recorded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["reached", "no_answer", "call_back", "complaint", "booked", "not_interested"]),
                name="followup_outcome_kind_valid"),
            models.CheckConstraint(condition=~Q(kind="call_back") | Q(call_back_at__isnull=False),
                                   name="followup_call_back_has_time"),
            models.CheckConstraint(condition=~Q(kind="complaint") | ~Q(notes=""),
                                   name="followup_complaint_has_notes"),
        ]


class ComplaintCase(models.Model):
    """A complaint heard on a follow-up. Open until a manager closes it with a resolution."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="complaints")
    task = models.ForeignKey(FollowUpTask, on_delete=models.PROTECT, related_name="complaints")
    outcome = models.OneToOneField(FollowUpOutcome, on_delete=models.PROTECT, related_name="complaint")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    details = models.TextField(_("complaint"))
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(_("opened"))
    resolution = models.TextField(_("resolution"), blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-opened_at", "-id"]
        permissions = [("resolve_complaint", _("Can close complaint cases with a resolution"))]
        constraints = [
            models.CheckConstraint(
                condition=(Q(status="open") & Q(closed_at__isnull=True) & Q(resolution=""))
                | (Q(status="closed") & Q(closed_at__isnull=False) & Q(closed_by__isnull=False) & ~Q(resolution="")),
                name="complaint_closed_iff_resolved"),
        ]

"""Writes of feedback and follow-up: the survey settings and follow-up rules, planning and sending
the surveys (once per visit), a member's answer, follow-up tasks (automatic and by hand), their
outcomes and complaint cases. Each write is atomic and records who did it."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import settings_change_check
from appointments.availability import local_day_start
from appointments.models import Booking, Practitioner
from appointments.selectors import recall_list
from audit.services import settings_change, settings_update
from clinics.formatting import day_text
from feedback.links import survey_url
from feedback.models import (
    ComplaintCase,
    FollowUpOutcome,
    FollowUpRule,
    FollowUpTask,
    Survey,
    SurveyAnswer,
    SurveySettings,
)
from members.models import ConsentRecord, Member
from members.services import consent_record
from messaging.models import Message, Purpose
from messaging.rules import in_quiet_hours, quiet_hours_over
from messaging.services import message_send, messaging_settings
from points.rules import clinic_zone
from visits.models import CatalogueItem, Visit, VisitLine

# Visits are looked at for surveys and treatment follow-ups for this long after their survey's
# delay, so a job that missed runs catches up; a survey more than this late is not sent.
CATCH_UP = timedelta(days=3)
# A member may change an answer for this long after first giving it.
ANSWER_EDITABLE_FOR = timedelta(days=7)
# A "no answer" outcome puts the task back this long.
NO_ANSWER_RETRY = timedelta(days=1)
SEND_BATCH = 100
USE_FRONTDESK = "accounts.use_frontdesk"
RESOLVE_COMPLAINT = "feedback.resolve_complaint"
NPS_DETRACTOR_MAX = 6


def survey_settings() -> SurveySettings:
    return SurveySettings.objects.filter(pk=1).first() or SurveySettings(pk=1)


def feedback_defaults_install() -> None:
    """The survey settings row. Idempotent."""
    SurveySettings.objects.get_or_create(pk=1)


FOLLOWUP_RULE_FIELDS = ("treatment", "category", "days_after")
SETTINGS_FIELDS = ("enabled", "delay_hours", "all_treatments", "nps_question_zh", "nps_question_en",
                   "practitioner_question_zh", "practitioner_question_en")


@transaction.atomic
def survey_settings_update(*, actor: User | None, treatments: list[CatalogueItem] | None = None,
                           **changes) -> SurveySettings:
    """Change when surveys go, after which treatments, and the question wording."""
    row = SurveySettings.objects.select_for_update().get_or_create(pk=1)[0]

    def treatments_check(row: SurveySettings) -> None:
        if treatments is not None and any(item.kind != CatalogueItem.Kind.TREATMENT for item in treatments):
            raise ValidationError({"treatments": _("Only treatments can trigger a survey.")})
        if not row.all_treatments and not (treatments if treatments is not None else row.treatments.exists()):
            raise ValidationError({"treatments": _("Choose at least one treatment, or send after every treatment.")})
    return settings_update(actor=actor, obj=row, changes=changes, fields=SETTINGS_FIELDS, validate=treatments_check,
                           related={"treatments": treatments})


@transaction.atomic
def followup_rule_create(*, actor: User | None, days_after: int, treatment: CatalogueItem | None = None,
                         category=None) -> FollowUpRule:
    settings_change_check(actor)
    if (treatment is None) == (category is None):
        raise ValidationError(_("Choose a treatment or a category, not both."))
    if treatment is not None and treatment.kind != CatalogueItem.Kind.TREATMENT:
        raise ValidationError({"treatment": _("Choose a treatment, not a product.")})
    duplicate = FollowUpRule.objects.filter(days_after=days_after).filter(
        Q(treatment=treatment) if treatment else Q(category=category))
    if duplicate.exists():
        raise ValidationError(_("There is already a follow-up on that day for it."))
    rule = FollowUpRule(treatment=treatment, category=category, days_after=days_after)
    return settings_update(actor=actor, obj=rule, changes={}, fields=FOLLOWUP_RULE_FIELDS)


def followup_rule_delete(*, actor: User | None, rule: FollowUpRule) -> None:
    """Stop making tasks by the rule; the tasks it made stay."""
    with settings_change(actor=actor, obj=rule, fields=FOLLOWUP_RULE_FIELDS):
        rule.delete()


# Planning and sending surveys


def survey_due_at(visited_at: datetime, *, delay_hours: int) -> datetime:
    """When a visit's survey goes: the delay after the visit, moved to the end of the clinic's
    quiet hours if it falls in them (all in the clinic's time zone)."""
    rules = messaging_settings()
    return quiet_hours_over(visited_at + timedelta(hours=delay_hours), start=rules.quiet_hours_start,
                            end=rules.quiet_hours_end)


def _visit_practitioners(visits: list[Visit]) -> dict[int, int | None]:
    """The practitioner of each visit: the one of the appointment checked out, else the staff
    member who checked it out, if that is a practitioner."""
    by_booking = dict(Booking.objects.filter(visit__in=visits).values_list("visit_id", "practitioner_id"))
    by_user = dict(Practitioner.objects.filter(user_id__in={v.staff_id for v in visits if v.staff_id})
                   .values_list("user_id", "id"))
    return {v.pk: by_booking.get(v.pk) or by_user.get(v.staff_id) for v in visits}


def surveys_plan(*, now: datetime | None = None) -> int:
    """A survey row for each recent checked-out visit with a triggering treatment that has none:
    due the delay after the visit (see `survey_due_at`). The row is unique per visit, so however
    often this runs, a visit is planned once. Returns how many were planned."""
    now = now or timezone.now()
    rules = survey_settings()
    if not rules.enabled:
        return 0
    delay = timedelta(hours=rules.delay_hours)
    lines = VisitLine.objects.filter(visit=OuterRef("pk"), item__kind=CatalogueItem.Kind.TREATMENT)
    if not rules.all_treatments:
        lines = lines.filter(item__in=rules.treatments.all())
    visits = list(Visit.objects.filter(source=Visit.Source.CHECKOUT, visited_at__lte=now,
                                       visited_at__gte=now - delay - CATCH_UP, survey__isnull=True)
                  .filter(Exists(lines)).order_by("visited_at", "id"))
    if not visits:
        return 0
    practitioners = _visit_practitioners(visits)
    created = Survey.objects.bulk_create(
        [Survey(visit=visit, member_id=visit.member_id, practitioner_id=practitioners[visit.pk],
                due_at=survey_due_at(visit.visited_at, delay_hours=rules.delay_hours)) for visit in visits],
        ignore_conflicts=True)
    return len(created)


_SURVEY_STATUS_OF_MESSAGE = {
    Message.Status.QUEUED: Survey.Status.SENT, Message.Status.SENT: Survey.Status.SENT,
    Message.Status.FAILED: Survey.Status.SKIPPED, Message.Status.SKIPPED: Survey.Status.SKIPPED,
}


def surveys_send_due(*, now: datetime | None = None, batch: int = SEND_BATCH) -> dict[str, int]:
    """Send every planned survey whose time has come, unless it is quiet hours now (they wait).
    Each batch locks its surveys (`FOR UPDATE SKIP LOCKED`), queues each message under the
    visit's guard key and marks the survey sent or not sent, in one transaction, so a survey
    goes once however many runs overlap or repeat. Members who turned surveys off, and every
    other rule of the messaging service, make the survey "not sent" with the reason."""
    now = now or timezone.now()
    counts = {"surveys_sent": 0, "surveys_skipped": 0}
    rules = messaging_settings()
    if in_quiet_hours(now, start=rules.quiet_hours_start, end=rules.quiet_hours_end):
        return counts
    zone = clinic_zone()
    while True:
        with transaction.atomic():
            due = list(Survey.objects.filter(status=Survey.Status.PENDING, due_at__lte=now)
                       .select_related("member", "visit").select_for_update(skip_locked=True, of=("self",))
                       .order_by("due_at", "id")[:batch])
            if not due:
                return counts
            for survey in due:
                if survey.due_at < now - CATCH_UP:
                    survey.status, survey.skip_reason = Survey.Status.SKIPPED, "too_late"
                    survey.save(update_fields=["status", "skip_reason"])
                    counts["surveys_skipped"] += 1
                    continue
                message = message_send(
                    member=survey.member, purpose=Purpose.SURVEY, at=now, guard_key=f"survey:{survey.visit_id}",
                    variables={"visit_date": timezone.localtime(survey.visit.visited_at, zone).date(),
                               "survey_link": survey_url(survey)})
                survey.status = _SURVEY_STATUS_OF_MESSAGE[message.status]
                survey.skip_reason = message.skip_reason if survey.status == Survey.Status.SKIPPED else ""
                survey.sent_at = now if survey.status == Survey.Status.SENT else None
                survey.message = message
                survey.save(update_fields=["status", "skip_reason", "sent_at", "message"])
                counts["surveys_sent" if survey.status == Survey.Status.SENT else "surveys_skipped"] += 1


def treatment_followups_create(*, now: datetime | None = None) -> int:
    """A follow-up task for each active rule matching a line of a recent checked-out visit, due
    at the start of the visit's local day plus the rule's days. Once per rule and visit (guard
    key)."""
    now = now or timezone.now()
    rules = list(FollowUpRule.objects.filter(active=True))
    if not rules:
        return 0
    zone = clinic_zone()
    longest = max(rule.days_after for rule in rules)
    lines = (VisitLine.objects.filter(visit__source=Visit.Source.CHECKOUT, visit__visited_at__lte=now,
                                      visit__visited_at__gte=now - timedelta(days=longest) - CATCH_UP,
                                      item__kind=CatalogueItem.Kind.TREATMENT,
                                      visit__member__status=Member.Status.ACTIVE)
             .select_related("visit").order_by("visit_id", "id"))
    tasks: dict[str, FollowUpTask] = {}
    visits = {}
    for line in lines:
        visits[line.visit_id] = line.visit
        for rule in rules:
            if rule.treatment_id not in (None, line.item_id) or rule.category_id not in (None, line.category_id):
                continue
            key = f"rule:{rule.pk}:{line.visit_id}"
            day = timezone.localtime(line.visit.visited_at, zone).date() + timedelta(days=rule.days_after)
            due = local_day_start(day, zone)
            if key in tasks or due < local_day_start(timezone.localtime(now, zone).date(), zone) - CATCH_UP:
                continue
            tasks[key] = FollowUpTask(member_id=line.visit.member_id, kind=FollowUpTask.Kind.TREATMENT, due_at=due,
                                      first_due_at=due, visit_id=line.visit_id, treatment_id=line.item_id, rule=rule,
                                      guard_key=key, created_at=now)
    if not tasks:
        return 0
    practitioners = _visit_practitioners(list(visits.values()))
    for task in tasks.values():
        task.practitioner_id = practitioners[task.visit_id]
    existing = set(FollowUpTask.objects.filter(guard_key__in=list(tasks)).values_list("guard_key", flat=True))
    new = [task for key, task in tasks.items() if key not in existing]
    FollowUpTask.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def recall_guard_key(*, member_id: int, treatment_id: int, due_on: date) -> str:
    """The recall task of a member, treatment and due day: one at most."""
    return f"recall:{member_id}:{treatment_id}:{due_on:%Y%m%d}"


def recall_note_text(*, treatment: str, due_on: date) -> str:
    """What a recall task asks, in the active language."""
    return _("Due for the next session of %(treatment)s since %(day)s.") % {"treatment": treatment,
                                                                          "day": day_text(due_on)}


def detractor_note_text(score: int) -> str:
    """What the follow-up of an unhappy survey answer says, in the active language."""
    return _("Scored %(score)s of 10 for the visit.") % {"score": score}


def recall_guard_day(guard_key: str | None) -> date | None:
    """The due day a recall task's guard key names (`recall_guard_key`), None for another key."""
    parts = (guard_key or "").split(":")
    if len(parts) != 4 or parts[0] != "recall":
        return None
    try:
        return datetime.strptime(parts[3], "%Y%m%d").date()
    except ValueError:
        return None


def recall_followups_create(*, now: datetime | None = None) -> int:
    """A recall task, due today, for each member on today's recall list (due for the next
    session of a treatment, with no booking for it). Once per member, treatment and due day
    (a new visit moves the due day and makes a new recall later)."""
    now = now or timezone.now()
    zone = clinic_zone()
    today = timezone.localtime(now, zone).date()
    entries = recall_list(on=today)
    if not entries:
        return 0
    tasks = {recall_guard_key(member_id=e.member.pk, treatment_id=e.treatment.pk, due_on=e.due_on): e
             for e in entries}
    existing = set(FollowUpTask.objects.filter(guard_key__in=list(tasks)).values_list("guard_key", flat=True))
    due = local_day_start(today, zone)
    new = [FollowUpTask(member=e.member, kind=FollowUpTask.Kind.RECALL, due_at=due, first_due_at=due,
                        treatment=e.treatment, guard_key=key, created_at=now,
                        note=recall_note_text(treatment=e.treatment.name, due_on=e.due_on))
           for key, e in tasks.items() if key not in existing]
    FollowUpTask.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


# Answers


@dataclass(frozen=True)
class AnswerInput:
    nps_score: int | None
    practitioner_rating: int | None = None
    comment: str = ""
    tags: tuple[str, ...] = ()


def _answer_validate(survey: Survey, data: AnswerInput) -> None:
    errors = {}
    if data.nps_score is None or not 0 <= data.nps_score <= 10:
        errors["nps_score"] = _("Choose a score from 0 to 10.")
    if survey.practitioner_id and (data.practitioner_rating is None or not 1 <= data.practitioner_rating <= 5):
        errors["practitioner_rating"] = _("Choose a rating from 1 to 5.")
    if not survey.practitioner_id and data.practitioner_rating is not None:
        errors["practitioner_rating"] = _("This visit has no practitioner to rate.")
    if len(data.comment) > 2000:
        errors["comment"] = _("Keep the comment under 2000 characters.")
    if set(data.tags) - set(SurveyAnswer.Tag.values):
        errors["tags"] = _("Choose tags from the list.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def survey_answer_submit(*, survey: Survey, data: AnswerInput, at: datetime | None = None) -> SurveyAnswer:
    """The member's answer to their survey, or a change to it within 7 days of the first. A
    score of 0–6 (a detractor) opens a follow-up task at once, once per survey."""
    at = at or timezone.now()
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    _answer_validate(survey, data)
    answer = SurveyAnswer.objects.filter(survey=survey).first()
    if answer is not None and at > answer.answered_at + ANSWER_EDITABLE_FOR:
        raise ValidationError(_("This answer can no longer be changed: answers can be changed for 7 days."))
    if answer is None:
        answer = SurveyAnswer(survey=survey, member_id=survey.member_id, practitioner_id=survey.practitioner_id,
                              answered_at=at)
    else:
        answer.edits += 1
    answer.nps_score, answer.practitioner_rating = data.nps_score, data.practitioner_rating
    answer.comment, answer.tags, answer.updated_at = data.comment.strip(), sorted(set(data.tags)), at
    answer.full_clean()
    answer.save()
    if answer.nps_score <= NPS_DETRACTOR_MAX and not FollowUpTask.objects.filter(
            guard_key=f"detractor:{survey.pk}").exists():
        FollowUpTask.objects.create(
            member_id=survey.member_id, kind=FollowUpTask.Kind.DETRACTOR, due_at=at, first_due_at=at,
            practitioner_id=survey.practitioner_id, visit_id=survey.visit_id, answer=answer,
            guard_key=f"detractor:{survey.pk}", created_at=at,
            note=detractor_note_text(answer.nps_score))
    return answer


@transaction.atomic
def survey_opt_out(*, survey: Survey, at: datetime | None = None) -> ConsentRecord:
    """The member turns surveys off from their survey page: a withdrawal of the `surveys`
    consent, recorded as the member's own (channel "survey link", no staff actor). Pressing it
    again while surveys are off records nothing more and returns the withdrawal in force."""
    member = Member.objects.select_for_update().get(pk=survey.member_id)
    latest = (ConsentRecord.objects.filter(member=member, purpose=ConsentRecord.Purpose.SURVEYS)
              .order_by("-recorded_at", "-id").first())
    if latest is not None and not latest.granted:
        return latest
    return consent_record(member=member, purpose=ConsentRecord.Purpose.SURVEYS, granted=False,
                          channel=ConsentRecord.Channel.SURVEY_LINK, actor=None, at=at)


# Follow-up tasks


def _frontdesk_check(actor: User) -> None:
    if not actor.has_perm(USE_FRONTDESK):
        raise PermissionDenied(_("Only clinic staff may work follow-ups."))


@transaction.atomic
def followup_create(*, member: Member, actor: User, due_at: datetime, note: str,
                    assigned_to: User | None = None, at: datetime | None = None) -> FollowUpTask:
    """A follow-up written by hand from the member's page."""
    _frontdesk_check(actor)
    at = at or timezone.now()
    errors = {}
    if not note.strip():
        errors["note"] = _("Say what the follow-up is for.")
    if due_at < at - timedelta(days=1):
        errors["due_at"] = _("The due date cannot be in the past.")
    if assigned_to is not None and not (assigned_to.is_active and assigned_to.has_perm(USE_FRONTDESK)):
        errors["assigned_to"] = _("Choose an active staff member.")
    if not member.is_active:
        errors["member"] = _("This member is not active.")
    if errors:
        raise ValidationError(errors)
    task = FollowUpTask(member=member, kind=FollowUpTask.Kind.MANUAL, due_at=due_at, first_due_at=due_at,
                        note=note.strip(), assigned_to=assigned_to, created_by=actor, created_at=at)
    task.full_clean()
    task.save()
    return task


@transaction.atomic
def followup_assign(*, task: FollowUpTask, actor: User, assigned_to: User | None) -> FollowUpTask:
    _frontdesk_check(actor)
    if assigned_to is not None and not (assigned_to.is_active and assigned_to.has_perm(USE_FRONTDESK)):
        raise ValidationError({"assigned_to": _("Choose an active staff member.")})
    task.assigned_to = assigned_to
    task.save(update_fields=["assigned_to"])
    return task


CLOSING_OUTCOMES = {FollowUpOutcome.Kind.REACHED, FollowUpOutcome.Kind.COMPLAINT, FollowUpOutcome.Kind.BOOKED,
                    FollowUpOutcome.Kind.NOT_INTERESTED}


@transaction.atomic
def followup_outcome_record(*, task: FollowUpTask, actor: User, kind: str, notes: str = "",
                            call_back_at: datetime | None = None, booking: Booking | None = None,
                            at: datetime | None = None) -> FollowUpOutcome:
    """What came of following the task up. Reached, booked (with the appointment), not
    interested and complaint close the task (a complaint also opens a case for a manager); no
    answer puts it back a day; call back moves it to the time agreed. Every outcome is kept."""
    _frontdesk_check(actor)
    at = at or timezone.now()
    task = FollowUpTask.objects.select_for_update().get(pk=task.pk)
    notes = notes.strip()
    errors = {}
    if kind not in FollowUpOutcome.Kind.values:
        errors["kind"] = _("Choose what happened.")
    if task.status != FollowUpTask.Status.OPEN:
        errors["kind"] = _("This follow-up is already done.")
    if kind == FollowUpOutcome.Kind.CALL_BACK and (call_back_at is None or call_back_at <= at):
        errors["call_back_at"] = _("Give a time in the future to call back.")
    if kind == FollowUpOutcome.Kind.COMPLAINT and not notes:
        errors["notes"] = _("Write down what the complaint is.")
    if kind == FollowUpOutcome.Kind.BOOKED and (booking is None or booking.member_id != task.member_id):
        errors["booking"] = _("Choose the member's appointment that was booked.")
    if errors:
        raise ValidationError(errors)
    outcome = FollowUpOutcome.objects.create(
        task=task, kind=kind, notes=notes, actor=actor, recorded_at=at,
        call_back_at=call_back_at if kind == FollowUpOutcome.Kind.CALL_BACK else None,
        booking=booking if kind == FollowUpOutcome.Kind.BOOKED else None)
    if kind in CLOSING_OUTCOMES:
        task.status, task.closed_at = FollowUpTask.Status.DONE, at
        if kind == FollowUpOutcome.Kind.BOOKED:
            task.booking = booking
    elif kind == FollowUpOutcome.Kind.CALL_BACK:
        task.due_at = call_back_at
    else:
        task.due_at = max(task.due_at, at) + NO_ANSWER_RETRY
    task.save(update_fields=["status", "closed_at", "booking", "due_at"])
    if kind == FollowUpOutcome.Kind.COMPLAINT:
        ComplaintCase.objects.create(member_id=task.member_id, task=task, outcome=outcome, details=notes,
                                     opened_by=actor, opened_at=at)
    return outcome


@transaction.atomic
def complaint_close(*, case: ComplaintCase, actor: User, resolution: str,
                    at: datetime | None = None) -> ComplaintCase:
    """A manager closes a complaint with what was done about it."""
    if not actor.has_perm(RESOLVE_COMPLAINT):
        raise PermissionDenied(_("Only owners and managers may close complaints."))
    case = ComplaintCase.objects.select_for_update().get(pk=case.pk)
    if case.status != ComplaintCase.Status.OPEN:
        raise ValidationError(_("This complaint is already closed."))
    if not resolution.strip():
        raise ValidationError({"resolution": _("Write down how the complaint was resolved.")})
    case.status, case.resolution = ComplaintCase.Status.CLOSED, resolution.strip()
    case.closed_by, case.closed_at = actor, at or timezone.now()
    case.save()
    return case


def local_due(day, at: time = time(10, 0)) -> datetime:
    """A due time on a local day, for forms that ask for a day only."""
    return datetime.combine(day, at, tzinfo=clinic_zone())

"""Reads of feedback and follow-up: the follow-up queue, a member's answers, and the measures
(NPS, response rate, practitioner ratings, follow-ups on time, recall conversion), each defined in
docs/kpis.md."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Avg, BooleanField, Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.utils import timezone

from appointments.availability import local_day_start
from appointments.models import Booking, Practitioner
from appointments.selectors import RecallEntry, recall_list
from feedback.links import LINK_VALID_FOR, survey_link_expires_at, survey_sent_link_path
from feedback.models import ComplaintCase, FollowUpOutcome, FollowUpRule, FollowUpTask, Survey, SurveyAnswer
from feedback.services import (
    ANSWER_EDITABLE_FOR,
    CATCH_UP,
    NPS_DETRACTOR_MAX,
    detractor_note_text,
    recall_guard_day,
    recall_guard_key,
    recall_note_text,
    survey_settings,
)
from members.models import Member
from points.rules import clinic_zone
from visits.models import Visit

# Promoters score at least this; detractors at most NPS_DETRACTOR_MAX (the score that opens a
# follow-up); passives are in between.
NPS_PROMOTER_MIN = 9
DETRACTOR = Q(nps_score__lte=NPS_DETRACTOR_MAX)
# Practitioner ratings with fewer answers than this are not shown.
RATING_MIN_ANSWERS = 5
# A recall counts as converted when the member books within this many days of it.
RECALL_CONVERSION_DAYS = 30


def feedback_work_exists(*, now: datetime) -> bool:
    """Whether the survey job has anything to do: a recent checked-out visit with no survey
    yet, a survey due, or an active follow-up rule."""
    rules = survey_settings()
    if Survey.objects.filter(status=Survey.Status.PENDING, due_at__lte=now).exists():
        return True
    if FollowUpRule.objects.filter(active=True).exists():
        return True
    return rules.enabled and Visit.objects.filter(
        source=Visit.Source.CHECKOUT, visited_at__lte=now, survey__isnull=True,
        visited_at__gte=now - timedelta(hours=rules.delay_hours) - CATCH_UP).exists()


def followup_note_text(task: FollowUpTask) -> str:
    """What a follow-up asks, for staff, in the request's language: a recall's note is worded
    now from its treatment and due day (its guard key); what staff wrote and the other notes are
    shown as written (as ledger entries' reasons are, `points.selectors.entry_reason_text`). A
    note erased with the member's data stays empty."""
    if task.kind == FollowUpTask.Kind.RECALL and task.note and task.treatment_id is not None:
        due_on = recall_guard_day(task.guard_key)
        if due_on is not None:
            return recall_note_text(treatment=task.treatment.name, due_on=due_on)
    if task.kind == FollowUpTask.Kind.DETRACTOR and task.note and task.answer_id is not None:
        # The answer's score as it stands (a member may change her answer).
        return detractor_note_text(task.answer.nps_score)
    return task.note


def _today_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    zone = clinic_zone()
    today = timezone.localtime(now or timezone.now(), zone).date()
    return local_day_start(today, zone), local_day_start(today + timedelta(days=1), zone)


def followup_queue(*, when: str = "", kind: str = "", practitioner_id: int | None = None,
                   assigned_to_id: int | None = None, now: datetime | None = None) -> QuerySet[FollowUpTask]:
    """Open follow-ups, soonest due first. `when`: "overdue" (due before today), "today" (due
    today), "upcoming" (after today), or "" for all. Filters by type, practitioner and the
    staff member assigned."""
    start, end = _today_bounds(now)
    tasks = (FollowUpTask.objects.filter(status=FollowUpTask.Status.OPEN)
             .select_related("member", "assigned_to", "practitioner__user", "treatment", "answer"))
    if when == "overdue":
        tasks = tasks.filter(due_at__lt=start)
    elif when == "today":
        tasks = tasks.filter(due_at__gte=start, due_at__lt=end)
    elif when == "upcoming":
        tasks = tasks.filter(due_at__gte=end)
    if kind:
        tasks = tasks.filter(kind=kind)
    if practitioner_id:
        tasks = tasks.filter(practitioner_id=practitioner_id)
    if assigned_to_id:
        tasks = tasks.filter(assigned_to_id=assigned_to_id)
    return tasks.order_by("due_at", "id")


def followup_counts(*, now: datetime | None = None) -> dict[str, int]:
    start, end = _today_bounds(now)
    return FollowUpTask.objects.filter(status=FollowUpTask.Status.OPEN).aggregate(
        overdue=Count("id", filter=Q(due_at__lt=start)),
        today=Count("id", filter=Q(due_at__gte=start, due_at__lt=end)),
        upcoming=Count("id", filter=Q(due_at__gte=end)))


def followup_list(*, member_id: int | None = None, status: str = "", kind: str = "") -> QuerySet[FollowUpTask]:
    tasks = FollowUpTask.objects.select_related("member", "assigned_to", "practitioner__user", "treatment", "answer")
    if member_id:
        tasks = tasks.filter(member_id=member_id)
    if status:
        tasks = tasks.filter(status=status)
    if kind:
        tasks = tasks.filter(kind=kind)
    return tasks.order_by("-created_at", "-id")


def followup_detail(task_id: int) -> FollowUpTask:
    return (FollowUpTask.objects.select_related("member", "assigned_to", "practitioner__user", "treatment",
                                                "answer", "visit", "booking")
            .prefetch_related("outcomes__actor", "outcomes__booking").get(pk=task_id))


def survey_list(*, member_id: int | None = None, answered: bool | None = None, start: datetime | None = None,
                end: datetime | None = None) -> QuerySet[Survey]:
    """Surveys (with their answers), newest first; `start`/`end` bound the time sent."""
    surveys = Survey.objects.select_related("member", "visit", "practitioner__user", "answer")
    if member_id:
        surveys = surveys.filter(member_id=member_id)
    if answered is not None:
        surveys = surveys.filter(answer__isnull=not answered)
    if start:
        surveys = surveys.filter(sent_at__gte=start)
    if end:
        surveys = surveys.filter(sent_at__lt=end)
    return surveys.order_by("-due_at", "-id")


# At most this many of a member's open surveys are listed (one survey per visit, and links last
# 30 days, so a member rarely has more than a few).
MEMBER_OPEN_SURVEYS_LIMIT = 50


@dataclass(frozen=True)
class OpenSurvey:
    """A survey the member can still act on: the page's address on this host (valid as long as
    the link they were sent), the visit's local day, and until when they can answer it or
    change their answer."""

    survey: Survey
    path: str
    visit_day: date
    open_until: datetime

    @property
    def answer(self) -> SurveyAnswer | None:
        return getattr(self.survey, "answer", None)


@dataclass(frozen=True)
class MemberOpenSurveys:
    """`waiting`: sent, not answered, link still valid; `editable`: answered, and the answer can
    still be changed through a link still valid. Newest sent first."""

    waiting: list[OpenSurvey]
    editable: list[OpenSurvey]


def member_open_surveys(*, member: Member, now: datetime | None = None,
                        limit: int = MEMBER_OPEN_SURVEYS_LIMIT) -> MemberOpenSurveys:
    """The member's surveys they can still answer or change, by the survey's own rules: the
    link lasts LINK_VALID_FOR after it was sent (feedback.links), an answer can be changed for
    ANSWER_EDITABLE_FOR after it was first given (survey_answer_submit). One query."""
    now = now or timezone.now()
    surveys = (Survey.objects.filter(member=member, status=Survey.Status.SENT, sent_at__gte=now - LINK_VALID_FOR,
                                     sent_at__lte=now)
               .filter(Q(answer__isnull=True) | Q(answer__answered_at__gte=now - ANSWER_EDITABLE_FOR))
               .select_related("visit", "practitioner__user", "answer").order_by("-sent_at", "-id")[:limit])
    zone = clinic_zone()
    waiting, editable = [], []
    for survey in surveys:
        link_until = survey_link_expires_at(survey)
        answer = getattr(survey, "answer", None)
        row = OpenSurvey(survey=survey, path=survey_sent_link_path(survey),
                         visit_day=timezone.localtime(survey.visit.visited_at, zone).date(),
                         open_until=link_until if answer is None
                         else min(link_until, answer.answered_at + ANSWER_EDITABLE_FOR))
        (waiting if answer is None else editable).append(row)
    return MemberOpenSurveys(waiting=waiting, editable=editable)


def member_answers(*, member: Member, limit: int = 10) -> list[SurveyAnswer]:
    return list(SurveyAnswer.objects.filter(member=member).select_related("survey__visit", "practitioner__user")
                .order_by("-answered_at", "-id")[:limit])


def member_recent_visits(*, member: Member, limit: int = 5) -> list[Visit]:
    return list(Visit.objects.filter(member=member).prefetch_related("lines").order_by("-visited_at", "-id")[:limit])


def complaint_list(*, status: str = "") -> QuerySet[ComplaintCase]:
    cases = ComplaintCase.objects.select_related("member", "opened_by", "closed_by", "task")
    return cases.filter(status=status) if status else cases


# Measures (docs/kpis.md, "Satisfaction and follow-up"). Periods are [start, end). With a
# `location_id`, a measure counts only what belongs to a visit at that location: the location of
# the appointment the visit checked out (as the Insights dashboard places visits). Walk-in visits
# and tasks without a visit (recalls, follow-ups written by hand) belong to no location.


def _at_location(location_id: int | None, visit: str) -> Q:
    """The rows whose visit (reached by the lookup path `visit`) is at the location; all rows
    without one."""
    return Q() if location_id is None else Q(**{f"{visit}__booking__location_id": location_id})


def answers_given(*, start: datetime, end: datetime, location_id: int | None = None) -> QuerySet[SurveyAnswer]:
    """The answers first given in the period (`answered_at` stays when an answer is changed)."""
    return SurveyAnswer.objects.filter(_at_location(location_id, "survey__visit"), answered_at__gte=start,
                                       answered_at__lt=end)


@dataclass(frozen=True)
class Nps:
    answers: int
    promoters: int
    passives: int
    detractors: int

    @property
    def score(self) -> float | None:
        """% promoters − % detractors, −100 to 100, to one decimal; None without answers."""
        if not self.answers:
            return None
        return round(100 * (self.promoters - self.detractors) / self.answers, 1)


def nps(*, start: datetime, end: datetime, location_id: int | None = None) -> Nps:
    """Over the answers first given in the period: promoters score 9–10, passives 7–8,
    detractors 0–6 (a changed answer counts with its latest score)."""
    return answer_figures(start=start, end=end, location_id=location_id)[0]


def detractor_member_ids(*, start: datetime, end: datetime, location_id: int | None = None) -> list[int]:
    """The members behind the detractors of `nps`: with an answer first given in the period
    whose (latest) score is a detractor's, in id order."""
    return list(answers_given(start=start, end=end, location_id=location_id).filter(DETRACTOR)
                .values_list("member_id", flat=True).distinct().order_by("member_id"))


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.numerator / self.denominator, 1) if self.denominator else None


def survey_response_rate(*, start: datetime, end: datetime, location_id: int | None = None) -> Rate:
    """Of the surveys sent in the period, how many have an answer (whenever it came)."""
    # A survey's answered_at is kept from its answer by the database (feedback migration 0005).
    row = Survey.objects.filter(_at_location(location_id, "visit"), status=Survey.Status.SENT, sent_at__gte=start,
                                sent_at__lt=end).aggregate(sent=Count("*"), answered=Count("answered_at"))
    return Rate(numerator=row["answered"], denominator=row["sent"])


@dataclass(frozen=True)
class PractitionerRating:
    practitioner_id: int
    name: str
    answers: int
    average: float | None


def practitioner_ratings(*, start: datetime, end: datetime, min_answers: int = RATING_MIN_ANSWERS,
                         location_id: int | None = None) -> list[PractitionerRating]:
    """Average practitioner rating (1–5, two decimals) per practitioner over the answers given in
    the period, with the number of answers; the average is None below `min_answers`."""
    return answer_figures(start=start, end=end, location_id=location_id, min_answers=min_answers)[1]


def answer_figures(*, start: datetime, end: datetime, location_id: int | None = None,
                   min_answers: int = RATING_MIN_ANSWERS) -> tuple[Nps, list[PractitionerRating]]:
    """`nps` and `practitioner_ratings` of the same answers, from one grouping of them by
    practitioner that reads only the columns of `survey_answer_time` (an index-only read; the
    counts name `nps_score`, never null, instead of the row's id)."""
    promoter = Q(nps_score__gte=NPS_PROMOTER_MIN)
    groups = list(answers_given(start=start, end=end, location_id=location_id).order_by()
                  .values("practitioner_id")
                  .annotate(answers=Count("nps_score"), promoters=Count("nps_score", filter=promoter),
                            detractors=Count("nps_score", filter=DETRACTOR), rated=Count("practitioner_rating"),
                            average=Avg("practitioner_rating")))
    answers, promoters, detractors = (sum(g[key] for g in groups) for key in ("answers", "promoters", "detractors"))
    score = Nps(answers=answers, promoters=promoters, passives=answers - promoters - detractors,
                detractors=detractors)
    rated = sorted((g for g in groups if g["practitioner_id"] is not None and g["rated"]),
                   key=lambda g: g["practitioner_id"])
    names = {p.pk: p.display_name or p.user.full_name or p.user.username
             for p in Practitioner.objects.filter(pk__in=[g["practitioner_id"] for g in rated]).select_related("user")}
    ratings = [PractitionerRating(
        practitioner_id=g["practitioner_id"], name=names[g["practitioner_id"]], answers=g["rated"],
        average=round(float(g["average"]), 2) if g["rated"] >= min_answers else None) for g in rated]
    return score, ratings


def followups_on_time(*, start: datetime, end: datetime, location_id: int | None = None) -> Rate:
    """Of the follow-ups first due in the period, how many were done (closed by an outcome)
    before the end of the local day they were first due."""
    zone = clinic_zone().key
    closed_by_day_end = RawSQL(
        "closed_at < ((date_trunc('day', first_due_at AT TIME ZONE %s) + interval '1 day') AT TIME ZONE %s)",
        (zone, zone), output_field=BooleanField())
    row = FollowUpTask.objects.filter(_at_location(location_id, "visit"), first_due_at__gte=start,
                                      first_due_at__lt=end).aggregate(
        # Counting first_due_at (never null), not the id: the index followup_first_due holds all it reads.
        total=Count("first_due_at"), on_time=Count("first_due_at", filter=Q(closed_by_day_end)))
    return Rate(numerator=row["on_time"], denominator=row["total"])


def recall_conversion(*, start: datetime, end: datetime, days: int = RECALL_CONVERSION_DAYS) -> Rate:
    """Of the recall follow-ups created in the period, how many members booked an appointment
    (any treatment, any status) within `days` after the recall was created."""
    booked = Booking.objects.filter(member_id=OuterRef("member_id"), created_at__gte=OuterRef("created_at"),
                                    created_at__lt=OuterRef("created_at") + timedelta(days=days))
    row = (FollowUpTask.objects.filter(kind=FollowUpTask.Kind.RECALL, created_at__gte=start, created_at__lt=end)
           .aggregate(total=Count("id"), converted=Count("id", filter=Exists(booked))))
    return Rate(numerator=row["converted"], denominator=row["total"])


def detractor_followups_open_at(*, at: datetime, location_id: int | None = None) -> QuerySet[FollowUpTask]:
    """The follow-ups of detractor answers that were open at the instant `at`: created before it
    and not closed before it (still open, or closed at or after `at`), whenever their answer came.
    With `at` in the future, the ones open now."""
    return FollowUpTask.objects.filter(_at_location(location_id, "visit"), kind=FollowUpTask.Kind.DETRACTOR,
                                       created_at__lt=at).filter(Q(closed_at__isnull=True) | Q(closed_at__gte=at))


def recall_outcomes(*, start: datetime, end: datetime, converted: bool | None = None) -> QuerySet[FollowUpTask]:
    """Recall follow-ups created in the period, each marked `converted` as `recall_conversion`
    counts it, with its latest outcome (`last_outcome`, None before the first), the number of
    outcomes, and the appointment linked by a "booked" outcome if any. `converted` keeps only
    the recalls that were (or were not) booked within 30 days."""
    booked = Booking.objects.filter(member_id=OuterRef("member_id"), created_at__gte=OuterRef("created_at"),
                                    created_at__lt=OuterRef("created_at") + timedelta(days=RECALL_CONVERSION_DAYS))
    last_outcome = FollowUpOutcome.objects.filter(task=OuterRef("pk")).order_by("-recorded_at", "-id")
    tasks = (FollowUpTask.objects.filter(kind=FollowUpTask.Kind.RECALL, created_at__gte=start, created_at__lt=end)
             .annotate(converted=Exists(booked), last_outcome=Subquery(last_outcome.values("kind")[:1]),
                       outcomes_count=Count("outcomes"))
             .select_related("member", "treatment", "booking"))
    if converted is not None:
        tasks = tasks.filter(converted=converted)
    return tasks.order_by("-created_at", "-id")


@dataclass(frozen=True)
class RecallRow:
    """A member due for the next session of a treatment, and the recall follow-up made for it
    (None before the day it is due: the daily job makes it then), with its latest outcome."""

    entry: RecallEntry
    task: FollowUpTask | None

    @property
    def contacted(self) -> bool:
        return self.task is not None and bool(self.task.outcomes_count)


def recall_board(*, within_days: int = 0, treatment_id: int | None = None,
                 contacted: bool | None = None) -> list[RecallRow]:
    """The recall list (`appointments.selectors.recall_list`: overdue, or due within
    `within_days`, no booking for it yet), each with its recall follow-up and whether anyone
    has recorded an outcome on it (`contacted`); `contacted` keeps only those that were (or
    were not) contacted. Most overdue first."""
    entries = recall_list(within_days=within_days, treatment_id=treatment_id)
    keys = {recall_guard_key(member_id=e.member.pk, treatment_id=e.treatment.pk, due_on=e.due_on): e
            for e in entries}
    last_outcome = FollowUpOutcome.objects.filter(task=OuterRef("pk")).order_by("-recorded_at", "-id")
    tasks = {task.guard_key: task for task in FollowUpTask.objects.filter(guard_key__in=list(keys)).annotate(
        last_outcome=Subquery(last_outcome.values("kind")[:1]), outcomes_count=Count("outcomes"))}
    rows = [RecallRow(entry=entry, task=tasks.get(key)) for key, entry in keys.items()]
    if contacted is not None:
        rows = [row for row in rows if row.contacted == contacted]
    return rows


def period_of_days(first: date, last: date) -> tuple[datetime, datetime]:
    """[start of `first`, start of the day after `last`) in the clinic's time zone."""
    zone = clinic_zone()
    return local_day_start(first, zone), local_day_start(last + timedelta(days=1), zone)

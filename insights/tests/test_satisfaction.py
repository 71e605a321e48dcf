"""Panel 11 (satisfaction) against the same figures computed here in plain Python from the test's
own records of the surveys, answers and follow-ups it made (docs/kpis.md, panel 11 and
"Satisfaction and follow-up"). The answers, edits and outcomes go through the feedback services."""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

from appointments.models import Booking
from appointments.schedule import location_create
from appointments.services import booking_check_in, booking_checkout, booking_create
from appointments.tests.conftest import upcoming_monday, world  # noqa: F401 - the world fixture
from checkout.services import LineInput, PaymentInput, checkout_complete
from feedback.models import FollowUpTask, Survey
from feedback.services import AnswerInput, followup_create, followup_outcome_record, survey_answer_submit
from members.models import Member
from members.services import member_register
from points.rules import clinic_zone


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=clinic_zone())


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return local(start, 0), local(end + timedelta(days=1), 0)


@dataclass
class Task:
    """A follow-up as the test made it."""

    member_id: int
    kind: str
    location: int | None
    created_at: datetime
    first_due_at: datetime
    closed_at: datetime | None = None


@dataclass
class Row:
    """One survey as the test made it: where its visit was, when it went, its answer."""

    member_id: int
    location: int | None
    status: str
    sent_at: datetime | None
    practitioner_id: int | None = None
    answered_at: datetime | None = None
    score: int | None = None  # the latest
    rating: int | None = None


@dataclass
class Made:
    rows: list[Row]
    tasks: list[Task]
    location_id: int
    empty_location_id: int
    names: dict[int, str]


def _visit(place, owner, member, at: datetime, *, practitioner=None):
    """A visit at the world's location (an appointment checked out) when a practitioner is given,
    else a walk-in (no location)."""
    if practitioner is None:
        return checkout_complete(member=member, actor=owner, at=at, lines=[LineInput(item_id=place.facial.pk)],
                                 payments=[PaymentInput("cash", Decimal("300.00"))]).visit
    day = at.astimezone(clinic_zone()).date()
    assert day.weekday() != 6, "the practitioners do not work on Sundays"
    starts = local(day, 9 + Booking.objects.filter(practitioner=practitioner, starts_at__date=day).count())
    booking = booking_create(member=member, treatment=place.facial, starts_at=starts, actor=owner,
                             practitioner=practitioner, now=starts - timedelta(hours=2))
    booking_check_in(booking=booking, actor=owner, now=starts)
    return booking_checkout(booking=booking, actor=owner, payments=[PaymentInput("cash", Decimal("300.00"))],
                            at=at).visit


@pytest.fixture
def made(world, owner, front_desk) -> Made:  # noqa: F811
    members = [member_register(name=f"顾客{n}", phone=f"1370000{n:04d}", actor=owner) for n in range(8)]
    a, b = world.dr_a, world.dr_b
    rows, tasks = [], []

    def survey(member, visit_at, *, practitioner=None, sent_at=None, status=Survey.Status.SENT):
        visit = _visit(world, owner, member, visit_at, practitioner=practitioner)
        row = Row(member.pk, world.location.pk if practitioner else None, status, sent_at,
                  practitioner.pk if practitioner else None)
        rows.append(row)
        return Survey.objects.create(visit=visit, member=member, practitioner=practitioner, status=status,
                                     due_at=sent_at or visit_at + timedelta(days=1), sent_at=sent_at), row

    def answer(made_survey, at, score, rating=None):
        the_survey, row = made_survey
        opened = FollowUpTask.objects.filter(kind="detractor", answer__survey=the_survey).exists()
        survey_answer_submit(survey=the_survey, data=AnswerInput(nps_score=score, practitioner_rating=rating), at=at)
        row.answered_at = row.answered_at or at
        row.score, row.rating = score, rating
        if score <= 6 and not opened:
            tasks.append(Task(row.member_id, "detractor", row.location, at, at))

    def close(at):
        """Work the last detractor follow-up made: reached at `at`."""
        task = FollowUpTask.objects.filter(kind="detractor").latest("id")
        followup_outcome_record(task=task, actor=front_desk, kind="reached", at=at)
        next(t for t in reversed(tasks) if t.kind == "detractor").closed_at = at

    m = members
    # December 2024: an unhappy walk-in whose follow-up is never worked, and one at the location
    # worked on 15 January.
    answer(survey(m[0], local(date(2024, 12, 10), 11), sent_at=local(date(2024, 12, 11), 11)),
           local(date(2024, 12, 11), 12), 4)
    answer(survey(m[1], local(date(2024, 12, 12), 11), practitioner=a, sent_at=local(date(2024, 12, 13), 10)),
           local(date(2024, 12, 13), 11), 5, 2)
    close(local(date(2025, 1, 15), 10))
    # January 2025. A visit at 23:30 on Friday 31 January, surveyed and answered (a detractor)
    # that night; its follow-up is worked the next morning: open at the end of January, late.
    answer(survey(m[2], local(date(2025, 1, 31), 23, 30), practitioner=a, sent_at=local(date(2025, 1, 31), 23, 40)),
           local(date(2025, 1, 31), 23, 50), 3, 1)
    close(local(date(2025, 2, 1), 10))
    # Answered 9 on 31 January, changed to 2 on 2 February: a January detractor (its first
    # answer time stays); its follow-up opens on 2 February and is worked the same day.
    changed = survey(m[3], local(date(2025, 1, 29), 15), sent_at=local(date(2025, 1, 30), 15))
    answer(changed, local(date(2025, 1, 31), 20), 9)
    answer(changed, local(date(2025, 2, 2), 10), 2)
    close(local(date(2025, 2, 2), 15))
    # Sent at 23:30 on 31 January, answered ten minutes after midnight: a January survey with a
    # February answer.
    answer(survey(m[4], local(date(2025, 1, 30), 11), practitioner=b, sent_at=local(date(2025, 1, 31), 23, 30)),
           local(date(2025, 2, 1), 0, 10), 10, 5)
    survey(m[5], local(date(2025, 1, 20), 11), practitioner=a, sent_at=local(date(2025, 1, 21), 10))  # no answer
    survey(m[6], local(date(2025, 1, 22), 11), status=Survey.Status.SKIPPED)  # not sent: turned off
    # Answered 2 on 24 January, changed to 8 the next day: a passive, whose follow-up stays open.
    softened = survey(m[7], local(date(2025, 1, 23), 11), practitioner=a, sent_at=local(date(2025, 1, 24), 10))
    answer(softened, local(date(2025, 1, 24), 12), 2, 3)
    answer(softened, local(date(2025, 1, 25), 12), 8, 4)
    # February 2025: five answers about practitioner A (the average is shown), three more about B
    # (four with the one above: hidden).
    for n, (day, score, rating) in enumerate([(5, 10, 5), (6, 9, 4), (10, 7, 4), (11, 6, 3), (12, 8, 4)]):
        answer(survey(m[n], local(date(2025, 2, day), 11), practitioner=a, sent_at=local(date(2025, 2, day), 18)),
               local(date(2025, 2, day), 20), score, rating)
        if score <= 6:
            close(local(date(2025, 2, day + 1), 9))  # the next morning: late
    for n, (day, score, rating) in enumerate([(13, 9, 5), (14, 0, 1), (15, 10, 5)]):
        answer(survey(m[n + 5], local(date(2025, 2, day), 11), practitioner=b, sent_at=local(date(2025, 2, day), 18)),
               local(date(2025, 2, day), 19), score, rating)
        if score <= 6:
            close(local(date(2025, 2, day), 21))  # the same evening: on time
    # A walk-in at 23:30 on 28 February, answered (6) that night; worked on 1 March.
    answer(survey(m[0], local(date(2025, 2, 28), 23, 30), sent_at=local(date(2025, 2, 28), 23, 45)),
           local(date(2025, 2, 28), 23, 55), 6)
    close(local(date(2025, 3, 1), 9))
    survey(m[1], local(date(2025, 2, 27), 11), status=Survey.Status.PENDING)  # not sent yet
    # Follow-ups written by hand (no visit, so no location): one done on its day, one never.
    for due, done in ((local(date(2025, 2, 10), 10), local(date(2025, 2, 10), 17)),
                      (local(date(2025, 2, 12), 10), None)):
        task = followup_create(member=m[2], actor=front_desk, due_at=due, note="回访", at=due - timedelta(days=1))
        if done:
            followup_outcome_record(task=task, actor=front_desk, kind="reached", at=done)
        tasks.append(Task(m[2].pk, "manual", None, due - timedelta(days=1), due, done))
    names = {a.pk: str(a.display_name or a.user.full_name), b.pk: str(b.display_name or b.user.full_name)}
    return Made(rows, tasks, world.location.pk, location_create(name="浦东店").pk, names)


def _here(item, location: int | None) -> bool:
    return location is None or item.location == location


def frac(numerator: int, denominator: int):
    return None if not denominator else round(numerator / denominator, 6)


def expected(made: Made, start: date, end: date, location: int | None = None) -> dict:
    lo, hi = bounds(start, end)
    given = [r for r in made.rows if r.answered_at and lo <= r.answered_at < hi and _here(r, location)]
    promoters = sum(1 for r in given if r.score >= 9)
    detractors = sum(1 for r in given if r.score <= 6)
    sent = [r for r in made.rows if r.status == "sent" and lo <= r.sent_at < hi and _here(r, location)]
    answered = sum(1 for r in sent if r.answered_at)
    ratings = []
    for practitioner in sorted({r.practitioner_id for r in given if r.practitioner_id and r.rating}):
        scores = [r.rating for r in given if r.practitioner_id == practitioner and r.rating]
        ratings.append({"practitioner": practitioner, "name": made.names[practitioner], "answers": len(scores),
                        "average": round(sum(scores) / len(scores), 2) if len(scores) >= 5 else None})
    due = [t for t in made.tasks if lo <= t.first_due_at < hi and _here(t, location)]

    def on_time(task):
        day_end = local(task.first_due_at.astimezone(clinic_zone()).date() + timedelta(days=1), 0)
        return task.closed_at is not None and task.closed_at < day_end

    done = sum(1 for t in due if on_time(t))
    open_at_end = [t for t in made.tasks if t.kind == "detractor" and t.created_at < hi and _here(t, location)
                   and (t.closed_at is None or t.closed_at >= hi)]
    return {
        "answers": len(given), "promoters": promoters, "passives": len(given) - promoters - detractors,
        "detractors": detractors,
        "nps": round(100 * (promoters - detractors) / len(given), 1) if given else None,
        "surveys_sent": len(sent), "surveys_answered": answered, "response_rate": frac(answered, len(sent)),
        "practitioner_ratings": ratings,
        "followups_due": len(due), "followups_done_on_time": done, "followups_on_time_rate": frac(done, len(due)),
        "detractor_followups_open": len(open_at_end),
        "_detractor_members": sorted({r.member_id for r in given if r.score <= 6}),
        "_open_members": sorted({t.member_id for t in open_at_end}),
    }


def api_get(client, path: str, **params):
    response = client.get(f"/api/v1/kpis/{path}/", params)
    assert response.status_code == 200, response.content
    return response.json()


PERIODS = [
    (date(2024, 12, 1), date(2024, 12, 31)),
    (date(2025, 1, 1), date(2025, 1, 31)),   # ends 30 minutes after the 23:30 visit on the 31st
    (date(2025, 1, 31), date(2025, 1, 31)),
    (date(2025, 2, 1), date(2025, 2, 28)),   # starts with the answer at 00:10
    (date(2025, 2, 1), date(2025, 2, 1)),
    (date(2025, 1, 1), date(2025, 3, 31)),
    (date(2025, 3, 1), date(2025, 3, 31)),   # nothing answered, sent or due: null, not 0
]


@pytest.mark.parametrize(("start", "end"), PERIODS)
def test_the_satisfaction_panel_matches_a_plain_computation(made, manager, staff_client, start, end):
    client = staff_client(manager)
    for location in (None, made.location_id, made.empty_location_id):
        params = {"from": start.isoformat(), "to": end.isoformat()}
        if location:
            params["location"] = location
        wanted = expected(made, start, end, location)

        got = api_get(client, "satisfaction", **params)
        summary = api_get(client, "summary", **params)["satisfaction"]
        detractors = api_get(client, "members", segment="detractors", **params)["members"]
        still_open = api_get(client, "members", segment="detractor_followups_open", **params)["members"]

        for key, value in wanted.items():
            if not key.startswith("_"):
                assert got[key] == value, (key, location)
        assert summary == got
        assert detractors == wanted["_detractor_members"]
        assert still_open == wanted["_open_members"]


def test_the_edges_fall_where_the_definitions_put_them(made, manager, staff_client):
    client = staff_client(manager)

    january = api_get(client, "satisfaction", **{"from": "2025-01-01", "to": "2025-01-31"})
    february = api_get(client, "satisfaction", **{"from": "2025-02-01", "to": "2025-02-28"})
    march = api_get(client, "satisfaction", **{"from": "2025-03-01", "to": "2025-03-31"})
    at_the_location = api_get(client, "satisfaction", **{"from": "2025-02-01", "to": "2025-02-28",
                                                         "location": made.location_id})

    # The answer changed from 9 to 2 on 2 February counts in January (its first answer), as a
    # detractor (its latest score); the 23:30 answer of 31 January is January's too.
    changed = next(r for r in made.rows if r.answered_at == local(date(2025, 1, 31), 20))
    assert changed.score == 2 and changed.member_id in api_get(
        client, "members", segment="detractors", **{"from": "2025-01-01", "to": "2025-01-31"})["members"]
    assert (january["answers"], january["detractors"], january["promoters"]) == (3, 2, 0)
    # The 23:30 follow-up of 31 January, worked the next morning, was open at the end of January
    # and not at the end of February.
    late = next(r for r in made.rows if r.answered_at == local(date(2025, 1, 31), 23, 50)).member_id
    assert late in api_get(client, "members", segment="detractor_followups_open",
                           **{"from": "2025-01-01", "to": "2025-01-31"})["members"]
    assert late not in api_get(client, "members", segment="detractor_followups_open",
                               **{"from": "2025-02-01", "to": "2025-02-28"})["members"]
    assert february["practitioner_ratings"][0]["average"] == 4.0
    assert february["practitioner_ratings"][1]["average"] is None
    assert february["practitioner_ratings"][1]["answers"] == 4
    # Nothing in March: rates and NPS are null, counts 0; the follow-ups still open are counted.
    assert (march["nps"], march["response_rate"], march["followups_on_time_rate"]) == (None, None, None)
    assert (march["answers"], march["surveys_sent"], march["followups_due"]) == (0, 0, 0)
    assert march["detractor_followups_open"] == 2
    # At the location: the walk-in answer of 28 February and the follow-ups without a visit at the
    # location (walk-ins', and those written by hand) drop out.
    lo, hi = bounds(date(2025, 2, 1), date(2025, 2, 28))
    nowhere = sum(1 for t in made.tasks if t.location is None and lo <= t.first_due_at < hi)
    assert at_the_location["answers"] == february["answers"] - 1
    assert at_the_location["followups_due"] == february["followups_due"] - nowhere and nowhere >= 3


def test_recall_conversion_and_follow_ups_open_now(world, owner, front_desk, manager, staff_client):  # noqa: F811
    now = timezone.now()
    today = timezone.localtime(now, clinic_zone()).date()
    for who in (world.member, world.member2):
        FollowUpTask.objects.create(member=who, kind=FollowUpTask.Kind.RECALL, due_at=now - timedelta(days=5),
                                    first_due_at=now - timedelta(days=5), created_at=now - timedelta(days=5))
    monday = upcoming_monday()
    booking_create(member=world.member, treatment=world.facial, starts_at=local(monday, 10), actor=owner,
                   practitioner=world.dr_a)
    recalls = list(FollowUpTask.objects.filter(kind="recall").values_list("member_id", "created_at"))
    bookings = list(Booking.objects.values_list("member_id", "created_at"))
    converted = sum(1 for member, created in recalls
                    if any(b == member and created <= at < created + timedelta(days=30) for b, at in bookings))
    unhappy = checkout_complete(member=world.member2, actor=owner, at=now - timedelta(hours=3),
                                lines=[LineInput(item_id=world.facial.pk)],
                                payments=[PaymentInput("cash", Decimal("300.00"))]).visit
    survey = Survey.objects.create(visit=unhappy, member=world.member2, status=Survey.Status.SENT,
                                   due_at=now - timedelta(hours=2), sent_at=now - timedelta(hours=2))
    survey_answer_submit(survey=survey, data=AnswerInput(nps_score=1), at=now - timedelta(hours=1))
    client = staff_client(manager)
    params = {"from": (today - timedelta(days=9)).isoformat(), "to": today.isoformat()}

    everywhere = api_get(client, "satisfaction", **params)
    elsewhere = api_get(client, "satisfaction", **params, location=world.location.pk)

    assert (everywhere["recalls"], everywhere["recalls_converted"]) == (2, converted) == (2, 1)
    assert everywhere["recall_conversion_rate"] == 0.5
    # Recalls have no visit: the location filter leaves recall conversion as it is.
    assert elsewhere["recall_conversion_rate"] == 0.5
    # A period ending today counts the follow-ups open now.
    assert everywhere["detractor_followups_open"] == 1 and elsewhere["detractor_followups_open"] == 0


def test_the_dashboard_shows_panel_11_and_exports_it(made, manager, staff_client, clinic):
    client = staff_client(manager)
    wanted = expected(made, date(2025, 2, 1), date(2025, 2, 28))
    previous = expected(made, date(2025, 1, 4), date(2025, 1, 31))  # February's previous period

    page = client.get("/insights/?preset=custom&from=2025-02-01&to=2025-02-28").content.decode()
    exported = client.get("/insights/export/satisfaction.csv?from=2025-02-01&to=2025-02-28")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))

    assert 'id="panel-satisfaction"' in page and 'data-chart="satisfaction"' in page
    nps_card = page[page.index('id="kpi-nps"'):page.index('id="kpi-response_rate"')]
    difference = round(wanted["nps"] - previous["nps"], 1)
    assert f'<div class="kpi-value">{wanted["nps"]}</div>' in nps_card
    assert f'{"+" if difference > 0 else ""}{difference:.1f}' in nps_card
    assert "segment=detractor_followups_open" in page
    with translation.override(clinic.language):
        labels = {key: gettext(key) for key in ("NPS", "Answers", "Detractor follow-ups open at the period's end")}
    values = {row[0]: row[1] for row in rows[1:]}
    assert len(rows[0]) == 3
    assert values[labels["NPS"]] == str(wanted["nps"]) and values[labels["Answers"]] == str(wanted["answers"])
    assert values[labels["Detractor follow-ups open at the period's end"]] == str(wanted["detractor_followups_open"])
    assert [row[2] for row in rows[-2:]] == [str(r["answers"]) for r in wanted["practitioner_ratings"]]


def test_the_members_behind_the_detractors_are_listed_in_the_clinic_language(made, manager, staff_client, clinic):
    client = staff_client(manager)
    wanted = expected(made, date(2025, 2, 1), date(2025, 2, 28))

    page = client.get("/insights/members/?segment=detractors&from=2025-02-01&to=2025-02-28").content.decode()

    with translation.override(clinic.language):
        assert gettext("Members with a detractor answer (0-6) given in the period") in page
    names = dict(Member.objects.values_list("pk", "name"))
    assert all(names[pk] in page for pk in wanted["_detractor_members"])
    assert all(names[pk] not in page for pk in set(names) - set(wanted["_detractor_members"]))

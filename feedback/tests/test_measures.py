"""The measures of docs/kpis.md on constructed data, the expected figures worked out by hand."""

from datetime import timedelta

from django.utils import timezone

from feedback.models import FollowUpTask, Survey, SurveyAnswer
from feedback.selectors import (
    Rate,
    followups_on_time,
    nps,
    practitioner_ratings,
    recall_conversion,
    survey_response_rate,
)
from feedback.services import AnswerInput, followup_create, followup_outcome_record
from members.services import member_register


def _answers(member, visit_of, catalogue, scores, *, practitioner=None, ratings=None, at=None):
    at = at or timezone.now() - timedelta(days=1)
    ratings = ratings or [None] * len(scores)
    for score, rating in zip(scores, ratings, strict=True):
        visit = visit_of(member, catalogue["ipl"], at=at - timedelta(days=1))
        survey = Survey.objects.create(visit=visit, member=member, practitioner=practitioner, due_at=at,
                                       status=Survey.Status.SENT, sent_at=at)
        SurveyAnswer.objects.create(survey=survey, member=member, practitioner=practitioner, nps_score=score,
                                    practitioner_rating=rating, answered_at=at, updated_at=at)


def test_nps_on_a_constructed_set(catalogue, member, visit_of):
    # 10 answers: promoters 10, 10, 9 (3); passives 8, 7 (2); detractors 6, 6, 3, 0, 5 (5).
    # NPS = 30% − 50% = −20.
    _answers(member, visit_of, catalogue, [10, 10, 9, 8, 7, 6, 6, 3, 0, 5])
    now = timezone.now()
    result = nps(start=now - timedelta(days=7), end=now)
    assert (result.answers, result.promoters, result.passives, result.detractors) == (10, 3, 2, 5)
    assert result.score == -20.0
    # Outside the period: nothing, and no score.
    assert nps(start=now - timedelta(days=30), end=now - timedelta(days=20)).score is None


def test_nps_rounds_to_one_decimal(catalogue, member, visit_of):
    # 3 answers: 2 promoters, 0 detractors: 66.666…% → 66.7.
    _answers(member, visit_of, catalogue, [9, 10, 7])
    now = timezone.now()
    assert nps(start=now - timedelta(days=7), end=now).score == 66.7


def test_practitioner_rating_is_hidden_below_five_answers(catalogue, member, visit_of, clinic_practitioner):
    _answers(member, visit_of, catalogue, [9, 9, 9, 9], practitioner=clinic_practitioner, ratings=[5, 4, 4, 3])
    now = timezone.now()
    [rating] = practitioner_ratings(start=now - timedelta(days=7), end=now)
    assert (rating.answers, rating.average) == (4, None)
    _answers(member, visit_of, catalogue, [9], practitioner=clinic_practitioner, ratings=[5])
    [rating] = practitioner_ratings(start=now - timedelta(days=7), end=now)
    # (5 + 4 + 4 + 3 + 5) / 5 = 4.2
    assert (rating.answers, rating.average) == (5, 4.2)


def test_response_rate(catalogue, member, visit_of):
    _answers(member, visit_of, catalogue, [9, 3])
    at = timezone.now() - timedelta(days=1)
    for _ in range(2):
        visit = visit_of(member, catalogue["ipl"], at=at - timedelta(days=1))
        Survey.objects.create(visit=visit, member=member, due_at=at, status=Survey.Status.SENT, sent_at=at)
    visit = visit_of(member, catalogue["ipl"], at=at - timedelta(days=1))
    Survey.objects.create(visit=visit, member=member, due_at=at, status=Survey.Status.SKIPPED)
    now = timezone.now()
    rate = survey_response_rate(start=now - timedelta(days=7), end=now)
    # 4 sent (the skipped one is not), 2 answered: 50%.
    assert (rate.numerator, rate.denominator, rate.percent) == (2, 4, 50.0)


def test_a_survey_knows_when_its_answer_was_given_whichever_way_the_answer_is_written(catalogue, member, visit_of):
    # The response rate counts a survey's answered_at, which the database keeps from the answer:
    # set by the service and by a plain insert, kept when the answer changes, cleared when it goes.
    from feedback.services import survey_answer_submit

    at = timezone.now() - timedelta(days=2)
    surveys = []
    for _ in range(3):
        visit = visit_of(member, catalogue["ipl"], at=at - timedelta(days=1))
        surveys.append(Survey.objects.create(visit=visit, member=member, due_at=at, status=Survey.Status.SENT,
                                             sent_at=at))
    first = survey_answer_submit(survey=surveys[0], data=AnswerInput(nps_score=8), at=at + timedelta(hours=1))
    survey_answer_submit(survey=surveys[0], data=AnswerInput(nps_score=2), at=at + timedelta(days=1))
    plain = SurveyAnswer.objects.create(survey=surveys[1], member=member, nps_score=10, answered_at=at,
                                        updated_at=at)
    answered = {s.pk: s.answered_at for s in Survey.objects.filter(pk__in=[s.pk for s in surveys])}
    assert answered == {surveys[0].pk: first.answered_at, surveys[1].pk: plain.answered_at, surveys[2].pk: None}
    now = timezone.now()
    assert survey_response_rate(start=now - timedelta(days=7), end=now) == Rate(numerator=2, denominator=3)

    plain.delete()
    surveys[1].refresh_from_db()
    assert surveys[1].answered_at is None
    assert survey_response_rate(start=now - timedelta(days=7), end=now) == Rate(numerator=1, denominator=3)


def test_followups_done_on_time(member, front_desk):
    now = timezone.now()
    on_time = followup_create(member=member, actor=front_desk, due_at=now, note="a", at=now)
    followup_outcome_record(task=on_time, actor=front_desk, kind="reached", at=now + timedelta(minutes=5))
    late = followup_create(member=member, actor=front_desk, due_at=now - timedelta(days=3), note="b",
                           at=now - timedelta(days=3))
    followup_outcome_record(task=late, actor=front_desk, kind="reached", at=now)
    followup_create(member=member, actor=front_desk, due_at=now - timedelta(days=2), note="c",
                    at=now - timedelta(days=2))
    rate = followups_on_time(start=now - timedelta(days=7), end=now + timedelta(days=1))
    # 3 first due in the period; only the first was done by the end of its due day.
    assert (rate.numerator, rate.denominator) == (1, 3)


def test_recall_conversion_counts_bookings_within_30_days(member, book):
    other = member_register(name="李四", phone="13900000002", actor=None)
    now = timezone.now()
    for who in (member, other):
        FollowUpTask.objects.create(member=who, kind=FollowUpTask.Kind.RECALL, due_at=now, first_due_at=now,
                                    created_at=now - timedelta(days=5))
    book(member)
    rate = recall_conversion(start=now - timedelta(days=10), end=now)
    assert (rate.numerator, rate.denominator, rate.percent) == (1, 2, 50.0)


def test_nps_and_ratings_over_a_constructed_year_match_a_count_by_hand(catalogue, member, visit_of,
                                                                       clinic_practitioner):
    from fractions import Fraction

    from feedback.selectors import period_of_days
    from feedback.services import survey_answer_submit
    from points.rules import clinic_zone

    # 40 answers, one every 9 days back from yesterday, scores and ratings cycling; a third of
    # them changed once within their week (the latest score counts, at the first answer's time).
    today = timezone.localdate(timezone.now(), clinic_zone())
    rows = []
    for n in range(40):
        at = timezone.now() - timedelta(days=1 + 9 * n, hours=n % 5)
        visit = visit_of(member, catalogue["ipl"], at=at - timedelta(days=1))
        survey = Survey.objects.create(visit=visit, member=member, practitioner=clinic_practitioner, due_at=at,
                                       status=Survey.Status.SENT, sent_at=at)
        score, rating = (n * 7) % 11, 1 + (n * 3) % 5
        survey_answer_submit(survey=survey, data=AnswerInput(nps_score=score, practitioner_rating=rating), at=at)
        if n % 3 == 0:
            score, rating = (score + 5) % 11, 1 + rating % 5
            survey_answer_submit(survey=survey, data=AnswerInput(nps_score=score, practitioner_rating=rating),
                                 at=at + timedelta(days=2))
        rows.append((timezone.localtime(at, clinic_zone()).date(), score, rating))

    for first, last in [(today - timedelta(days=89), today), (today - timedelta(days=364), today),
                        (today - timedelta(days=200), today - timedelta(days=100))]:
        mine = [(score, rating) for day, score, rating in rows if first <= day <= last]
        promoters = sum(1 for score, _ in mine if score >= 9)
        detractors = sum(1 for score, _ in mine if score <= 6)
        start, end = period_of_days(first, last)
        result = nps(start=start, end=end)
        assert (result.answers, result.promoters, result.detractors) == (len(mine), promoters, detractors)
        exact = Fraction(100 * promoters, len(mine)) - Fraction(100 * detractors, len(mine))
        assert abs(Fraction(result.score).limit_denominator(1000) - exact) <= Fraction(1, 20)
        [rating] = practitioner_ratings(start=start, end=end)
        assert rating.answers == len(mine)
        assert abs(Fraction(rating.average).limit_denominator(1000)
                   - Fraction(sum(r for _, r in mine), len(mine))) <= Fraction(1, 200)

"""RFM scores, the 8 cells and the lifecycle stages on a known data set (docs/segments.md works
the same example), and the stages at their boundary days in the clinic's time zone."""

from datetime import date, timedelta

import pytest

from insights.models import InsightsSettings
from insights.selectors import Period, Scope, kpi_rfm, rfm_scores
from segments.models import MemberScore
from segments.scoring import member_scores_refresh
from segments.tests.conftest import local

END = date(2026, 6, 14)


def days_ago(days: int, hour: int = 10, minute: int = 0):
    day = END - timedelta(days=days)
    return local(day.year, day.month, day.day, hour, minute)


@pytest.fixture
def known(make_member, catalogue, visit):
    """Five members with a visit in the 12-month window, one with only an older visit, one with none."""
    ipl, peel, cream = catalogue["ipl"], catalogue["peel"], catalogue["cream"]
    m = {name: make_member(name) for name in "ABCDEFH"}
    for ago in (5, 20, 40, 100):
        visit(m["A"], cream, days_ago(ago))        # 4 visits, 1200, last 5 days ago
    for ago in (100, 130, 160):
        visit(m["B"], ipl, days_ago(ago))          # 3 visits, 2400, last 100
    for ago in (200, 220, 240, 260, 280):
        visit(m["C"], cream, days_ago(ago))        # 5 visits, 1500, last 200
    visit(m["D"], peel, days_ago(30))              # 1 visit, 500, last 30
    for ago in (300, 320):
        visit(m["E"], ipl, days_ago(ago))          # 2 visits, 1600, last 300
    visit(m["F"], ipl, days_ago(400))              # outside the window
    return m


EXPECTED = {
    #     lifecycle   R  F  M  cell
    "A": ("active", 5, 4, 2, "general_value"),
    "B": ("dormant", 3, 3, 5, "important_value"),
    "C": ("lapsed", 2, 5, 3, "important_keep"),
    "D": ("new", 4, 1, 1, "general_develop"),
    "E": ("lapsed", 1, 2, 4, "important_win_back"),
    "F": ("lapsed", None, None, None, None),
}


def test_scores_cells_and_stages_of_the_known_data_set(known):
    written = member_scores_refresh(end=END)

    stored = {s.member.name: (s.lifecycle, s.r, s.f, s.m, s.cell)
              for s in MemberScore.objects.select_related("member")}
    assert written == 6
    assert stored == EXPECTED
    a = MemberScore.objects.get(member=known["A"])
    assert (a.recency_days, a.frequency, str(a.monetary), a.computed_on) == (5, 4, "1200.00", END)
    assert not MemberScore.objects.filter(member=known["H"]).exists()


def test_panel_6_reads_the_same_scores_as_the_store(known):
    member_scores_refresh(end=END)
    scope = Scope(Period(END.replace(day=1), END))

    live = {row[0]: (row[4], row[5], row[6], row[7]) for row in rfm_scores(scope=scope)}
    stored = {s.member_id: (s.r, s.f, s.m, s.cell) for s in MemberScore.objects.filter(r__isnull=False)}
    assert live == stored
    cells = {(c.recency, c.frequency): c.members for c in kpi_rfm(scope=scope) if c.members}
    assert cells == {(5, 4): 1, (3, 3): 1, (2, 5): 1, (4, 1): 1, (1, 2): 1}


def test_running_twice_writes_the_same_rows(known):
    member_scores_refresh(end=END)
    first = list(MemberScore.objects.order_by("member_id").values())
    member_scores_refresh(end=END)
    assert list(MemberScore.objects.order_by("member_id").values()) == first


@pytest.mark.parametrize("last_visit, stage", [
    ((90, 0, 0), "active"),       # local midnight 90 days before the end: still active
    ((91, 23, 59), "dormant"),    # a minute before that midnight
    ((180, 0, 0), "dormant"),
    ((181, 23, 59), "lapsed"),
])
def test_lifecycle_boundaries_in_the_clinic_time_zone(make_member, catalogue, visit, last_visit, stage):
    member = make_member("X")
    visit(member, catalogue["cream"], days_ago(400))  # an old first visit: not new
    visit(member, catalogue["cream"], days_ago(*last_visit))

    member_scores_refresh(end=END)

    assert MemberScore.objects.get(member=member).lifecycle == stage


@pytest.mark.parametrize("first_visit, stage", [((90, 0, 0), "new"), ((91, 23, 59), "active")])
def test_new_members_by_their_first_visit(make_member, catalogue, visit, first_visit, stage):
    member = make_member("Y")
    visit(member, catalogue["cream"], days_ago(*first_visit))
    visit(member, catalogue["cream"], days_ago(3))

    member_scores_refresh(end=END)

    assert MemberScore.objects.get(member=member).lifecycle == stage


def test_thresholds_are_clinic_settings(make_member, catalogue, visit):
    InsightsSettings.objects.update_or_create(pk=1, defaults={"new_days": 10, "active_days": 30, "lapsed_days": 60})
    member = make_member("Z")
    visit(member, catalogue["cream"], days_ago(45))

    member_scores_refresh(end=END)

    assert MemberScore.objects.get(member=member).lifecycle == "dormant"


def test_the_nightly_task_stores_yesterday_and_logs_its_run(make_member, catalogue, visit):
    from django.utils import timezone

    from jobs.models import JobRun
    from points.rules import local_date
    from segments.tasks import member_scores_nightly

    member = make_member("Nightly")
    visit(member, catalogue["cream"], timezone.now() - timedelta(days=3))

    counts = member_scores_nightly.apply().get()

    score = MemberScore.objects.get(member=member)
    assert counts["members_scored"] == 1
    assert score.computed_on == local_date(timezone.now()) - timedelta(days=1) and score.lifecycle == "new"
    assert JobRun.objects.filter(job="segments.tasks.member_scores_nightly").exists()

from datetime import timedelta

import pytest
import yaml
from django.utils import timezone

from tiers.models import MemberTier, Tier, TierChange, TierProgramme
from tiers.services import tier_upgrade_check

URL = "/api/v1/tiers/"
PROGRAMME = f"{URL}programme/"
JSON = "application/json"


@pytest.fixture
def desk(staff_client, front_desk):
    return staff_client(front_desk)


@pytest.fixture
def boss(staff_client, manager):
    return staff_client(manager)


def test_front_desk_reads_the_programme_and_tiers_but_cannot_change_them(desk, ladder):
    programme = desk.get(PROGRAMME)
    assert programme.status_code == 200
    assert programme.json()["basis"] == "spend_or_visits"
    assert [tier["name"] for tier in programme.json()["tiers"]] == ["普通", "银卡", "金卡", "钻石卡"]
    assert desk.get(URL).status_code == 200

    assert desk.put(PROGRAMME, {"basis": "spend", "window_months": 6, "grace_days": 0,
                                "downgrade_mode": "matching"}, content_type=JSON).status_code == 403
    assert desk.post(URL, {"rank": 4, "name": "黑卡", "min_spend": "90000", "min_visits": 30},
                     content_type=JSON).status_code == 403
    assert desk.patch(f"{URL}{ladder[1].pk}/", {"discount_percent": 50}, content_type=JSON).status_code == 403
    assert desk.delete(f"{URL}{ladder[3].pk}/").status_code == 403
    assert TierProgramme.objects.get().basis == "spend_or_visits"
    assert Tier.objects.get(pk=ladder[1].pk).discount_percent == 5
    assert Tier.objects.count() == 4


def test_a_manager_changes_the_programme_and_the_tiers(boss, ladder):
    programme = boss.put(PROGRAMME, {"basis": "spend", "window_months": 24, "grace_days": 60,
                                     "downgrade_mode": "matching"}, content_type=JSON)
    created = boss.post(URL, {"rank": 4, "name": "黑卡", "min_spend": "100000", "min_visits": 40,
                              "earn_multiplier": "3", "discount_percent": 15}, content_type=JSON)
    updated = boss.patch(f"{URL}{ladder[1].pk}/", {"perks": "生日当月双倍积分"}, content_type=JSON)
    deleted = boss.delete(f"{URL}{created.json()['id']}/")

    assert programme.status_code == 200, programme.json()
    assert (programme.json()["window_months"], programme.json()["downgrade_mode"]) == (24, "matching")
    assert created.status_code == 201, created.json()
    assert created.json()["earn_multiplier"] == "3.00"
    assert updated.status_code == 200 and updated.json()["perks"] == "生日当月双倍积分"
    assert deleted.status_code == 204
    assert Tier.objects.count() == 4


def test_bad_input_is_a_400_with_field_errors_in_the_clinic_language_and_changes_nothing(boss, ladder):
    typed_wrong = boss.post(URL, {"rank": "一", "name": "黑卡"}, content_type=JSON)
    too_cheap = boss.post(URL, {"rank": 4, "name": "黑卡", "min_spend": "30000", "min_visits": 30},
                          content_type=JSON)
    out_of_range = boss.put(PROGRAMME, {"basis": "often", "window_months": -1, "grace_days": 30,
                                        "downgrade_mode": "one_step"}, content_type=JSON)
    entry_threshold = boss.patch(f"{URL}{ladder[0].pk}/", {"min_visits": 2}, content_type=JSON)

    assert typed_wrong.status_code == 400
    assert typed_wrong.json()["error"]["fields"]["rank"] == ["请填写合法的整数值。"]
    assert too_cheap.status_code == 400
    assert set(too_cheap.json()["error"]["fields"]) == {"min_spend"}
    assert "钻石卡" in too_cheap.json()["error"]["fields"]["min_spend"][0]
    assert out_of_range.status_code == 400
    assert set(out_of_range.json()["error"]["fields"]) == {"basis", "window_months"}
    assert entry_threshold.status_code == 400
    assert set(entry_threshold.json()["error"]["fields"]) == {"min_visits"}
    assert Tier.objects.count() == 4
    assert Tier.objects.get(pk=ladder[0].pk).min_visits == 0
    assert TierProgramme.objects.get().window_months == 12


def test_deleting_the_entry_tier_is_refused(boss, ladder):
    response = boss.delete(f"{URL}{ladder[0].pk}/")

    assert response.status_code == 400
    assert response.json()["error"]["message"]
    assert Tier.objects.filter(pk=ladder[0].pk).exists()


@pytest.fixture
def gold_member(member, make_visit, front_desk):
    now = timezone.now()
    make_visit(member, "12000", now - timedelta(days=100))
    make_visit(member, "10000", now - timedelta(days=10))
    tier_upgrade_check(member=member, actor=front_desk, at=now, reason="结账升级")
    return member


def test_the_member_tier_page_in_a_fixed_number_of_queries(desk, gold_member, make_visit,
                                                          django_assert_max_num_queries):
    with django_assert_max_num_queries(34, info="16 statements (7 of them for tiers), each after "
                                               "django-tenants' SET search_path") as first:
        response = desk.get(f"{URL}members/{gold_member.pk}/")
    for days_ago in range(50, 300, 10):
        make_visit(gold_member, "100", timezone.now() - timedelta(days=days_ago))
    with django_assert_max_num_queries(len(first), info="more visits, same queries"):
        assert desk.get(f"{URL}members/{gold_member.pk}/").status_code == 200

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["tier"]["name"] == "金卡"
    assert body["programme"]["window_months"] == 12
    assert body["metrics"] == {"spend": "22000.00", "visits": 2}
    assert body["progress"]["next_tier"]["name"] == "钻石卡"
    assert (body["progress"]["spend_needed"], body["progress"]["visits_needed"]) == ("28000.00", 18)
    assert body["retention"]["qualifies_now"] is True
    assert body["retention"]["falls_short_on"] is not None
    assert (body["retention"]["spend_needed"], body["retention"]["visits_needed"]) == ("10000.00", 9)
    assert [(c["kind"], c["from_tier"], c["to_tier"], c["reason"]) for c in body["history"]] == [
        ("upgrade", "普通", "金卡", "结账升级")]


def test_a_member_who_never_moved_shows_the_entry_tier(desk, member):
    body = desk.get(f"{URL}members/{member.pk}/").json()

    assert (body["tier"]["name"], body["since"], body["history"]) == ("普通", None, [])
    assert body["progress"]["spend_needed"] == "5000.00"
    assert body["retention"]["downgrade_on"] is None


def test_only_a_manager_sets_a_tier_by_hand_with_a_reason(desk, boss, member, ladder):
    url = f"{URL}members/{member.pk}/set/"

    forbidden = desk.post(url, {"tier": ladder[3].pk, "reason": "朋友"}, content_type=JSON)
    no_reason = boss.post(url, {"tier": ladder[3].pk, "reason": ""}, content_type=JSON)
    no_tier = boss.post(url, {"tier": 999999, "reason": "补录"}, content_type=JSON)
    assert (forbidden.status_code, no_reason.status_code, no_tier.status_code) == (403, 400, 400)
    assert set(no_reason.json()["error"]["fields"]) == {"reason"}
    assert set(no_tier.json()["error"]["fields"]) == {"tier"}
    assert not MemberTier.objects.exists() and not TierChange.objects.exists()

    done = boss.post(url, {"tier": ladder[3].pk, "reason": "老会员卡迁移"}, content_type=JSON)

    assert done.status_code == 200, done.json()
    assert done.json()["tier"]["name"] == "钻石卡"
    assert done.json()["history"][0]["kind"] == "manual"
    assert done.json()["history"][0]["actor"]


def test_unknown_member_is_a_404(desk):
    assert desk.get(f"{URL}members/999999/").status_code == 404


def test_anonymous_gets_401(anon_client):
    assert anon_client.get(PROGRAMME).status_code == 401


def test_the_openapi_schema_documents_the_tier_endpoints(anon_client):
    schema = yaml.safe_load(anon_client.get("/api/schema/").content)

    paths = schema["paths"]
    assert {"get", "put"} <= set(paths["/api/v1/tiers/programme/"])
    assert {"get", "post"} <= set(paths["/api/v1/tiers/"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/tiers/{id}/"])
    assert "get" in paths["/api/v1/tiers/members/{id}/"]
    assert "post" in paths["/api/v1/tiers/members/{id}/set/"]
    member_tier = schema["components"]["schemas"]["MemberTierOutput"]["properties"]
    assert {"tier", "progress", "retention", "history"} <= set(member_tier)



def test_a_move_down_in_the_history_reads_in_the_requests_language(desk, gold_member, ladder):
    # Given a move down recorded by the nightly job (running in Chinese) after the grace period
    # that began on Saturday 11 July 2026
    TierChange.objects.create(member=gold_member, from_tier=ladder[2], to_tier=ladder[1], kind="downgrade",
                              reason="自 2026年7月11日 周六 起低于“金卡”的等级条件；30 天的宽限期已结束。",
                              metrics={"spend": "14000.00", "visits": 2, "below_since": "2026-07-11",
                                       "grace_days": 30})
    url = f"{URL}members/{gold_member.pk}/"

    english = desk.get(url, HTTP_ACCEPT_LANGUAGE="en").json()["history"][0]
    chinese = desk.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").json()["history"][0]

    assert english["reason_text"] == ("Below the thresholds of “金卡” since Sat 11 Jul 2026; the 30-day grace "
                                      "period has ended.")
    assert chinese["reason_text"] == "自 2026年7月11日 周六 起低于“金卡”的等级条件；30 天的宽限期已结束。"
    assert english["reason"] == chinese["reason"]  # as recorded

"""Who sees Insights, bad parameters, exports, the members behind a figure and the KPI settings."""

import csv
import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import yaml
from openpyxl import load_workbook

from checkout.services import LineInput, PaymentInput, checkout_complete
from insights.selectors import insights_settings
from members.services import member_register
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def two_visits(owner):
    category = category_create(name="护理", code="care")
    item = catalogue_item_create(kind=CatalogueItem.Kind.PRODUCT, name="面膜", sku="MASK", category=category,
                                 price=Decimal("88.00"))
    member = member_register(name="李小美", phone="13912345678", actor=owner)
    for day in (3, 17):
        checkout_complete(member=member, actor=owner, at=datetime(2025, 3, day, 15, tzinfo=ZONE),
                          lines=[LineInput(item_id=item.pk)], payments=[PaymentInput("cash", Decimal("88.00"))])
    return member


@pytest.mark.parametrize("role_fixture", ["front_desk", "practitioner"])
def test_front_desk_and_practitioners_get_403_on_pages_and_api(request, staff_client, role_fixture):
    client = staff_client(request.getfixturevalue(role_fixture))

    assert client.get("/insights/").status_code == 403
    assert client.get("/insights/members/?segment=active").status_code == 403
    assert client.get("/insights/export/summary.csv").status_code == 403
    assert client.get("/api/v1/kpis/summary/?from=2025-01-01&to=2025-01-31").status_code == 403
    assert "nav-insights" not in client.get("/").content.decode()


def test_a_visitor_is_sent_to_log_in(anon_client):
    response = anon_client.get("/insights/")

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_managers_and_owners_see_the_dashboard_with_its_figures(manager, owner, staff_client, two_visits):
    for user in (manager, owner):
        client = staff_client(user)
        page = client.get("/insights/?preset=custom&from=2025-03-01&to=2025-03-31")
        html = page.content.decode()

        assert page.status_code == 200
        assert 'id="nav-insights"' in html
        assert "¥176.00" in html
        assert 'id="panel-appointments"' in html and 'data-chart="cohorts"' in html


@pytest.mark.parametrize("query", [
    "from=2025-02-30&to=2025-03-01", "from=2025-03-10&to=2025-03-01", "to=2025-03-01", "from=abc&to=2025-01-01",
    "from=2025-01-01&to=2025-01-31&location=999999", "from=2025-01-01&to=2025-01-31&location=x",
    "from=1000-01-01&to=2025-01-01",
])
def test_bad_periods_get_400_with_the_api_error_shape(manager, staff_client, query):
    response = staff_client(manager).get(f"/api/v1/kpis/summary/?{query}")

    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "validation_error" and body["fields"]


@pytest.mark.parametrize("query", ["from=2025-13&to=2025-14", "from=2025-05&to=2025-01",
                                   "from=2025-01&to=2025-02&months=0", "from=2025-01&to=2025-02&months=99",
                                   "from=2025-1&to=2025-02"])
def test_bad_cohort_months_get_400(manager, staff_client, query):
    response = staff_client(manager).get(f"/api/v1/kpis/cohorts/?{query}")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_a_bad_period_on_the_page_says_so_and_shows_this_month(manager, staff_client):
    client = staff_client(manager)
    response = client.get("/insights/?preset=custom&from=2025-03-10&to=2025-03-01")

    assert response.status_code == 400
    assert "结束日期早于开始日期。" in response.content.decode()  # the clinic's language
    client.cookies["django_language"] = "en"
    response = client.get("/insights/?preset=custom&from=2025-03-10&to=2025-03-01")
    assert "The period ends before it starts." in response.content.decode()


def test_every_panel_has_json(manager, staff_client, two_visits):
    client = staff_client(manager)
    params = "from=2025-03-01&to=2025-03-31"

    for panel in ("summary", "series", "rfm", "tiers", "points", "referrals", "appointments", "satisfaction"):
        assert client.get(f"/api/v1/kpis/{panel}/?{params}").status_code == 200, panel
    summary = client.get(f"/api/v1/kpis/summary/?{params}").json()
    assert summary["visits"] == 2 and summary["revenue"] == "176.00" and summary["repeat_rate"] == 1.0
    assert summary["points"]["issued"] > 0


def test_tables_export_as_csv_and_xlsx(manager, staff_client, two_visits):
    client = staff_client(manager)

    response = client.get("/insights/export/series.csv?from=2025-03-01&to=2025-03-31")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    xlsx = client.get("/insights/export/tiers.xlsx?from=2025-03-01&to=2025-03-31")
    workbook = load_workbook(io.BytesIO(xlsx.content))

    assert response["Content-Disposition"].startswith("attachment;")
    assert len(rows[0]) == 4
    assert ["2025-03-03", "1", "88.00", "1"] in rows and len(rows) == 32
    assert workbook.active.max_row == 1 + len(client.get("/api/v1/kpis/tiers/?from=2025-03-01&to=2025-03-31").json())
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert client.get("/insights/export/nothing.csv").status_code == 404


def test_the_members_behind_a_figure_are_listed_and_exported(manager, staff_client, two_visits):
    client = staff_client(manager)

    page = client.get("/insights/members/?segment=repeat&from=2025-03-01&to=2025-03-31")
    exported = client.get("/insights/members/?segment=repeat&from=2025-03-01&to=2025-03-31&fmt=csv")

    assert "李小美" in page.content.decode()
    assert two_visits.member_number in exported.content.decode("utf-8-sig")
    april = client.get("/insights/members/?segment=repeat&from=2025-04-01&to=2025-04-30")
    assert "李小美" not in april.content.decode()
    assert client.get("/insights/members/?segment=bogus&from=2025-03-01&to=2025-03-31").status_code == 400


def test_managers_change_the_lifecycle_thresholds(manager, staff_client):
    client = staff_client(manager)

    refused = client.post("/manage/insights/", {"new_days": 90, "active_days": 120, "lapsed_days": 100,
                                                "rfm_months": 12})
    new_too_long = client.post("/manage/insights/", {"new_days": 90, "active_days": 60, "lapsed_days": 150,
                                                     "rfm_months": 6})
    saved = client.post("/manage/insights/", {"new_days": 30, "active_days": 60, "lapsed_days": 150, "rfm_months": 6})

    assert refused.status_code == 400 and new_too_long.status_code == 400
    assert saved.status_code == 302
    row = insights_settings()
    assert (row.new_days, row.active_days, row.lapsed_days, row.rfm_months) == (30, 60, 150, 6)


def test_the_front_desk_cannot_change_kpi_settings(front_desk, staff_client):
    assert staff_client(front_desk).post("/manage/insights/", {"active_days": 10, "lapsed_days": 20,
                                                                 "rfm_months": 3}).status_code == 403
    assert insights_settings().active_days == 90


def test_the_schema_documents_the_kpi_query_parameters(anon_client):
    paths = yaml.safe_load(anon_client.get("/api/schema/").content)["paths"]

    summary = {p["name"]: p for p in paths["/api/v1/kpis/summary/"]["get"]["parameters"]}
    cohorts = {p["name"] for p in paths["/api/v1/kpis/cohorts/"]["get"]["parameters"]}

    assert {"from", "to", "location"} <= set(summary) and summary["from"]["required"]
    assert summary["from"]["schema"]["format"] == "date"
    assert {"from", "to", "months", "location"} <= cohorts

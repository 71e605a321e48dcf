"""The clinic clock and the one way dates are shown: the last usable local day of an instant, a
moment and a day in both languages, in a time zone without daylight saving time (Asia/Shanghai)
and one with it (Europe/Berlin); the clinic schema on every log line."""

import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.template import Context, Template
from django.utils import translation
from django_tenants.log import TenantContextFilter

from clinics.context import clinic_key, clinic_zone, last_local_day, local_date, local_midnight
from clinics.formatting import day_text, last_day_text, moment_text, stamp_text

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def zone(clinic, request):
    """The clinic's time zone set to the parameter for the test (the row is rolled back)."""
    previous = clinic.time_zone
    clinic.time_zone = request.param
    yield ZoneInfo(request.param)
    clinic.time_zone = previous


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin"], indirect=True)
def test_points_expiring_at_local_midnight_are_valid_until_the_day_before(zone):
    expires_at = datetime(2027, 1, 1, 0, 0, tzinfo=zone)

    assert clinic_zone() == zone
    assert last_local_day(expires_at) == date(2026, 12, 31)
    assert last_local_day(expires_at + timedelta(microseconds=1)) == date(2027, 1, 1)
    assert local_midnight(date(2027, 1, 1)) == expires_at


@pytest.mark.parametrize("zone", ["Europe/Berlin"], indirect=True)
def test_last_day_across_the_daylight_saving_change(zone):
    # Berlin springs forward on 2026-03-29 at 02:00 (the day has 23 hours) and falls back on
    # 2026-10-25 (25 hours): midnight is still midnight.
    for day in (date(2026, 3, 29), date(2026, 3, 30), date(2026, 10, 25), date(2026, 10, 26)):
        midnight = local_midnight(day)
        assert last_local_day(midnight) == day - timedelta(days=1)
        assert local_date(midnight) == day
    # (aware datetimes of one zone subtract as wall-clock times: compare them in UTC)
    assert (local_midnight(date(2026, 3, 30)).astimezone(UTC)
            - local_midnight(date(2026, 3, 29)).astimezone(UTC)) == timedelta(hours=23)
    # The same instant is a different day in Shanghai and in Berlin.
    instant = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
    assert last_local_day(instant) == date(2026, 12, 31)


@pytest.mark.parametrize("zone", ["Asia/Shanghai"], indirect=True)
def test_an_instant_near_midnight_is_the_clinics_day_not_utcs(zone):
    instant = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # 2027-01-01 00:00 in Shanghai
    assert last_local_day(instant) == date(2026, 12, 31)
    assert local_date(instant) == date(2027, 1, 1)


@pytest.mark.parametrize("zone", ["Asia/Shanghai"], indirect=True)
def test_moments_and_days_read_the_same_way_in_both_languages(zone):
    at = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai, a Saturday
    with translation.override("en"):
        assert moment_text(at) == "Sat 5 Dec 11:00"
        assert stamp_text(at) == "Sat 5 Dec 2026 11:00"
        assert day_text(date(2026, 12, 5)) == "Sat 5 Dec 2026"
        assert last_day_text(datetime(2027, 1, 1, tzinfo=zone)) == "Thu 31 Dec 2026"
    with translation.override("zh-hans"):
        assert moment_text(at) == "12月5日 周六 11:00"
        assert stamp_text(at) == "2026年12月5日 周六 11:00"
        assert day_text(date(2026, 12, 5)) == "2026年12月5日 周六"
        assert last_day_text(datetime(2027, 1, 1, tzinfo=zone)) == "2026年12月31日 周四"
        assert moment_text(None) == "" and last_day_text(None) == ""


@pytest.mark.parametrize("zone", ["Asia/Shanghai"], indirect=True)
def test_the_template_filters(zone):
    rendered = Template("{% load clinic_time %}{{ at|moment }}|{{ until|last_day }}|{{ until|last_date|date:'Y-m-d' }}")
    with translation.override("en"):
        text = rendered.render(Context({"at": datetime(2026, 12, 5, 3, 0, tzinfo=UTC),
                                        "until": datetime(2027, 1, 1, tzinfo=zone)}))
    assert text == "Sat 5 Dec 11:00|Thu 31 Dec 2026|2026-12-31"


def test_per_clinic_keys_carry_the_schema(clinic):
    assert clinic_key("config") == f"{clinic.schema_name}:config"


def test_every_log_line_names_the_clinic_schema(clinic):
    handler = settings.LOGGING["handlers"]["console"]
    assert "clinic" in handler["filters"]
    assert settings.LOGGING["filters"]["clinic"]["()"] == "django_tenants.log.TenantContextFilter"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    assert TenantContextFilter().filter(record)
    formatter = logging.Formatter(settings.LOGGING["formatters"]["clinic"]["format"])
    assert formatter.format(record) == f"[{connection.schema_name}] INFO x: hello"
    assert connection.schema_name == clinic.schema_name

"""The member portal (/m/) against generated input: every page of portal/urls.py, asked with GET
and POST by a signed-in member with query strings and form fields drawn by Hypothesis (the field
names the portal's forms and views read, and any others; values from empty to long, Chinese,
control characters and NUL, numbers and dates out of range), never answers with a server error.

The portal is server-rendered and has no OpenAPI schema, so schemathesis has nothing to check
it against; this is the bounded, seeded equivalent (tests/test_api_schemathesis.py covers the
staff API). Its examples are few per page and derandomized, so a run is repeatable."""

import re
from datetime import time, timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from appointments.schedule import Period, location_create, practitioner_create, working_hours_set
from appointments.services import booking_create
from members.services import ConsentInput, member_register
from portal import urls as portal_urls
from portal.tests.conftest import member_client
from visits.services import catalogue_item_create, category_create

EXAMPLES_PER_PAGE = 12
FIELDS = ("phone", "code", "next", "p", "everywhere", "name", "gender", "birthday", "email", "language",
          "purpose", "granted", "referral_code", "consent", "starts_at", "treatment", "practitioner",
          "location", "day", "reason", "reward", "quantity", "coupon", "tab", "answer", "score", "comment",
          "confirm", "page", "ref", "month", "year", "lunar", "celebrates_lunar_birthday", "channel")
NASTY = st.sampled_from(["", "0", "-1", "99999999999999999999", "1e309", "NaN", "2026-13-45", "2026-02-30T25:61",
                         "2026-06-01T10:00:00+08:00", "\x00", "a\x00b", "\u200b", "<script>", "../../etc", "' OR 1=1",
                         "林小美", "x" * 5000, "+8613800138000", "13800138000", "true", "on"])
VALUES = st.one_of(NASTY, st.text(max_size=40), st.integers(-10**12, 10**12).map(str))
FORM = st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(min_size=1, max_size=12)), VALUES, max_size=6)


def page_paths() -> list[str]:
    """Every portal address, with <int:…> filled in later."""
    return [f"/m/{pattern.pattern}" for pattern in portal_urls.urlpatterns]


PAGES = page_paths()


@pytest.fixture
def world(clinic):
    """A member with a booking, a bookable treatment and a practitioner, so pages with ids have
    something real to point at."""
    member = member_register(name="林小美", phone="+8613800138000", actor=None,
                             consents=[ConsentInput(purpose="data_processing", granted=True)])
    category = category_create(name="护理", code="care")
    treatment = catalogue_item_create(kind="treatment", name="补水", sku="T-1", category=category,
                                      price=100, duration_minutes=30)
    location = location_create(name="总店")
    practitioner = practitioner_create(user=User.objects.get(username="owner"), treatments=[treatment])
    working_hours_set(practitioner=practitioner, periods=[
        Period(location_id=location.pk, weekday=day, starts=time(9), ends=time(18)) for day in range(7)])
    starts = (timezone.localtime() + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    booking = booking_create(member=member, treatment=treatment, starts_at=starts, practitioner=practitioner,
                             location=location, actor=None)
    return member, booking.pk


@settings(max_examples=EXAMPLES_PER_PAGE, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
@pytest.mark.parametrize("page", PAGES)
def test_no_portal_page_answers_generated_input_with_a_server_error(page, data, clinic, world):
    member, booking = world
    client = member_client(clinic, member, raise_request_exception=False)
    ids = st.sampled_from([booking, 0, 1, 2**31 - 1, 2**40])
    path = re.sub(r"<int:\w+>", lambda _match: str(data.draw(ids)), page)
    path = re.sub(r"<\w+:\w+>|<\w+>", "x", path)
    query = data.draw(FORM, label="query")
    form = data.draw(FORM, label="form")
    answer = client.get(path, query)
    assert answer.status_code < 500, (path, query)
    answer = client.post(path, form)
    assert answer.status_code < 500, (path, form)

"""The location filter: a visit is at the location of the appointment it checked out; walk-ins
belong to no location."""

from decimal import Decimal

from appointments.schedule import location_create
from appointments.services import booking_check_in, booking_checkout, booking_create
from appointments.tests.conftest import local, upcoming_monday, world  # noqa: F401 - the world fixture
from checkout.services import LineInput, PaymentInput, checkout_complete


def test_a_location_counts_its_own_visits_and_appointments(world, owner, manager, staff_client):  # noqa: F811
    monday = upcoming_monday()
    booking = booking_create(member=world.member, treatment=world.botox, starts_at=local(monday, 10), actor=owner,
                             practitioner=world.dr_a, now=local(monday, 8))
    booking_check_in(booking=booking, actor=owner, now=local(monday, 10))
    booking_checkout(booking=booking, actor=owner, payments=[PaymentInput("cash", Decimal("2000.00"))],
                     at=local(monday, 10, 30))
    checkout_complete(member=world.member2, actor=owner, at=local(monday, 15),
                      lines=[LineInput(item_id=world.facial.pk)], payments=[PaymentInput("cash", Decimal("300.00"))])
    elsewhere = location_create(name="浦东店")
    client = staff_client(manager)
    day = {"from": monday.isoformat(), "to": monday.isoformat()}

    everywhere = client.get("/api/v1/kpis/summary/", day).json()
    here = client.get("/api/v1/kpis/summary/", {**day, "location": world.location.pk}).json()
    there = client.get("/api/v1/kpis/summary/", {**day, "location": elsewhere.pk}).json()
    cohort = client.get("/api/v1/kpis/cohorts/", {"from": f"{monday:%Y-%m}", "to": f"{monday:%Y-%m}",
                                                  "location": world.location.pk}).json()

    assert (everywhere["visits"], everywhere["revenue"]) == (2, "2300.00")
    assert (here["visits"], here["revenue"], here["active_members"]) == (1, "2000.00", 1)
    assert here["appointments"]["bookings"] == 1 and here["appointments"]["completed"] == 1
    assert (there["visits"], there["revenue"], there["appointments"]["bookings"]) == (0, "0.00", 0)
    assert cohort[0]["size"] == 1

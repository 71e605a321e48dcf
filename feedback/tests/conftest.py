from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from checkout.services import LineInput, PaymentInput, checkout_complete
from members.services import member_register
from points.models import LoyaltySettings
from points.rules import clinic_zone
from tiers.models import Tier
from visits.services import catalogue_item_create, category_create


@pytest.fixture
def catalogue(db):
    lasers = category_create(name="光电类", code="lasers")
    skincare = category_create(name="护肤品", code="skincare")
    return {
        "ipl": catalogue_item_create(kind="treatment", name="光子嫩肤", sku="IPL-1", category=lasers,
                                     price=Decimal("800.00"), duration_minutes=45, recall_days=30),
        "peel": catalogue_item_create(kind="treatment", name="果酸焕肤", sku="PEEL-1", category=lasers,
                                      price=Decimal("500.00"), duration_minutes=30),
        "cream": catalogue_item_create(kind="product", name="修护面霜", sku="CR-1", category=skincare,
                                       price=Decimal("300.00")),
        "lasers": lasers,
    }


@pytest.fixture
def member(db):
    LoyaltySettings.objects.get_or_create(pk=1)
    # No tier discount, so a visit's bill is the item's price.
    Tier.objects.update(discount_percent=0)
    return member_register(name="张小美", phone="13812345678", actor=None)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=clinic_zone())


@pytest.fixture
def visit_of():
    def make(member, item, at=None, actor=None):
        at = at or timezone.now() - timedelta(hours=30)
        return checkout_complete(member=member, actor=actor, at=at, lines=[LineInput(item_id=item.pk, quantity=1)],
                                 payments=[PaymentInput(method="cash", amount=item.price)]).visit

    return make


@pytest.fixture
def quiet_hours_off(db):
    """Tests that run the job at the real time of day: no quiet hours, so the hour they run at
    does not matter."""
    from datetime import time

    from messaging.services import messaging_settings_update
    messaging_settings_update(actor=None, quiet_hours_start=time(0, 0), quiet_hours_end=time(0, 0))


@pytest.fixture
def clinic_practitioner(make_staff, catalogue):
    """A practitioner who performs 光子嫩肤, working 09:00–18:00 every day at one location."""
    from datetime import time

    from accounts.roles import Role
    from appointments.schedule import Period, location_create, practitioner_create, working_hours_set
    location = location_create(name="总店")
    practitioner = practitioner_create(user=make_staff(Role.PRACTITIONER, full_name="李医生"),
                                       treatments=[catalogue["ipl"]])
    working_hours_set(practitioner=practitioner, periods=[
        Period(location_id=location.pk, weekday=day, starts=time(9), ends=time(18)) for day in range(7)])
    return practitioner


@pytest.fixture
def book(clinic_practitioner, catalogue):
    def make(member, days_ahead: int = 2):
        from appointments.services import booking_create
        day = timezone.localdate(timezone.now(), clinic_zone()) + timedelta(days=days_ahead)
        return booking_create(member=member, treatment=catalogue["ipl"], actor=None,
                              starts_at=datetime.combine(day, datetime.min.time().replace(hour=10),
                                                         tzinfo=clinic_zone()))

    return make


@pytest.fixture
def london_clinic(clinic):
    """The test clinic in Europe/London (eight hours behind Shanghai in March), so a time taken
    on the server's default clock instead of the clinic's shows."""
    from clinics.models import Clinic
    original = clinic.time_zone
    Clinic.objects.filter(pk=clinic.pk).update(time_zone="Europe/London")
    clinic.time_zone = "Europe/London"
    yield clinic
    Clinic.objects.filter(pk=clinic.pk).update(time_zone=original)
    clinic.time_zone = original

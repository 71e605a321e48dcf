"""The treatment packages' section of the prepaid liability report."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from packages.tests.test_sell_use import sell, use
from points.rules import local_date
from storedvalue.selectors import liability_report

D = Decimal


def test_the_liability_report_has_a_packages_section_that_reconciles(member, ipl_package, catalogue, front_desk,
                                                                    staff_client, manager):
    now = timezone.now()
    sell(member, ipl_package, front_desk, at=now - timedelta(days=10))
    use(member, ipl_package, catalogue["ipl"], front_desk, at=now - timedelta(days=5))
    today = local_date(now)

    report = liability_report(as_of=today, since=today - timedelta(days=30))
    section = next(section for section in report.sections if section.key == "packages")
    assert section.opening == 0 and section.total == D("666.67") and section.reconciles
    assert {line.key: line.amount for line in section.movements} == {
        "packages:sold": D("1000.00"), "packages:used": D("-333.33")}
    earlier = liability_report(as_of=today - timedelta(days=7), since=today - timedelta(days=30))
    assert next(s for s in earlier.sections if s.key == "packages").total == D("1000.00")
    later = liability_report(as_of=today, since=today - timedelta(days=7))
    section = next(s for s in later.sections if s.key == "packages")
    assert section.opening == D("1000.00") and section.reconciles
    page = staff_client(manager).get("/stored-value/liability/").content.decode()
    assert 'id="liability-packages"' in page

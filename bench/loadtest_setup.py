"""The clinics a load test (bench/locustfile.py) runs against: N clinics with members, a
catalogue, a practitioner with working hours, an owner's API token and signed-in member-portal
sessions. Writes what the load test needs to a JSON file.

    DJANGO_SETTINGS_MODULE=clinic_loyalty.settings.test DATABASE_URL=... \\
        python -m bench.loadtest_setup --clinics 10 --members 2000 --out loadtest.json

Run it on a database of its own (it replaces clinics called load001...), migrated with
`manage.py migrate_platform`.
"""

import argparse
import json
import os
from datetime import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_loyalty.settings.test")
django.setup()

from decimal import Decimal  # noqa: E402

from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from accounts.models import User  # noqa: E402
from appointments.schedule import Period, location_create, practitioner_create, working_hours_set  # noqa: E402
from bench.clinic_data import fresh_clinic, members_fill  # noqa: E402
from clinics.context import clinic_host  # noqa: E402
from members.models import Member  # noqa: E402
from members.naming import phone_normalize  # noqa: E402
from portal.auth import member_session_create  # noqa: E402
from visits.services import catalogue_item_create, category_create  # noqa: E402

PORTAL_SESSIONS = 50


def clinic_setup(number: int, members: int) -> dict:
    clinic = fresh_clinic(f"load{number:03d}")
    members_fill(clinic, members, seed=number)
    with schema_context(clinic.schema_name):
        owner = User.objects.get(username="owner")
        category = category_create(name="护肤", code="skincare")
        product = catalogue_item_create(kind="product", name="修护面霜", sku="CR-1", category=category,
                                        price=Decimal("300.00"))
        treatment = catalogue_item_create(kind="treatment", name="补水护理", sku="TR-1", category=category,
                                          price=Decimal("500.00"), duration_minutes=30)
        location = location_create(name="总店")
        practitioner = practitioner_create(user=owner, treatments=[treatment], actor=owner)
        working_hours_set(practitioner=practitioner, actor=owner, periods=[
            Period(location_id=location.pk, weekday=weekday, starts=time(9), ends=time(21))
            for weekday in range(7)])
        token = Token.objects.get_or_create(user=owner)[0].key
        member_rows = list(Member.objects.order_by("pk").values_list("pk", "phone")[:members])
        sessions = [member_session_create(member=Member.objects.get(pk=pk))[1]
                    for pk, _phone in member_rows[:PORTAL_SESSIONS]]
    connection.set_schema_to_public()
    return {"host": clinic_host(clinic), "token": token, "product": product.pk, "treatment": treatment.pk,
            "practitioner": practitioner.pk, "location": location.pk,
            "members": [pk for pk, _phone in member_rows],
            # The generated numbers are not all numbers the sign-in form accepts as real.
            "phones": [phone for _pk, phone in member_rows if _valid(phone)],
            "portal_sessions": sessions}


def _valid(phone: str) -> bool:
    try:
        phone_normalize(phone)
    except Exception:  # noqa: BLE001 - any refusal means "not a sign-in number"
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clinics", type=int, default=10)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--out", default="loadtest.json")
    options = parser.parse_args()
    clinics = []
    for number in range(options.clinics):
        clinics.append(clinic_setup(number, options.members))
        print(f"clinic {number + 1} of {options.clinics} ready", flush=True)
    with open(options.out, "w") as out:
        json.dump({"clinics": clinics}, out)


if __name__ == "__main__":
    main()

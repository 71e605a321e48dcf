"""A clinic day under load (docs/operations.md "Load test"): front-desk searches and member
pages, checkouts, availability and bookings, member-portal sign-in code requests and pages, and
KPI views, spread over the clinics that bench/loadtest_setup.py prepared.

    locust -f bench/locustfile.py --host http://127.0.0.1:8000 --headless -u 40 -r 10 -t 3m \\
        --csv loadtest  # with LOADTEST_DATA=loadtest.json

Requests go to gunicorn directly, as the TLS proxy would send them: the clinic's host in the
Host header and X-Forwarded-Proto: https. Staff calls use the owner's API token; portal pages use
member sessions made by the set-up (the sign-in code itself goes out by SMS, so a load test can
only ask for codes, which it does from a different client address each time).
"""

import json
import os
import random
import uuid
from datetime import date, timedelta

from locust import HttpUser, between, task

with open(os.environ.get("LOADTEST_DATA", "loadtest.json")) as data:
    DATA = json.load(data)
CLINICS = DATA["clinics"][: int(os.environ.get("LOADTEST_CLINICS", len(DATA["clinics"])))]


def forwarded() -> dict[str, str]:
    return {"X-Forwarded-Proto": "https",
            "X-Forwarded-For": f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"}


class ClinicDay(HttpUser):
    wait_time = between(0.5, 2)

    def on_start(self) -> None:
        self.clinic = random.choice(CLINICS)
        self.staff = {"Host": self.clinic["host"], "Authorization": f"Token {self.clinic['token']}",
                      **forwarded()}

    def member(self) -> int:
        return random.choice(self.clinic["members"])

    @task(10)
    def front_desk_search(self) -> None:
        phone = random.choice(self.clinic["phones"])
        self.client.get(f"/api/v1/members/?q={phone[-4:]}", headers=self.staff, name="search by last 4 digits")

    @task(6)
    def member_page(self) -> None:
        member = self.member()
        self.client.get(f"/api/v1/members/{member}/", headers=self.staff, name="member")
        self.client.get(f"/api/v1/members/{member}/visits/", headers=self.staff, name="member visits")

    @task(4)
    def checkout(self) -> None:
        self.client.post("/api/v1/visits/", name="checkout",
                         headers={**self.staff, "Idempotency-Key": str(uuid.uuid4())},
                         json={"member_id": self.member(),
                               "lines": [{"item_id": self.clinic["product"], "quantity": 1}],
                               "payments": [{"method": "wechat_pay", "amount": "300.00"}]})

    @task(3)
    def booking(self) -> None:
        day = date.today() + timedelta(days=random.randint(1, 28))
        free = self.client.get(
            f"/api/v1/appointments/availability/?treatment={self.clinic['treatment']}&start={day}&end={day}",
            headers=self.staff, name="availability, one day")
        slots = [slot for entry in (free.json() if free.ok else []) for slot in _slots(entry)]
        if not slots:
            return
        with self.client.post("/api/v1/appointments/bookings/", headers=self.staff, name="booking",
                              json={"member": self.member(), "treatment": self.clinic["treatment"],
                                    "starts_at": random.choice(slots), "practitioner": self.clinic["practitioner"],
                                    "location": self.clinic["location"]},
                              catch_response=True) as response:
            # Another user may have taken the slot since it was listed: the API says so (409/400
            # with the reason), which is the right answer, not a failure.
            if response.status_code in (400, 409) and "start" in response.text:
                response.success()

    @task(2)
    def kpis(self) -> None:
        today = date.today()
        self.client.get(f"/api/v1/kpis/summary/?from={today - timedelta(days=30)}&to={today}",
                        headers=self.staff, name="KPI summary, last 30 days")

    @task(3)
    def portal_pages(self) -> None:
        cookie = {"Cookie": f"cl_member={random.choice(self.clinic['portal_sessions'])}"}
        headers = {"Host": self.clinic["host"], **forwarded(), **cookie}
        self.client.get("/m/", headers=headers, name="portal home")
        self.client.get("/m/statement/", headers=headers, name="portal statement")

    @task(1)
    def portal_sign_in(self) -> None:
        """The sign-in page, then a code asked for a member's phone (from its own address)."""
        headers = {"Host": self.clinic["host"], **forwarded()}
        page = self.client.get("/m/signin/", headers=headers, name="portal sign-in page")
        token = page.cookies.get("csrftoken") or ""
        self.client.post("/m/signin/", name="portal sign-in code",
                         headers={**headers, "Cookie": f"csrftoken={token}",
                                  "Referer": f"https://{self.clinic['host']}/m/signin/"},
                         data={"csrfmiddlewaretoken": token, "phone": random.choice(self.clinic["phones"])})


def _slots(entry) -> list[str]:
    """The start times in one entry of the availability answer."""
    if isinstance(entry, str):
        return [entry]
    if isinstance(entry, dict):
        if "starts_at" in entry:
            return [entry["starts_at"]]
        return [slot for value in entry.values() if isinstance(value, list) for slot in _slots_list(value)]
    return []


def _slots_list(values: list) -> list[str]:
    return [found for value in values for found in _slots(value)]

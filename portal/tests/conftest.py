"""Fixtures for portal tests: a member registered through the real service, and a client on the
clinic's host signed in as that member through the real session function."""

import pytest
from django.test import Client

from clinics.context import clinic_host
from members.models import Member
from members.services import ConsentInput, member_register
from portal.auth import COOKIE_NAME, COOKIE_PATH, member_session_create

PORTAL_PHONE = "+8613800138000"


def member_client(clinic, member: Member, **client_kwargs) -> Client:
    """A browser-like client on the clinic's host with a member session for `member`."""
    client = Client(HTTP_HOST=clinic_host(clinic), **client_kwargs)
    _session, token = member_session_create(member=member, user_agent="tests")
    client.cookies[COOKIE_NAME] = token
    client.cookies[COOKIE_NAME]["path"] = COOKIE_PATH
    return client


@pytest.fixture
def make_member(clinic):
    counter = iter(range(1, 10_000))

    def make(**kwargs) -> Member:
        n = next(counter)
        defaults = {"name": f"会员{n}", "phone": f"+86139{n:08d}", "actor": None,
                    "consents": [ConsentInput(purpose="data_processing", granted=True)]}
        return member_register(**{**defaults, **kwargs})

    return make


@pytest.fixture
def portal_member(make_member) -> Member:
    return make_member(name="林小美", phone=PORTAL_PHONE, email="xiaomei@example.com")


@pytest.fixture
def portal_client(clinic, portal_member) -> Client:
    return member_client(clinic, portal_member)


@pytest.fixture
def portal_client_for(clinic):
    """A signed-in client for any member: `portal_client_for(member, enforce_csrf_checks=True)`."""

    def make(member: Member, **client_kwargs) -> Client:
        return member_client(clinic, member, **client_kwargs)

    return make

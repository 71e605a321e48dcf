from io import StringIO

from django.core.management import call_command
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.roles import Role
from clinics.demo import DEMO_CLINIC_NAME, DEMO_CLINIC_SLUG, DEMO_PASSWORD, OPERATOR_USERNAME, demo_seed
from members.models import Member
from members.naming import has_cjk
from points.models import Entry
from points.selectors import ledger_verify
from visits.models import Visit


def demo_roles() -> dict[str, Role | None]:
    with schema_context(DEMO_CLINIC_SLUG):
        return {user.username: user.role for user in User.objects.all()}


def test_demo_seed_makes_an_operator_the_demo_clinic_and_one_account_per_role(db):
    clinic, created = demo_seed(members=12)

    assert created
    assert (clinic.schema_name, clinic.name) == (DEMO_CLINIC_SLUG, DEMO_CLINIC_NAME)
    with schema_context("public"):
        operator = User.objects.get(username=OPERATOR_USERNAME)
        assert operator.is_staff
        assert operator.check_password(DEMO_PASSWORD)
    assert demo_roles() == {"owner": Role.OWNER, "manager": Role.MANAGER,
                            "frontdesk": Role.FRONT_DESK, "practitioner": Role.PRACTITIONER}
    with schema_context(DEMO_CLINIC_SLUG):
        assert all(user.check_password(DEMO_PASSWORD) for user in User.objects.all())
        members = Member.objects.all()
        assert members.count() == 12
        assert all(m.phone.startswith("+861") and m.birthday and has_cjk(m.name) for m in members)
        assert Visit.objects.exists()
        assert Entry.objects.filter(kind=Entry.Kind.EARN).count() == Visit.objects.count()
        assert ledger_verify() == []


def test_demo_seed_again_keeps_what_is_there(db):
    clinic, _created = demo_seed(members=3)
    with schema_context(DEMO_CLINIC_SLUG):
        manager = User.objects.get(username="manager")
        manager.set_password("Changed-by-hand-7")
        manager.save()
        User.objects.filter(username="practitioner").delete()
        members = Member.objects.count()

    again, created = demo_seed(members=3)

    assert not created
    assert again.pk == clinic.pk
    assert set(demo_roles()) == {"owner", "manager", "frontdesk", "practitioner"}
    with schema_context(DEMO_CLINIC_SLUG):
        assert User.objects.get(username="manager").check_password("Changed-by-hand-7")
        assert Member.objects.count() == members


def test_seed_demo_prints_where_to_log_in(db):
    out = StringIO()

    call_command("seed_demo", members=2, stdout=out)

    printed = out.getvalue()
    assert "http://demo.localhost/" in printed
    assert DEMO_PASSWORD in printed
    for username in (OPERATOR_USERNAME, "owner", "manager", "frontdesk", "practitioner"):
        assert f"    {username} " in printed

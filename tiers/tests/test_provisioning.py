from decimal import Decimal

from django.db import connection
from django_tenants.utils import schema_context

from clinics.models import Clinic
from clinics.platform.provisioning import TEMPLATE_SCHEMA, OwnerSpec, clinic_create
from conftest import TEST_CLINIC_SLUG, TEST_PASSWORD
from tiers.models import Tier, TierProgramme
from tiers.services import tier_programme_install_default, tier_update


def test_a_new_chinese_clinic_starts_with_the_default_programme(ladder):
    programme = TierProgramme.objects.get()

    assert [tier.name for tier in ladder] == ["普通", "银卡", "金卡", "钻石卡"]
    assert [tier.min_spend for tier in ladder] == [0, 5000, 20000, 50000]
    assert [tier.min_visits for tier in ladder] == [0, 4, 10, 20]
    assert [tier.earn_multiplier for tier in ladder] == [Decimal("1.00"), Decimal("1.20"), Decimal("1.50"),
                                                        Decimal("2.00")]
    assert [tier.discount_percent for tier in ladder] == [0, 5, 8, 12]
    assert all(tier.perks for tier in ladder)
    assert (programme.basis, programme.window_months, programme.grace_days, programme.downgrade_mode) == (
        "spend_or_visits", 12, 30, "one_step")


def test_an_english_clinic_gets_english_tier_names(db):
    connection.set_schema_to_public()
    clinic_create(slug="englishclinic", name="English Clinic", actor="tests", language="en",
                  owner=OwnerSpec(username="owner", email="owner@english.test", full_name="Ann Owner",
                                  password=TEST_PASSWORD))

    with schema_context("englishclinic"):
        names = list(Tier.objects.order_by("rank").values_list("name", flat=True))
    connection.set_tenant(Clinic.objects.get(schema_name=TEST_CLINIC_SLUG))

    assert names == ["Regular", "Silver", "Gold", "Diamond"]


def test_the_template_every_clinic_is_copied_from_has_no_tiers(db):
    with schema_context(TEMPLATE_SCHEMA):
        assert not Tier.objects.exists()
        assert not TierProgramme.objects.exists()


def test_installing_again_keeps_the_clinics_own_tiers(ladder):
    tier_update(tier=ladder[1], name="白银会员")

    tier_programme_install_default(language="en")

    assert list(Tier.objects.order_by("rank").values_list("name", flat=True)) == [
        "普通", "白银会员", "金卡", "钻石卡"]

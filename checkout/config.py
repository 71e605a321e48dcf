"""The clinic's checkout configuration (loyalty settings, tier programme, tiers, stored-value rules
and whether any campaign multiplies points), kept per process for as long as it is current.

Every checkout needs these rows; they change a few times a year. The clinic's
`clinic_config_stamp` row gets a new random value from a database trigger in the same transaction
as any write to the settings, the category multipliers, the programme, the tiers (migration
tiers/0003), the stored-value rules (storedvalue/0004) or the campaigns (campaigns/0010), by any
route: services, the admin, bulk updates, raw SQL. Reading the stamp is one small query instead of
five; the copy is used only while the stamp matches. A transaction that changes the configuration
sees its own new stamp; a rolled-back change's stamp is never seen again. The copy is shared
between requests: treat it as read-only."""

from dataclasses import dataclass

from django.db import connection

from campaigns.models import Campaign
from clinics.context import clinic_key
from points.models import LoyaltySettings
from points.rules import loyalty_settings
from storedvalue.models import StoredValueSettings
from storedvalue.rules import stored_value_settings
from tiers.models import Tier, TierProgramme
from tiers.selectors import programme_get, tier_ladder, tiers_list


@dataclass(frozen=True)
class ClinicConfig:
    rules: LoyaltySettings
    programme: TierProgramme
    ladder: tuple[Tier, ...]
    stored_value: StoredValueSettings
    # Whether some campaign that is not cancelled has a points multiplier. When none has, no member
    # holds a campaign multiplier (a cancelled campaign's grants stop multiplying), so checkout
    # need not look for one.
    campaign_multipliers: bool


_copies: dict[str, tuple[object, ClinicConfig]] = {}


def _stamp():
    with connection.cursor() as cursor:
        cursor.execute("SELECT stamp FROM clinic_config_stamp")
        row = cursor.fetchone()
    return row[0] if row else None


def clinic_config() -> ClinicConfig:
    """The current clinic's checkout configuration."""
    schema, stamp = clinic_key(), _stamp()
    kept = _copies.get(schema)
    if kept is not None and stamp is not None and kept[0] == stamp:
        return kept[1]
    config = ClinicConfig(
        rules=loyalty_settings(), programme=programme_get(), ladder=tuple(tier_ladder(tiers_list())),
        stored_value=stored_value_settings(),
        campaign_multipliers=(Campaign.objects.filter(points_multiplier__isnull=False)
                              .exclude(status=Campaign.Status.CANCELLED).exists()))
    if stamp is not None:
        _copies[schema] = (stamp, config)
    return config

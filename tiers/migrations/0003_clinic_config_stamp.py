from django.db import migrations

# A stamp that changes with the clinic's checkout configuration: the loyalty settings, the
# category multipliers, the tier programme and the tiers. Any statement writing one of those
# tables gives the stamp a new random value in the same transaction (a statement trigger), so a
# process may keep a copy of the configuration for as long as the stamp it read with it is
# current (checkout/config.py). Random rather than a counter: a rolled-back change's stamp is never
# seen again, so nothing cached under it can be served later.

TABLES = ("points_loyaltysettings", "points_categorymultiplier", "tiers_tierprogramme", "tiers_tier")

FORWARD = """
CREATE TABLE clinic_config_stamp (
    one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row),
    stamp uuid NOT NULL DEFAULT gen_random_uuid()
);
COMMENT ON TABLE clinic_config_stamp IS
    'Changes with every write to the loyalty settings, category multipliers, tier programme and tiers.';
INSERT INTO clinic_config_stamp DEFAULT VALUES;

CREATE OR REPLACE FUNCTION public.clinic_config_stamp_renew() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('UPDATE %I.clinic_config_stamp SET stamp = gen_random_uuid()', TG_TABLE_SCHEMA);
    RETURN NULL;
END $$;
""" + "\n".join(
    f"CREATE TRIGGER {table}_config_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
    "FOR EACH STATEMENT EXECUTE FUNCTION public.clinic_config_stamp_renew();" for table in TABLES)

REVERSE = "\n".join(f"DROP TRIGGER {table}_config_stamp ON {table};" for table in TABLES) + """
DROP TABLE clinic_config_stamp;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("tiers", "0002_tier_change_merge"),
        ("points", "0008_ledger_pending_one_row"),
    ]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=REVERSE)]

from django.db import migrations

# Writing the stored-value rules renews the clinic's checkout-configuration stamp (tiers/0003):
# checkout keeps the rules with its copy of the configuration (checkout/config.py).

FORWARD = """
CREATE TRIGGER storedvalue_storedvaluesettings_config_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
ON storedvalue_storedvaluesettings FOR EACH STATEMENT EXECUTE FUNCTION public.clinic_config_stamp_renew();
"""

REVERSE = "DROP TRIGGER storedvalue_storedvaluesettings_config_stamp ON storedvalue_storedvaluesettings;"


class Migration(migrations.Migration):
    dependencies = [
        ("storedvalue", "0003_spend_counts_toward_tiers"),
        ("tiers", "0003_clinic_config_stamp"),
    ]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=REVERSE)]

from django.db import migrations

# Writing a campaign renews the clinic's checkout-configuration stamp (tiers/0003): checkout keeps
# whether any campaign multiplies points with its copy of the configuration (checkout/config.py).

FORWARD = """
CREATE TRIGGER campaigns_campaign_config_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
ON campaigns_campaign FOR EACH STATEMENT EXECUTE FUNCTION public.clinic_config_stamp_renew();
"""

REVERSE = "DROP TRIGGER campaigns_campaign_config_stamp ON campaigns_campaign;"


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0009_birthday_offer_removed"),
        ("tiers", "0003_clinic_config_stamp"),
    ]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=REVERSE)]

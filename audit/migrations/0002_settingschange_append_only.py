from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial"), ("clinics", "0003_append_only_function")]

    operations = [
        migrations.RunSQL(
            "CREATE TRIGGER audit_settingschange_append_only BEFORE UPDATE OR DELETE "
            "ON audit_settingschange FOR EACH ROW EXECUTE FUNCTION public.forbid_change();",
            reverse_sql="DROP TRIGGER IF EXISTS audit_settingschange_append_only ON audit_settingschange;",
        ),
    ]

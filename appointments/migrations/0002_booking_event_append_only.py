from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("appointments", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE TRIGGER appointments_bookingevent_append_only BEFORE UPDATE OR DELETE "
            "ON appointments_bookingevent FOR EACH ROW EXECUTE FUNCTION public.forbid_change();",
            reverse_sql="DROP TRIGGER IF EXISTS appointments_bookingevent_append_only ON appointments_bookingevent;",
        ),
    ]

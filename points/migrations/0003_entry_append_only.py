from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("points", "0002_initial"), ("clinics", "0003_append_only_function")]

    operations = [
        migrations.RunSQL(
            "CREATE TRIGGER points_entry_append_only BEFORE UPDATE OR DELETE ON points_entry "
            "FOR EACH ROW EXECUTE FUNCTION public.forbid_change();",
            reverse_sql="DROP TRIGGER IF EXISTS points_entry_append_only ON points_entry;",
        ),
    ]

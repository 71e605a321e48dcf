from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE TRIGGER feedback_followupoutcome_append_only BEFORE UPDATE OR DELETE "
            "ON feedback_followupoutcome FOR EACH ROW EXECUTE FUNCTION public.forbid_change();",
            reverse_sql="DROP TRIGGER IF EXISTS feedback_followupoutcome_append_only ON feedback_followupoutcome;",
        ),
    ]

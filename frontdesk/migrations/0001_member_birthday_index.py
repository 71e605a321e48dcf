"""Today's birthdays are found by month and day of the birthday, whatever the year: an index on
those two expressions keeps the Today page fast at any number of members."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("members", "0002_search_indexes")]

    operations = [
        migrations.RunSQL(
            sql=('CREATE INDEX IF NOT EXISTS frontdesk_member_birthday_day ON members_member '
                 '((EXTRACT(MONTH FROM "birthday")), (EXTRACT(DAY FROM "birthday"))) '
                 "WHERE status = 'active'"),
            reverse_sql="DROP INDEX IF EXISTS frontdesk_member_birthday_day",
        ),
    ]

from django.db import migrations


class Migration(migrations.Migration):
    """Extensions live in the public schema, which every clinic's search path includes."""

    dependencies = [("clinics", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;"
            "CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]

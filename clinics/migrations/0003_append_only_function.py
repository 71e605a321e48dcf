from django.db import migrations


class Migration(migrations.Migration):
    """A trigger function clinics' history tables use to refuse UPDATE and DELETE."""

    dependencies = [("clinics", "0002_postgres_extensions")]

    operations = [
        migrations.RunSQL(
            """
            CREATE OR REPLACE FUNCTION public.forbid_change() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'rows of % are append-only', TG_TABLE_NAME
                    USING ERRCODE = 'integrity_constraint_violation';
            END $$;
            """,
            reverse_sql="DROP FUNCTION IF EXISTS public.forbid_change();",
        ),
    ]

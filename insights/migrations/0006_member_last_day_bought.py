# The rollups gain the day of each member's latest counted visit (insights_memberfirst.last_day)
# and what members bought per local day (insights_memberbought), for the segments' "last visit",
# "first visit" and "bought" conditions (segments.conditions, docs/segments.md, Performance).
# insights_rollup_refresh is 0005's with the two added; the triggers calling it are unchanged.

import importlib

from django.db import migrations, models

REFRESH = r"""
CREATE OR REPLACE FUNCTION insights_rollup_refresh(members bigint[], instants timestamptz[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    tz text;
    km bigint[];
    kd date[];
BEGIN
    SELECT zone INTO tz FROM insights_rollupstate WHERE id = 1;
    IF tz IS NULL OR members IS NULL THEN
        RETURN;
    END IF;
    SELECT array_agg(m), array_agg(d) INTO km, kd
    FROM (SELECT DISTINCT k.m, (k.at AT TIME ZONE tz)::date AS d
          FROM unnest(members, instants) AS k(m, at) WHERE k.m IS NOT NULL) keys;
    IF km IS NULL THEN
        RETURN;
    END IF;
    WITH old AS (
        DELETE FROM insights_memberday md USING unnest(km, kd) AS k(m, d)
        WHERE md.member_id = k.m AND md.day = k.d
        RETURNING md.day, md.location_id, md.visits, md.revenue),
    delta AS (SELECT day, location_id, -sum(visits) AS visits, -sum(revenue) AS revenue FROM old GROUP BY 1, 2)
    INSERT INTO insights_daytotal (day, location_id, visits, revenue)
    SELECT day, location_id, visits, revenue FROM delta;
    WITH fresh AS (
        INSERT INTO insights_memberday (member_id, day, location_id, visits, revenue, cum_visits, cum_cents)
        SELECT v.member_id, k.d, coalesce(b.location_id, 0), count(*), sum(v.total - v.refunded_total), 0, 0
        FROM unnest(km, kd) AS k(m, d)
        JOIN visits_visit v ON v.member_id = k.m AND v.visited_at >= (k.d::timestamp AT TIME ZONE tz)
                           AND v.visited_at < ((k.d + 1)::timestamp AT TIME ZONE tz)
        LEFT JOIN appointments_booking b ON b.visit_id = v.id
        WHERE (v.total > v.refunded_total OR (v.total = 0 AND (
                  NOT EXISTS (SELECT 1 FROM visits_refund r WHERE r.visit_id = v.id)
                  OR EXISTS (SELECT 1 FROM visits_visitline l WHERE l.visit_id = v.id
                             AND l.refunded_quantity < l.quantity))))
        GROUP BY 1, 2, 3
        RETURNING day, location_id, visits, revenue),
    delta AS (SELECT day, location_id, sum(visits) AS visits, sum(revenue) AS revenue FROM fresh GROUP BY 1, 2)
    INSERT INTO insights_daytotal (day, location_id, visits, revenue)
    SELECT day, location_id, visits, revenue FROM delta;
    DELETE FROM insights_memberfirst f WHERE f.member_id = ANY(km);
    INSERT INTO insights_memberfirst (member_id, first_day, first_paid_day, last_day)
    SELECT md.member_id, min(md.day), min(md.day) FILTER (WHERE md.revenue > 0), max(md.day)
    FROM insights_memberday md
    WHERE md.member_id = ANY(km) GROUP BY 1;
    DELETE FROM insights_memberbought mb USING unnest(km, kd) AS k(m, d)
    WHERE mb.member_id = k.m AND mb.day = k.d;
    INSERT INTO insights_memberbought (member_id, day, item_id, category_id, lines)
    SELECT v.member_id, k.d, l.item_id, l.category_id, count(*)
    FROM unnest(km, kd) AS k(m, d)
    JOIN visits_visit v ON v.member_id = k.m AND v.visited_at >= (k.d::timestamp AT TIME ZONE tz)
                       AND v.visited_at < ((k.d + 1)::timestamp AT TIME ZONE tz)
    JOIN visits_visitline l ON l.visit_id = v.id
    WHERE (v.total > v.refunded_total OR v.total = 0) AND l.refunded_quantity < l.quantity
    GROUP BY 1, 2, 3, 4;
    UPDATE insights_memberday md SET prev_day = x.p, next_day = x.n, cum_visits = x.cv, cum_cents = x.cc
    FROM (SELECT id, lag(day) OVER w AS p, lead(day) OVER w AS n, sum(visits) OVER w AS cv,
                 sum((revenue * 100)::bigint) OVER w AS cc
          FROM insights_memberday
          WHERE member_id = ANY(km) WINDOW w AS (PARTITION BY member_id ORDER BY day, location_id)) x
    WHERE md.id = x.id AND (md.prev_day IS DISTINCT FROM x.p OR md.next_day IS DISTINCT FROM x.n
                            OR md.cum_visits <> x.cv OR md.cum_cents <> x.cc);
END $$;
"""


def build(apps, schema_editor):
    """Rebuild the rollups (now with the new parts) in the schema's clinic's time zone."""
    from django.conf import settings

    from insights.rollups import rollups_rebuild

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT time_zone FROM public.clinics_clinic WHERE schema_name = %s",
                       [schema_editor.connection.schema_name])
        row = cursor.fetchone()
        cursor.execute("SELECT zone FROM insights_rollupstate WHERE id = 1")
        built = cursor.fetchone()
    rollups_rebuild(row[0] if row else built[0] if built else settings.TIME_ZONE)


class Migration(migrations.Migration):

    dependencies = [
        ('insights', '0005_rollup_gaps_and_points'),
    ]

    operations = [
        migrations.AddField(
            model_name='memberfirst',
            name='last_day',
            field=models.DateField(null=True),
        ),
        migrations.CreateModel(
            name='MemberBought',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('member_id', models.BigIntegerField()),
                ('day', models.DateField()),
                ('item_id', models.BigIntegerField(null=True)),
                ('category_id', models.BigIntegerField(null=True)),
                ('lines', models.IntegerField()),
            ],
            options={
                'indexes': [models.Index(fields=['category_id', 'day'], include=('member_id',), name='insights_bought_category'), models.Index(fields=['item_id', 'day'], include=('member_id',), name='insights_bought_item'), models.Index(fields=['member_id', 'day'], include=('item_id', 'category_id'), name='insights_bought_member')],
            },
        ),
        migrations.RunSQL(REFRESH, importlib.import_module("insights.migrations.0005_rollup_gaps_and_points").REFRESH),
        migrations.RunPython(build, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='memberfirst',
            name='last_day',
            field=models.DateField(),
        ),
    ]

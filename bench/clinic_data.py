"""A throwaway clinic filled with realistic volumes, made with set-based SQL so that setting up
100,000 members takes seconds, not minutes."""

import contextlib
import random

from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from clinics.models import Clinic
from clinics.platform.provisioning import OwnerSpec, clinic_create
from insights.rollups import rollups_rebuild
from members.naming import name_initials, name_pinyin
from points.ledger import OpeningLot, Source, ledger_open_many
from points.models import Asset, Entry

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "小美丽娜婷静雪芳敏燕红艳玲欣怡佳颖璐瑶琳晶莹倩雯霞梅兰慧秀英华月洁蓉薇菲妍晓宁"


def fresh_clinic(slug: str) -> Clinic:
    connection.set_schema_to_public()
    existing = Clinic.objects.filter(schema_name=slug).first()
    if existing is not None:
        existing.delete(force_drop=True)
    return clinic_create(slug=slug, name=f"基准 {slug}", actor="bench",
                         owner=OwnerSpec(username="owner", email=f"owner@{slug}.example.com",
                                         full_name="王业主", password="Bench-pass-2026"))


def drop_clinic(clinic: Clinic) -> None:
    connection.set_schema_to_public()
    with contextlib.suppress(Clinic.DoesNotExist):
        Clinic.objects.get(pk=clinic.pk).delete(force_drop=True)


def members_fill(clinic: Clinic, count: int, seed: int = 7) -> None:
    """`count` members with distinct Chinese names, mobile numbers and birthdays, via COPY."""
    rng = random.Random(seed)
    with schema_context(clinic.schema_name), connection.cursor() as cursor:
        columns = ("member_number", "name", "name_initials", "name_pinyin", "name_tail", "phone", "phone_last4",
                   "gender",
                   "birthday", "celebrates_lunar_birthday", "email", "source", "referral_code", "tags",
                   "notes", "status", "joined_on", "created_at", "updated_at")
        with cursor.copy(f"COPY members_member ({', '.join(columns)}) FROM STDIN") as copy:
            for n in range(count):
                name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
                phone = f"+861{rng.choice('3456789')}{n:09d}"
                copy.write_row((f"B{n:07d}", name, name_initials(name), name_pinyin(name), name[1:], phone, phone[-4:],
                                rng.choice(("female", "female", "female", "male")),
                                f"{rng.randint(1960, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                                False, "", "walk_in", f"R{n:07d}", "{}", "", "active",
                                f"20{rng.randint(18, 26)}-{rng.randint(1, 12):02d}-01", "now()", "now()"))
        cursor.execute("ANALYZE members_member")


# The tables a clinic's history fills, analysed after a bulk load as autovacuum would soon after.
HISTORY_TABLES = ("members_member", "visits_visit", "visits_visitline", "visits_payment", "points_account",
                  "points_entry", "points_lot", "insights_memberday", "insights_memberfirst", "insights_daytotal",
                  "insights_memberbought", "insights_pointsday")


def visits_history(clinic: Clinic, member_ids: list[int], *, visits_each: int, item_id: int,
                   days: int = 365) -> int:
    """A past for `member_ids`: `visits_each` paid visits each over the last `days` days, with a
    line of catalogue item `item_id` and a WeChat Pay payment, the points they earned as each
    member's opening lot, and the rollups rebuilt; then the tables analysed. The visits are written
    by set-based SQL with the triggers off, as after an import; the points through the ledger.
    Returns the number of visits written."""
    with schema_context(clinic.schema_name):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("SELECT setseed(0.42)")
            cursor.execute("""
                WITH v AS (
                    INSERT INTO visits_visit (member_id, visited_at, staff_id, source, subtotal, line_discount,
                                              tier_discount, coupon_discount, points_used, points_discount, total,
                                              refunded_total, external_ref, points_parts, created_at)
                    SELECT m, now() - random() * make_interval(days => %(days)s), NULL, 'checkout', price, 0, 0, 0,
                           0, 0, price, 0, '', '[]', now()
                    FROM unnest(%(members)s::bigint[]) AS m, generate_series(1, %(each)s),
                         (SELECT price FROM visits_catalogueitem WHERE id = %(item)s) i
                    RETURNING id, total),
                lines AS (
                    INSERT INTO visits_visitline (visit_id, item_id, name, category_id, quantity, unit_price,
                                                  discount, line_total, refunded_quantity, points_earned)
                    SELECT v.id, i.id, i.name, i.category_id, 1, v.total, 0, v.total, 0, floor(v.total)::int
                    FROM v, visits_catalogueitem i WHERE i.id = %(item)s)
                INSERT INTO visits_payment (visit_id, method, amount, refund_id)
                SELECT id, 'wechat_pay', total, NULL FROM v""",
                           {"members": member_ids, "each": visits_each, "item": item_id, "days": days})
            written = cursor.rowcount
            cursor.execute("""
                SELECT member_id, sum(floor(total))::int FROM visits_visit
                WHERE member_id = ANY(%s) GROUP BY member_id ORDER BY member_id""", [member_ids])
            earned = cursor.fetchall()
        now = timezone.now()
        with transaction.atomic():  # the ledger's own checks on, as for an import of balances
            ledger_open_many(lots=[OpeningLot(member, Asset.POINTS, points, now, None, "", f"history:{member}")
                                   for member, points in earned],
                             kind=Entry.Kind.EARN, source=Source("bench"), actor=None, at=now)
        rollups_rebuild()
        with connection.cursor() as cursor:
            for table in HISTORY_TABLES:
                cursor.execute(f"VACUUM ANALYZE {table}")
    return written

"""The segment editor's form: each condition is a row of inputs named `c-<n>-<parameter>`, and rows
that share a group letter are one "any of" group. This module only turns rows into a definition
and back; `segments.conditions.conditions_clean` judges it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from appointments.models import Location
from insights.models import LifecycleStage, RfmCellName
from members.models import ConsentRecord, Member
from segments.conditions import CONSENT_PURPOSES, KINDS, LAST_VISIT_OPS, NO_VISIT
from tiers.models import Tier
from visits.models import CatalogueItem, Category

ROW = re.compile(r"^c-(\d+)-kind$")
SPLIT = re.compile(r"[,，;；\s]+")


@dataclass(frozen=True)
class Param:
    name: str
    label: object
    input: str  # "number", "money", "score", "date", "select", "checks", "tags"
    choices: object = None  # a list of (value, label) or a callable giving one

    def options(self) -> list[tuple]:
        choices = self.choices() if callable(self.choices) else self.choices
        return [(str(value), label) for value, label in choices or []]


def _tiers():
    return [(t.pk, t.name) for t in Tier.objects.order_by("rank")]


def _items():
    return [(i.pk, i.name) for i in CatalogueItem.objects.filter(active=True).order_by("kind", "name")]


def _categories():
    return [(c.pk, c.name) for c in Category.objects.order_by("name")]


def _locations():
    return [(loc.pk, loc.name) for loc in Location.objects.order_by("name")]


MONTHS = [(m, str(m)) for m in range(1, 13)]
SCORES = [(s, str(s)) for s in range(1, 6)]
MIN = _("at least")
MAX = _("at most")
DAYS = _("in the last … days (empty: ever)")

PARAMS: dict[str, list[Param]] = {
    "tier": [Param("tiers", _("Tiers"), "checks", _tiers),
             Param("mode", _("Holds it"), "select", [("current", _("now")), ("ever", _("now or ever"))])],
    "points_balance": [Param("min", MIN, "number"), Param("max", MAX, "number")],
    "stored_value_balance": [Param("min", MIN, "money"), Param("max", MAX, "money")],
    "spend": [Param("min", MIN, "money"), Param("max", MAX, "money"), Param("days", DAYS, "number")],
    "visit_count": [Param("min", MIN, "number"), Param("max", MAX, "number"), Param("days", DAYS, "number")],
    "last_visit": [Param("op", _("When"), "select", list(zip(LAST_VISIT_OPS, [
        _("within the last … days"), _("more than … days ago"), _("on or after the date"), _("before the date")],
        strict=True))), Param("days", _("days"), "number"), Param("date", _("date"), "date")],
    "first_visit": [Param("op", _("When"), "select", [("within_days", _("within the last … days")),
                                                     ("never", _("never visited"))]),
                    Param("days", _("days"), "number")],
    "bought": [Param("items", _("Treatments or products"), "checks", _items),
               Param("categories", _("Categories"), "checks", _categories),
               Param("item_kind", _("Kind"), "select", [("", "—"), *CatalogueItem.Kind.choices]),
               Param("days", DAYS, "number")],
    "tag": [Param("tags", _("Tags (separated by commas)"), "tags"),
            Param("match", _("Has"), "select", [("any", _("any of them")), ("all", _("all of them"))])],
    "gender": [Param("genders", _("Gender"), "checks", Member.Gender.choices)],
    "age": [Param("min", MIN, "number"), Param("max", MAX, "number")],
    "birthday_month": [Param("relative", _("Month"), "select", [("", _("the months ticked")),
                                                                ("current", _("this month")),
                                                                ("next", _("next month"))]),
                       Param("months", _("Months"), "checks", MONTHS)],
    "joined": [Param("on_or_after", _("on or after"), "date"), Param("on_or_before", _("on or before"), "date"),
               Param("within_days", _("or in the last … days"), "number")],
    "referral": [Param("referred", _("Referred by a member"), "select", [("yes", _("yes")), ("no", _("no"))])],
    "source": [Param("sources", _("Source channel"), "checks", Member.Source.choices)],
    "location": [Param("locations", _("Locations"), "checks", _locations)],
    "consent": [Param("purpose", _("Has consented to"), "select",
                      [(p, ConsentRecord.Purpose(p).label) for p in CONSENT_PURPOSES])],
    "recall_due": [Param("within_days", _("due today or within … days"), "number")],
    "rfm_cell": [Param("cells", _("Cells"), "checks", RfmCellName.choices)],
    "rfm_score": [Param("r", pgettext_lazy("RFM", "Recency"), "checks", SCORES),
                  Param("f", pgettext_lazy("RFM", "Frequency"), "checks", SCORES),
                  Param("m", pgettext_lazy("RFM", "Spend"), "checks", SCORES)],
    "lifecycle": [Param("stages", _("Stages"), "checks", [*LifecycleStage.choices, (NO_VISIT, _("No visit yet"))])],
}
PARAMS.update({
    "recommended": [Param("item", _("Treatment or product"), "select", _items),
                    Param("min_score", _("with a score of at least (0 to 1)"), "score")],
    "due_for": [Param("item", _("Treatment or product"), "select", _items),
                Param("within_days", _("due today or within … days"), "number")],
})
ID_PARAMS = {"tiers", "items", "categories", "locations", "months", "r", "f", "m"}


def kind_choices() -> list[tuple[str, str]]:
    return [(code, str(kind.label)) for code, kind in KINDS.items()]


class SegmentForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("of a thing", "Name"), max_length=80)
    description = forms.CharField(label=_("Description"), max_length=1000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))


def _params_of(data, prefix: str, kind: str) -> dict:
    params = {}
    for param in PARAMS.get(kind, []):
        key = f"{prefix}-{param.name}"
        if param.input == "checks":
            values = data.getlist(key)
            params[param.name] = [int(v) if param.name in ID_PARAMS and v.lstrip("-").isdigit() else v
                                  for v in values]
        elif param.input == "tags":
            params[param.name] = [t for t in SPLIT.split(data.get(key, "")) if t]
        elif param.name == "referred":
            params[param.name] = data.get(key, "yes") != "no"
        else:
            value = data.get(key, "").strip()
            if value:
                params[param.name] = value
    return params


def conditions_from_post(data) -> dict:
    """The definition the editor's rows describe (not yet checked)."""
    rows = sorted(int(m.group(1)) for key in data if (m := ROW.match(key)))
    items: list[dict] = []
    groups: dict[str, dict] = {}
    for n in rows:
        prefix = f"c-{n}"
        kind = data.get(f"{prefix}-kind", "")
        condition = {"kind": kind, "negate": data.get(f"{prefix}-negate") == "on", **_params_of(data, prefix, kind)}
        group = data.get(f"{prefix}-group", "").strip().upper()[:3]
        if not group:
            items.append(condition)
        elif group in groups:
            groups[group]["any"].append(condition)
        else:
            groups[group] = {"any": [condition], "negate": data.get(f"group-{group}-negate") == "on"}
            items.append(groups[group])
    return {"all": items}


@dataclass
class Row:
    index: int
    kind: str
    negate: bool
    group: str
    values: dict

    @property
    def params(self) -> list[tuple[Param, object]]:
        return [(param, self.values.get(param.name)) for param in PARAMS.get(self.kind, [])]

    @property
    def label(self) -> str:
        kind = KINDS.get(self.kind)
        return str(kind.label) if kind else self.kind


def _display(param: Param, value):
    if value is None:
        return [] if param.input == "checks" else ""
    if param.input == "checks":
        return [str(v) for v in value]
    if param.input == "tags":
        return ", ".join(value)
    if param.name == "referred":
        return "yes" if value else "no"
    return str(value)


def rows_of(conditions: dict) -> tuple[list[Row], dict[str, bool]]:
    """The editor rows of a definition, and the negation of each group by its letter."""
    rows, negated_groups = [], {}
    letters = iter("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    for item in conditions.get("all", []):
        if "any" in item:
            letter = next(letters)
            negated_groups[letter] = bool(item.get("negate"))
            members, group = item["any"], letter
        else:
            members, group = [item], ""
        for condition in members:
            kind = condition.get("kind", "")
            values = {p.name: _display(p, condition.get(p.name)) for p in PARAMS.get(kind, [])}
            rows.append(Row(index=len(rows), kind=kind, negate=bool(condition.get("negate")), group=group,
                            values=values))
    return rows, negated_groups


def blank_row(index: int, kind: str) -> Row:
    values = {p.name: _display(p, None) for p in PARAMS.get(kind, [])}
    return Row(index=index, kind=kind, negate=False, group="", values=values)

"""Test data for the schemathesis run of tests/test_api_schemathesis.py, for what JSON Schema cannot
hold: which records exist and which phone numbers are real. Loaded by schemathesis
(SCHEMATHESIS_HOOKS) in its own process; the records of the clinic under test are read from the
JSON file named by CL_SCHEMATHESIS_DATA.

- A string of format `phone` is a mainland-China mobile number in E.164 (libphonenumber takes
  every number of these ranges as valid).
- A field or parameter that names a record (`member_id`, `treatment`, `tier`, `{id}` in
  /members/{id}/…) gets the id of a record of that kind the clinic has: the generated integer picks
  which, so a run stays reproducible from its seed. The staff account running the tests is not
  among them, so it keeps its role and stays active.

Nothing else is changed: every other value is what schemathesis made from the schema."""

import json
import os
from pathlib import Path

import schemathesis
from hypothesis import strategies as st

DATA: dict[str, list] = json.loads(Path(os.environ["CL_SCHEMATHESIS_DATA"]).read_text())

schemathesis.openapi.format("phone", st.from_regex(r"\A\+861(3[0-9]|5[0-35-9]|8[0-9])[0-9]{8}\Z"))

# Body and query fields naming a record -> the kind of record.
FIELDS = {
    "member": "members", "member_id": "members", "duplicate_id": "members",
    "item": "items", "item_id": "items", "free_item": "items", "treatment": "treatments", "treatments": "treatments",
    "category": "categories", "categories": "categories",
    "location": "locations", "practitioner": "practitioners", "resource": "resources",
    "resource_type": "resource_types", "resource_types": "resource_types",
    "tier": "tiers", "allowed_tiers": "tiers", "user": "users",
    "template_id": "coupon_templates", "coupon_template": "coupon_templates",
    "line_id": "visit_lines", "plan": "top_up_plans", "segment_id": "segments", "member_ids": "members",
}
# The path segment before `{id}` -> the kind of record.
PATHS = {
    "members": "members", "items": "items", "treatments": "treatments", "visits": "visits", "staff": "users",
    "rewards": "rewards", "coupon-templates": "coupon_templates", "adjustments": "adjustments",
    "redemptions": "redemptions", "tiers": "tiers", "locations": "locations", "practitioners": "practitioners",
    "resources": "resources", "exceptions": "exceptions", "bookings": "bookings", "templates": "message_templates",
    "messages": "messages", "imports": "imports", "followups": "followups", "surveys": "surveys",
    "campaigns": "campaigns",
    "segments": "segments",
    "plans": "top_up_plans",
}


def _pick(kind: str, value):
    pool = DATA.get(kind) or []
    if not pool or isinstance(value, bool) or not isinstance(value, int):
        return value
    return pool[value % len(pool)]


def _references(value, key: str | None = None):
    if isinstance(value, dict):
        return {name: _references(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_references(item, key) for item in value]
    if key in FIELDS:
        return _pick(FIELDS[key], value)
    return value


def _path_kind(path: str, parameter: str) -> str | None:
    parts = [part for part in path.strip("/").split("/") if part]
    marker = "{" + parameter + "}"
    if marker not in parts or parts.index(marker) == 0:
        return None
    return PATHS.get(parts[parts.index(marker) - 1])


@schemathesis.hook
def map_body(context, body):
    return _references(body) if isinstance(body, dict | list) else body


@schemathesis.hook
def map_query(context, query):
    return _references(query) if query else query


@schemathesis.hook
def map_path_parameters(context, path_parameters):
    if not path_parameters:
        return path_parameters
    mapped = dict(path_parameters)
    for name, value in path_parameters.items():
        if name == "code" and DATA.get("coupon_codes") and isinstance(value, str):
            mapped[name] = DATA["coupon_codes"][len(value) % len(DATA["coupon_codes"])]
        elif kind := _path_kind(context.operation.path, name):
            mapped[name] = _pick(kind, value)
    return mapped


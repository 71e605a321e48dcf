"""The schema's promises that hold for every operation, present and future: JSON bodies (multipart
for file uploads only), the one error body for every refusal an operation can give, stable snake_case
operation ids, and every query parameter a view reads declared."""

import ast
import inspect
import re
import textwrap

import pytest
import yaml
from django.urls import resolve

METHODS = {"get", "post", "put", "patch", "delete"}
ERROR = {"$ref": "#/components/schemas/Error"}
SAMPLE_PATH_VALUES = {"kind": "members", "code": "ABCD1234"}


@pytest.fixture
def schema(anon_client) -> dict:
    return yaml.safe_load(anon_client.get("/api/schema/").content)


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method in sorted(set(item) & METHODS):
            yield path, method, item[method]


def _is_upload(schema: dict, body_schema: dict) -> bool:
    ref = body_schema.get("$ref", "")
    component = schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {}) if ref else body_schema
    return any(prop.get("format") == "binary" for prop in component.get("properties", {}).values())


def test_bodies_are_json_and_only_uploads_are_multipart(schema):
    uploads = set()
    for path, method, operation in operations(schema):
        content = operation.get("requestBody", {}).get("content", {})
        if not content:
            continue
        if list(content) == ["multipart/form-data"]:
            assert _is_upload(schema, content["multipart/form-data"]["schema"]), f"{method} {path}"
            uploads.add(path)
        else:
            assert list(content) == ["application/json"], f"{method} {path} takes {list(content)}"

    assert uploads == {"/api/v1/imports/{kind}/"}


def test_the_file_of_an_upload_is_described(schema):
    body = schema["paths"]["/api/v1/imports/{kind}/"]["post"]["requestBody"]["content"]["multipart/form-data"]
    component = schema["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[-1]]

    assert component["properties"]["file"]["format"] == "binary"
    assert "CSV" in component["properties"]["file"]["description"]
    assert "file" in component["required"]


def test_every_refusal_an_operation_can_give_has_the_error_body(schema):
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        parameters = operation.get("parameters", [])
        expected = {"401", "403"}
        if parameters or "requestBody" in operation or method != "get":
            expected.add("400")
        if "{" in path:
            expected.add("404")
        if any(parameter["name"] == "Idempotency-Key" for parameter in parameters):
            expected |= {"400", "422"}
        assert expected <= set(responses), f"{method} {path} lacks {expected - set(responses)}"
        for code, response in responses.items():
            if code.startswith("4"):
                assert response["content"]["application/json"]["schema"] == ERROR, f"{method} {path} {code}"
                assert response["description"], f"{method} {path} {code}"


def test_conflicts_and_throttling_are_declared_where_the_api_answers_them(schema):
    paths = schema["paths"]

    assert "409" in paths["/api/v1/members/"]["post"]["responses"]
    assert "409" in paths["/api/v1/members/{id}/"]["patch"]["responses"]
    assert "409" in paths["/api/v1/appointments/bookings/"]["post"]["responses"]
    assert "409" in paths["/api/v1/appointments/bookings/{id}/reschedule/"]["post"]["responses"]
    assert "429" in paths["/api/v1/auth/token/"]["post"]["responses"]


def test_the_error_body_is_one_component_with_its_optional_details(schema):
    components = schema["components"]["schemas"]

    assert components["Error"]["required"] == ["error"]
    detail = components["ErrorDetail"]
    assert set(detail["required"]) == {"code", "message", "fields"}
    assert {"existing_member", "alternatives"} <= set(detail["properties"])


def test_operation_ids_are_unique_snake_case_and_name_the_core_operations(schema):
    ids = [operation["operationId"] for _path, _method, operation in operations(schema)]

    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", operation_id) for operation_id in ids)
    assert {"auth_token_obtain", "members_search", "members_register", "checkout", "visits_refund",
            "points_members_balance_get", "points_rewards_redeem", "appointments_bookings_create"} <= set(ids)


def test_core_operations_carry_examples(schema):
    paths = schema["paths"]
    for path, method in [("/api/v1/auth/token/", "post"), ("/api/v1/members/", "post"), ("/api/v1/visits/", "post"),
                         ("/api/v1/points/rewards/{id}/redeem/", "post"), ("/api/v1/appointments/bookings/", "post")]:
        assert paths[path][method]["requestBody"]["content"]["application/json"].get("examples"), f"{method} {path}"
    search = {parameter["name"]: parameter for parameter in paths["/api/v1/members/"]["get"]["parameters"]}
    assert search["q"].get("examples")


def test_money_and_phone_numbers_say_what_is_accepted(schema):
    components = schema["components"]["schemas"]
    payment = components["CheckoutPaymentRequest"]["properties"]["amount"]
    phone = components["MemberListApiInputRequest"]["properties"]["phone"]

    assert re.fullmatch(payment["pattern"], "680.00") and not re.fullmatch(payment["pattern"], "-1.00")
    assert not re.fullmatch(payment["pattern"], "1.234") and not re.fullmatch(payment["pattern"], "")
    assert re.fullmatch(phone["pattern"], "+8613812345678") and not re.fullmatch(phone["pattern"], "12345")


# Every query parameter a view reads is declared.


def _sample(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: SAMPLE_PATH_VALUES.get(match.group(1), "1"), path)


def _query_parameters_read(view_class, method: str) -> set[str]:
    """The query parameters the method (and get_permissions) read: `query_params.get("x")`,
    `query_params["x"]`, `"x" in query_params`, and the fields of a serializer given
    `data=request.query_params`."""
    functions = [inspect.unwrap(getattr(view_class, method)), view_class.get_permissions]
    names: set[str] = set()
    for function in functions:
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        except (OSError, TypeError):
            continue
        for node in ast.walk(tree):
            source = ast.unparse(node)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                    and ast.unparse(node.func.value).endswith("query_params") and node.args \
                    and isinstance(node.args[0], ast.Constant):
                names.add(node.args[0].value)
            elif isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("query_params") \
                    and isinstance(node.slice, ast.Constant):
                names.add(node.slice.value)
            elif isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant) \
                    and isinstance(node.ops[0], ast.In) and source.endswith("query_params"):
                names.add(node.left.value)
            elif isinstance(node, ast.Call) and any(
                    keyword.arg == "data" and ast.unparse(keyword.value).endswith("query_params")
                    for keyword in node.keywords):
                serializer = _resolve(ast.unparse(node.func), view_class, function)
                names |= set(serializer().fields)
    return names


def _resolve(expression: str, view_class, function):
    if expression.startswith("self."):
        return getattr(view_class, expression.removeprefix("self."))
    head, *rest = expression.split(".")
    value = function.__globals__[head]
    for attribute in rest:
        value = getattr(value, attribute)
    return value


def test_every_query_parameter_a_view_reads_is_declared(schema):
    checked = 0
    for path, method, operation in operations(schema):
        view_class = resolve(_sample(path)).func.view_class
        declared = {parameter["name"] for parameter in operation.get("parameters", []) if parameter["in"] == "query"}
        read = _query_parameters_read(view_class, method)
        assert read <= declared, f"{method} {path} reads {read - declared} without declaring them"
        checked += bool(read)

    assert checked >= 10


def test_declared_query_parameters_have_a_type(schema):
    for path, method, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query":
                assert parameter["schema"].get("type"), f"{method} {path} ?{parameter['name']}"

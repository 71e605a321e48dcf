"""The OpenAPI schema is a contract a generated client can use: openapi-python-client makes a client
from a clinic's live schema, every generated operation imports, and the front desk's flow runs
through the generated functions and models only. Every answer parses into its model, and a refused
checkout parses into the typed error."""

import importlib
import json
import pkgutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from urllib.request import Request, urlopen

import pytest

from clinics.context import clinic_host
from conftest import TEST_PASSWORD

PACKAGE = "clinic_api_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
METHODS = {"get", "post", "put", "patch", "delete"}


@dataclass(frozen=True)
class GeneratedClient:
    package: ModuleType
    modules: dict[str, ModuleType]
    operations: int
    base_url: str
    host: str

    def api(self, tag: str, operation_id: str) -> ModuleType:
        return self.modules[f"{PACKAGE}.api.{tag}.{operation_id}"]

    def model(self, name: str):
        return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


def _generate(schema_file: Path, target: Path) -> None:
    config = target.parent / "generator.yaml"
    config.write_text("post_hooks: []\n")
    result = subprocess.run(  # noqa: S603
        [str(GENERATOR), "generate", "--path", str(schema_file), "--output-path", str(target), "--meta", "none",
         "--config", str(config)], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr


@pytest.fixture(scope="module")
def generated(committed_clinic, live_server_process, django_db_blocker, tmp_path_factory) -> Iterator[GeneratedClient]:
    """A client generated once for this module from the live schema of a clinic of its own."""
    clinic = committed_clinic("apiclient", "接口诊所")
    host = clinic_host(clinic)
    base_url = f"http://127.0.0.1:{live_server_process.port}"
    with django_db_blocker.unblock():
        answer = urlopen(Request(f"{base_url}/api/schema/?format=json", headers={"Host": host}), timeout=120)  # noqa: S310
        schema = json.loads(answer.read())
    directory = tmp_path_factory.mktemp("generated")
    schema_file = directory / "schema.json"
    schema_file.write_text(json.dumps(schema))
    _generate(schema_file, directory / PACKAGE)

    sys.path.insert(0, str(directory))
    try:
        package = importlib.import_module(PACKAGE)
        modules = {info.name: importlib.import_module(info.name)
                   for info in pkgutil.walk_packages(package.__path__, f"{PACKAGE}.")}
        operations = sum(len(set(item) & METHODS) for item in schema["paths"].values())
        yield GeneratedClient(package=package, modules=modules, operations=operations, base_url=base_url,
                              host=host)
    finally:
        sys.path.remove(str(directory))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_every_generated_operation_imports(generated):
    operation_modules = [name for name in generated.modules
                         if name.startswith(f"{PACKAGE}.api.") and name.count(".") == 3]

    assert len(operation_modules) == generated.operations
    assert all(hasattr(generated.modules[name], "sync_detailed") for name in operation_modules)


def test_the_front_desk_flow_runs_through_the_generated_client(generated, live_site):
    g = generated
    anonymous = g.package.Client(base_url=g.base_url, headers={"Host": g.host}, raise_on_unexpected_status=True)
    error_model = g.model("Error")

    # Sign in.
    token = g.api("auth", "auth_token_obtain").sync(
        client=anonymous, body=g.model("TokenObtainApiInputRequest")(username="owner", password=TEST_PASSWORD))
    assert isinstance(token, g.model("TokenObtainApiOutput"))
    client = g.package.AuthenticatedClient(base_url=g.base_url, token=token.token, prefix="Token",
                                           headers={"Host": g.host}, raise_on_unexpected_status=True)

    # Create an item of the catalogue.
    category = g.api("catalogue", "catalogue_categories_create").sync(
        client=client, body=g.model("CategoryRequest")(name="皮肤管理", code="skincare"))
    assert isinstance(category, g.model("Category"))
    item = g.api("catalogue", "catalogue_items_create").sync(client=client, body=g.model("ItemInputRequest")(
        kind=g.model("CatalogueItemKindEnum").TREATMENT, name="水光针补水", sku="FAC-01", category=category.id,
        price="1680.00", duration_minutes=40))
    assert isinstance(item, g.model("ItemOutput"))
    assert (item.name, item.price, item.category_name) == ("水光针补水", "1680.00", "皮肤管理")

    # Register a member, then find her by the last four digits of her phone.
    member = g.api("members", "members_register").sync(
        client=client, idempotency_key=str(uuid.uuid4()), body=g.model("MemberListApiInputRequest")(
            name="张小美", phone="+8613812345678", gender=g.model("GenderEnum").FEMALE,
            consents=[g.model("ConsentInputRequest")(purpose=g.model("PurposeEnum").DATA_PROCESSING,
                                                    granted=True)]))
    assert isinstance(member, g.model("MemberOutput"))
    assert member.phone == "+8613812345678"
    found = g.api("members", "members_search").sync(client=client, q="5678")
    assert [type(one) for one in found] == [g.model("MemberOutput")]
    assert found[0].id == member.id

    # Check a visit out with an Idempotency-Key, and retry it: the same visit, nothing moved twice.
    checkout = g.api("visits", "checkout")
    body = g.model("CheckoutApiInputRequest")(
        member_id=member.id, lines=[g.model("CheckoutLineRequest")(item_id=item.id)],
        payments=[g.model("CheckoutPaymentRequest")(method=g.model("MethodEnum").WECHAT_PAY, amount="1680.00")])
    key = str(uuid.uuid4())
    first = checkout.sync_detailed(client=client, body=body, idempotency_key=key)
    retry = checkout.sync_detailed(client=client, body=body, idempotency_key=key)
    assert isinstance(first.parsed, g.model("CheckoutApiOutput"))
    assert isinstance(retry.parsed, g.model("CheckoutApiOutput"))
    assert retry.headers["Idempotent-Replay"] == "true"
    assert retry.parsed.visit.id == first.parsed.visit.id
    assert first.parsed.visit.total == "1680.00"
    assert first.parsed.points_earned > 0

    # The balance counts the visit once.
    balance_of = g.api("points", "points_members_balance_get")
    balance = balance_of.sync(client=client, id=member.id)
    assert isinstance(balance, g.model("Balance"))
    assert balance.lifetime_earned == balance.balance
    assert balance.balance >= first.parsed.points_earned
    visits = g.api("members", "members_visits_list").sync(client=client, id=member.id)
    assert [visit.id for visit in visits] == [first.parsed.visit.id]

    # A refused checkout parses into the typed error and moves nothing.
    short = g.model("CheckoutApiInputRequest")(
        member_id=member.id, lines=[g.model("CheckoutLineRequest")(item_id=item.id)],
        payments=[g.model("CheckoutPaymentRequest")(method=g.model("MethodEnum").CASH, amount="100.00")])
    refused = checkout.sync_detailed(client=client, body=short, idempotency_key=str(uuid.uuid4()))
    assert refused.status_code == 400
    assert isinstance(refused.parsed, error_model)
    assert refused.parsed.error.code == "validation_error"
    assert list(refused.parsed.error.fields.additional_properties) == ["payments"]
    assert balance_of.sync(client=client, id=member.id).balance == balance.balance

    # So does a refusal of another kind: a member the clinic does not have.
    unknown = checkout.sync_detailed(client=client, body=g.model("CheckoutApiInputRequest")(
        member_id=987654, lines=[g.model("CheckoutLineRequest")(item_id=item.id)]))
    assert unknown.status_code == 404
    assert unknown.parsed.error.code == "not_found"


"""The API's common ground: one JSON error shape in the caller's language, the OpenAPI schema, and
Swagger UI served entirely from our own static files."""

import json
import re

import pytest
import yaml
from django.conf import settings
from rest_framework.authtoken.models import Token

from clinics.models import Clinic
from conftest import client_for

REQUIRED = {"zh-hans": "该字段是必填项。", "en": "This field is required."}


@pytest.fixture
def owner_api(clinic, owner):
    client = client_for(clinic)
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.create(user=owner).key}"
    return client


def error_of(response) -> dict:
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["message"]
    return body["error"]


# 400


def test_400_has_field_errors_in_the_clinic_language_by_default(owner_api):
    response = owner_api.post("/api/v1/staff/", {"email": "not-an-email"}, content_type="application/json")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == {"username", "email", "full_name"}  # role defaults to the least privileged
    assert error["fields"]["username"] == [REQUIRED["zh-hans"]]
    assert response["Content-Language"] == "zh-hans"


def test_400_follows_accept_language(owner_api):
    response = owner_api.post("/api/v1/staff/", {}, content_type="application/json",
                              HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")

    assert error_of(response)["fields"]["username"] == [REQUIRED["en"]]
    assert response["Content-Language"] == "en"


def test_400_follows_the_language_cookie_before_anything_else(owner_api):
    owner_api.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = owner_api.post("/api/v1/staff/", {}, content_type="application/json",
                              HTTP_ACCEPT_LANGUAGE="zh-Hans")

    assert error_of(response)["fields"]["username"] == [REQUIRED["en"]]


def test_an_unsupported_accept_language_falls_back_to_the_clinic_language(owner_api):
    response = owner_api.post("/api/v1/staff/", {}, content_type="application/json",
                              HTTP_ACCEPT_LANGUAGE="fr")

    assert error_of(response)["fields"]["username"] == [REQUIRED["zh-hans"]]


def test_an_english_clinic_answers_in_english(owner_api, clinic):
    Clinic.objects.filter(pk=clinic.pk).update(language=Clinic.Language.EN)

    response = owner_api.post("/api/v1/staff/", {}, content_type="application/json")

    assert error_of(response)["fields"]["username"] == [REQUIRED["en"]]


def test_pages_keep_the_clinic_language_whatever_the_browser_says(clinic):
    response = client_for(clinic).get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")

    assert '<html lang="zh-hans">' in response.content.decode()


def test_pages_follow_the_language_cookie(clinic):
    client = client_for(clinic)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get("/accounts/login/")

    assert '<html lang="en">' in response.content.decode()


def test_a_service_rule_is_a_400_in_the_same_shape(owner_api, owner):
    response = owner_api.patch(f"/api/v1/staff/{owner.pk}/", {"is_active": False},
                               content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["fields"] == {"non_field_errors": ["You cannot deactivate your own account."]}
    assert error["message"] == "You cannot deactivate your own account."


def test_malformed_json_is_a_400_parse_error(owner_api):
    response = owner_api.post("/api/v1/staff/", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"


# 401, 403, 404, 405


def test_401_without_credentials(anon_client):
    response = anon_client.get("/api/v1/me/")

    assert response.status_code == 401
    assert error_of(response) == {"code": "not_authenticated", "message": "身份认证信息未提供。",
                                  "fields": {}}


def test_401_with_a_bad_token(anon_client):
    response = anon_client.get("/api/v1/me/", HTTP_AUTHORIZATION="Token not-a-real-token",
                               HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 401
    assert error_of(response) == {"code": "authentication_failed", "message": "Invalid token.", "fields": {}}


def test_403_for_a_role_without_the_permission(clinic, front_desk):
    response = client_for(clinic, front_desk).get("/api/v1/staff/")

    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"


@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/nope/", "/api/v1/staff/abc/"])
def test_404_for_an_unknown_api_path_is_json(anon_client, path):
    response = anon_client.get(path)

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_404_for_an_unknown_record_is_json(owner_api):
    response = owner_api.get("/api/v1/staff/987654321/")

    assert response.status_code == 404
    assert error_of(response) == {"code": "not_found", "message": "未找到。", "fields": {}}


def test_404_for_an_unknown_page_is_html(anon_client):
    response = anon_client.get("/nope/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_405_for_a_method_the_endpoint_does_not_have(owner_api):
    response = owner_api.delete("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 405
    assert error_of(response) == {"code": "method_not_allowed", "message": 'Method "DELETE" not allowed.',
                                  "fields": {}}


def test_415_for_a_body_the_endpoint_cannot_read(owner_api):
    response = owner_api.post("/api/v1/staff/", "<xml/>", content_type="application/xml")

    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


# Schema and docs


def test_schema_is_openapi_3_listing_the_api(anon_client):
    response = anon_client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/auth/token/", "/api/v1/me/", "/api/v1/staff/",
            "/api/v1/staff/{id}/"} <= set(schema["paths"])
    assert all(path.startswith("/api/v1/") for path in schema["paths"])
    assert "patch" in schema["paths"]["/api/v1/staff/{id}/"]


def test_schema_is_also_served_as_json(anon_client):
    response = anon_client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    assert json.loads(response.content)["info"]["title"] == "Clinic Loyalty API"


def test_swagger_ui_uses_only_our_own_static_files(anon_client):
    response = anon_client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.IGNORECASE), "no external URL"
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(assets) >= 3
    assert all(asset.startswith(settings.STATIC_URL) for asset in assets), assets
    for asset in assets:
        served = anon_client.get(asset)
        assert served.status_code == 200, asset
        assert b"".join(served.streaming_content if served.streaming else [served.content])

"""The OpenAPI schema documents every endpoint of every app, with its methods, and says which
POSTs take an Idempotency-Key."""

import re

import yaml
from django.urls import URLPattern, URLResolver

from clinic_loyalty import api_urls

EXPECTED = {
    "accounts": {"/api/v1/auth/token/": {"post"}, "/api/v1/me/": {"get"}, "/api/v1/staff/": {"get", "post"},
                 "/api/v1/staff/{id}/": {"get", "patch"}},
    "members": {"/api/v1/members/": {"get", "post"}, "/api/v1/members/{id}/": {"get", "patch"},
                "/api/v1/members/{id}/status/": {"post"}, "/api/v1/members/{id}/consents/": {"get", "post"},
                "/api/v1/members/{id}/medical/": {"get", "put"}, "/api/v1/members/{id}/export/": {"get"},
                "/api/v1/members/{id}/merge/": {"post"}, "/api/v1/members/{id}/erase/": {"post"},
                "/api/v1/members/{id}/referrals/": {"get"}, "/api/v1/members/{id}/tags/": {"get", "post"}},
    "visits": {"/api/v1/catalogue/categories/": {"get", "post"}, "/api/v1/catalogue/items/": {"get", "post"},
               "/api/v1/catalogue/items/{id}/": {"get", "patch"}, "/api/v1/members/{id}/visits/": {"get"}},
    "checkout": {"/api/v1/visits/": {"post"}, "/api/v1/visits/{id}/": {"get"},
                 "/api/v1/visits/{id}/refunds/": {"post"}},
    "points": {"/api/v1/points/settings/": {"get", "put"},
               "/api/v1/points/members/{id}/balance/": {"get"},
               "/api/v1/points/members/{id}/statement/": {"get"},
               "/api/v1/points/members/{id}/adjustments/": {"get", "post"},
               "/api/v1/points/members/{id}/redemptions/": {"get"},
               "/api/v1/points/adjustments/": {"get"},
               "/api/v1/points/adjustments/{id}/approve/": {"post"},
               "/api/v1/points/adjustments/{id}/reject/": {"post"},
               "/api/v1/points/rewards/": {"get", "post"},
               "/api/v1/points/rewards/{id}/": {"get", "patch", "delete"},
               "/api/v1/points/rewards/{id}/redeem/": {"post"},
               "/api/v1/points/redemptions/{id}/cancel/": {"post"},
               "/api/v1/points/coupon-templates/": {"get", "post"},
               "/api/v1/points/coupon-templates/{id}/": {"get", "patch", "delete"},
               "/api/v1/points/coupons/": {"get", "post"},
               "/api/v1/points/coupons/{code}/": {"get"},
               "/api/v1/points/coupons/{code}/void/": {"post"}},
    "tiers": {"/api/v1/tiers/": {"get", "post"}, "/api/v1/tiers/{id}/": {"get", "patch", "delete"},
              "/api/v1/tiers/programme/": {"get", "put"}, "/api/v1/tiers/members/{id}/": {"get"},
              "/api/v1/tiers/members/{id}/set/": {"post"}},
    "imports": {"/api/v1/imports/": {"get"}, "/api/v1/imports/{id}/": {"get"},
                "/api/v1/imports/{kind}/": {"post"}},
    "messaging": {"/api/v1/messaging/settings/": {"get", "patch"},
                  "/api/v1/messaging/templates/": {"get"},
                  "/api/v1/messaging/templates/{id}/": {"get", "patch"},
                  "/api/v1/messaging/templates/{id}/restore-default/": {"post"},
                  "/api/v1/messaging/templates/{id}/preview/": {"post"},
                  "/api/v1/messaging/messages/": {"get"},
                  "/api/v1/messaging/messages/{id}/": {"get"}},
    "campaigns": {"/api/v1/campaigns/birthday-offer/": {"get", "patch"}, "/api/v1/campaigns/": {"get", "post"},
                  "/api/v1/campaigns/{id}/": {"get", "patch", "delete"}, "/api/v1/campaigns/{id}/preview/": {"get"},
                  "/api/v1/campaigns/{id}/launch/": {"post"}, "/api/v1/campaigns/{id}/cancel/": {"post"},
                  "/api/v1/campaigns/{id}/results/": {"get"}, "/api/v1/campaigns/members/{id}/offers/": {"get"},
                  "/api/v1/campaigns/settings/": {"get", "patch"}},
    "feedback": {"/api/v1/feedback/surveys/": {"get"}, "/api/v1/feedback/surveys/{id}/": {"get"},
                 "/api/v1/feedback/measures/": {"get"}, "/api/v1/feedback/followups/": {"get", "post"},
                 "/api/v1/feedback/followups/{id}/": {"get"}, "/api/v1/feedback/followups/{id}/outcomes/": {"post"},
                 "/api/v1/feedback/recalls/": {"get"}},
    "storedvalue": {"/api/v1/stored-value/settings/": {"get", "put"},
                    "/api/v1/stored-value/plans/": {"get", "post"},
                    "/api/v1/stored-value/plans/{id}/": {"get", "patch"},
                    "/api/v1/stored-value/members/{id}/": {"get"},
                    "/api/v1/stored-value/members/{id}/top-ups/": {"get", "post"},
                    "/api/v1/stored-value/members/{id}/cash-out/": {"get", "post"},
                    "/api/v1/stored-value/liability/": {"get"}},
    "insights": {f"/api/v1/kpis/{panel}/": {"get"} for panel in (
        "summary", "series", "cohorts", "rfm", "tiers", "points", "referrals", "appointments", "satisfaction",
        "campaigns", "stored-value", "members")},
    "recommendations": {"/api/v1/members/{id}/recommendations/": {"get"},
                        "/api/v1/catalogue/items/{id}/related/": {"get"}},
    "insights-clv": {"/api/v1/kpis/clv/": {"get"}, "/api/v1/kpis/clv/members/": {"get"}},
    "audit": {"/api/v1/audit/settings-changes/": {"get"}},
    "segments": {"/api/v1/segments/": {"get", "post"}, "/api/v1/segments/preview/": {"post"},
                 "/api/v1/segments/{id}/": {"get", "patch"}, "/api/v1/segments/{id}/count/": {"get"},
                 "/api/v1/segments/{id}/members/": {"get"}},
    "packages": {"/api/v1/packages/products/": {"get", "post"}, "/api/v1/packages/products/{id}/": {"get", "patch"},
                 "/api/v1/packages/members/{id}/": {"get"},
                 "/api/v1/packages/purchases/{id}/refund-quote/": {"get"},
                 "/api/v1/packages/purchases/{id}/refunds/": {"post"},
                 "/api/v1/packages/purchases/{id}/transfer/": {"post"},
                 "/api/v1/packages/outstanding/": {"get"}, "/api/v1/packages/figures/": {"get"},
                 "/api/v1/packages/settings/": {"get", "put"}},
}

IDEMPOTENT_POSTS = {
    "/api/v1/visits/", "/api/v1/visits/{id}/refunds/", "/api/v1/members/", "/api/v1/members/{id}/merge/",
    "/api/v1/imports/{kind}/", "/api/v1/points/members/{id}/adjustments/",
    "/api/v1/points/adjustments/{id}/approve/", "/api/v1/points/adjustments/{id}/reject/",
    "/api/v1/points/rewards/{id}/redeem/", "/api/v1/points/redemptions/{id}/cancel/",
    "/api/v1/points/coupons/", "/api/v1/points/coupons/{code}/void/",
    "/api/v1/points/coupon-templates/{id}/bulk-issue/",
    "/api/v1/appointments/bookings/{id}/checkout/", "/api/v1/appointments/bookings/{id}/deposit/",
    "/api/v1/campaigns/{id}/launch/", "/api/v1/campaigns/{id}/cancel/",
    "/api/v1/packages/purchases/{id}/refunds/", "/api/v1/packages/purchases/{id}/transfer/",
    "/api/v1/stored-value/members/{id}/top-ups/", "/api/v1/stored-value/members/{id}/cash-out/",
}
METHODS = {"get", "post", "put", "patch", "delete"}


def _routes(patterns, prefix: str = "") -> set[str]:
    """Every route of the API URL conf, written as the schema writes paths."""
    routes = set()
    for pattern in patterns:
        text = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            routes |= _routes(pattern.url_patterns, text)
        elif isinstance(pattern, URLPattern):
            text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", text)
            text = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", text).replace("{pk}", "{id}")
            routes.add(f"/api/v1/{text}")
    return routes


def schema(anon_client) -> dict:
    return yaml.safe_load(anon_client.get("/api/schema/").content)["paths"]


def test_every_app_endpoint_is_in_the_schema_with_its_methods(anon_client):
    paths = schema(anon_client)

    for app, endpoints in EXPECTED.items():
        for path, methods in endpoints.items():
            assert path in paths, f"{app}: {path} is missing from the schema"
            assert set(paths[path]) & METHODS == methods, f"{app}: {path} documents {set(paths[path]) & METHODS}"


def test_no_route_of_the_api_is_left_out_of_the_schema(anon_client):
    assert _routes(api_urls.urlpatterns) - set(schema(anon_client)) == set()


def test_value_moving_posts_document_the_idempotency_key(anon_client):
    paths = schema(anon_client)

    documented = {path for path, operations in paths.items()
                  if any(parameter.get("name") == "Idempotency-Key"
                         for parameter in operations.get("post", {}).get("parameters", []))}

    assert documented == IDEMPOTENT_POSTS

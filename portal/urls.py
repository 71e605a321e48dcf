from django.urls import path

from portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("signin/", views.signin, name="signin"),
    path("signin/code/", views.verify, name="verify"),
    path("signout/", views.signout, name="signout"),
    path("join/", views.join, name="join"),
    path("statement/", views.statement, name="statement"),
    path("me/", views.profile, name="profile"),
    path("me/details/", views.profile_details, name="profile_details"),
    path("me/language/", views.profile_language, name="profile_language"),
    path("me/consent/", views.profile_consent, name="profile_consent"),
    path("me/privacy/", views.profile_privacy, name="profile_privacy"),
    path("me/privacy/export/", views.profile_export, name="profile_export"),
    path("me/privacy/erasure/", views.profile_erasure, name="profile_erasure"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
]

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
]

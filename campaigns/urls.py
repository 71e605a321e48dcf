from django.urls import path

from campaigns import api

urlpatterns = [
    path("birthday-offer/", api.BirthdayOfferApi.as_view(), name="api-birthday-offer"),
]

from django.urls import path

from checkout import api as checkout_api
from visits import api as visits_api

urlpatterns = [
    path("", checkout_api.CheckoutApi.as_view(), name="api-checkout"),
    path("<int:pk>/", visits_api.VisitDetailApi.as_view(), name="api-visit"),
    path("<int:pk>/refunds/", checkout_api.VisitRefundApi.as_view(), name="api-visit-refund"),
]

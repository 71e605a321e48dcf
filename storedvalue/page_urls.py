from django.urls import path

from storedvalue import views

app_name = "storedvalue"

urlpatterns = [
    path("members/<int:pk>/", views.CardView.as_view(), name="card"),
    path("members/<int:pk>/cash-out/", views.CashOutView.as_view(), name="cash_out"),
    path("top-ups/<int:pk>/", views.ReceiptView.as_view(), name="receipt"),
    path("plans/", views.PlansView.as_view(), name="plans"),
    path("liability/", views.LiabilityView.as_view(), name="liability"),
]

"""Core API endpoints under /api/v1/: the client's own view of itself and its webhooks."""

from django.urls import path

from governance.api import client_views

app_name = "api"

urlpatterns = [
    path("me/", client_views.MeView.as_view(), name="me"),
    path("webhooks/subscriptions/", client_views.SubscriptionListView.as_view(), name="webhook_subscriptions"),
    path("webhooks/subscriptions/<int:pk>/", client_views.SubscriptionDetailView.as_view(),
         name="webhook_subscription"),
    path("webhooks/deliveries/", client_views.DeliveryListView.as_view(), name="webhook_deliveries"),
    path("webhooks/deliveries/<int:pk>/", client_views.DeliveryDetailView.as_view(), name="webhook_delivery"),
    path("webhooks/deliveries/<int:pk>/replay/", client_views.DeliveryReplayView.as_view(),
         name="webhook_delivery_replay"),
]

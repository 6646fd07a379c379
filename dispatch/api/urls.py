from django.urls import path  # noqa: F401

from dispatch.api import views  # noqa: F401

app_name = "dispatch-api"

urlpatterns: list = []

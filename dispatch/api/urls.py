from django.urls import path

from dispatch.api import views

app_name = "dispatch-api"

urlpatterns = [
    path("catalogue/", views.CatalogueView.as_view(), name="catalogue"),
    path("catalogue/search/", views.CatalogueSearchView.as_view(), name="catalogue_search"),
    path("events/", views.EventListCreateView.as_view(), name="event_list"),
    path("events/changes/", views.EventChangesView.as_view(), name="event_changes"),
    path("events/<int:pk>/", views.EventDetailView.as_view(), name="event_detail"),
    path("events/<int:pk>/actions/<str:action>/", views.EventActionView.as_view(), name="event_action"),
]

from django.urls import path

from grids.api import views

app_name = "grids-api"

urlpatterns = [
    # --- Units and grids (owner: grid maps)
    path("", views.GridList.as_view(), name="grid_list"),
    path("geojson/", views.GridGeoJSON.as_view(), name="grid_geojson"),
    path("<int:pk>/", views.GridDetail.as_view(), name="grid_detail"),
    path("units/", views.UnitList.as_view(), name="unit_list"),
    path("units/geojson/", views.UnitGeoJSON.as_view(), name="unit_geojson"),
    path("units/<int:pk>/", views.UnitDetail.as_view(), name="unit_detail"),
    # --- Workers, patrols, visits (owner: field work)
    path("<int:pk>/workers/", views.GridWorkerList.as_view(), name="grid_workers"),
    path("patrols/", views.PatrolList.as_view(), name="patrol_list"),
    path("patrols/<int:pk>/", views.PatrolDetail.as_view(), name="patrol_detail"),
    path("patrols/<int:pk>/points/", views.PatrolPoints.as_view(), name="patrol_points"),
    path("visits/", views.VisitList.as_view(), name="visit_list"),
]

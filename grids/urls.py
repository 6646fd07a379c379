from django.urls import path

from grids import views

app_name = "grids"

urlpatterns = [
    # --- Grids, import/export, map (owner: grid maps)
    path("", views.grid_list, name="grid_list"),
    path("map/", views.grid_map, name="grid_map"),
    path("import/", views.grid_import, name="grid_import"),
    path("export.geojson", views.export_geojson, name="export_geojson"),
    path("export.xlsx", views.export_xlsx, name="export_xlsx"),
    path("<int:pk>/", views.grid_detail, name="grid_detail"),
    path("<int:pk>/boundary/", views.grid_boundary, name="grid_boundary"),
    # --- Roster, my grid, patrols, visits (owner: field work)
    path("mine/", views.my_grid, name="my_grid"),
    path("without-worker/", views.grids_without_worker, name="without_worker"),
    path("<int:pk>/team/", views.grid_team, name="grid_team"),
    path("patrols/start/", views.patrol_start, name="patrol_start"),
    path("patrols/<int:pk>/", views.patrol_detail, name="patrol_detail"),
    path("patrols/<int:pk>/end/", views.patrol_end, name="patrol_end"),
    path("visits/", views.visit_list, name="visit_list"),
    path("visits/new/", views.visit_create, name="visit_create"),
    path("visits/<int:pk>/follow-up-done/", views.visit_follow_up_done, name="visit_follow_up_done"),
]

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, re_path
from django.views.i18n import JavaScriptCatalog, set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from governance import views
from governance.api import views as api_views

app_urls = (
    [
        path("units/", views.unit_list, name="unit_list"),
        path("units/<int:pk>/", views.unit_detail, name="unit_detail"),
        path("departments/", views.department_list, name="department_list"),
        path("departments/<int:pk>/", views.department_detail, name="department_detail"),
        path("inbox/", views.inbox, name="inbox"),
        path("inbox/<int:pk>/", views.inbox_open, name="inbox_open"),
        path("inbox/<int:pk>/read/", views.inbox_mark_read, name="inbox_mark_read"),
        path("inbox/read-all/", views.inbox_mark_all_read, name="inbox_mark_all_read"),
    ],
    "governance",
)

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("jsi18n/", login_not_required(JavaScriptCatalog.as_view()), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("", include(app_urls)),
    path("grids/", include("grids.urls")),
    path("api/v1/grids/", include("grids.api.urls")),
    path("dispatch/", include("dispatch.urls")),
    path("report/", include("dispatch.public_urls")),
    path("api/v1/dispatch/", include("dispatch.api.urls")),
    path("api/v1/", include("governance.api.urls")),
    path("api/v1/schema/", login_not_required(SpectacularAPIView.as_view()), name="api-schema"),
    path("api/v1/docs/", login_not_required(SpectacularSwaggerView.as_view(url_name="api-schema")), name="api-docs"),
    path("api/v1/redoc/", login_not_required(SpectacularRedocView.as_view(url_name="api-schema")), name="api-redoc"),
    path("open311/v2/", include("open311.urls")),
    re_path(r"^api/v1/", api_views.not_found),  # last: whatever no API endpoint answered
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

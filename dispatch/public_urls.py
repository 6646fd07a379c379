"""The citizens' pages (no login): report, receipt, track and rate."""

from dispatch.views import public

app_name = "public"

urlpatterns = public.urlpatterns

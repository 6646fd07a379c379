from dispatch.views import case, intake, workbench

app_name = "dispatch"

urlpatterns = [*intake.urlpatterns, *workbench.urlpatterns, *case.urlpatterns]

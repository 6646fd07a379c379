from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridsConfig(AppConfig):
    name = "grids"
    verbose_name = _("Grids and grid workers")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from grids import home  # noqa: F401  (registers the home-page panel)

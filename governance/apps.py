from importlib import import_module

from django.apps import AppConfig, apps
from django.utils.module_loading import module_has_submodule
from django.utils.translation import gettext_lazy as _

# django-leaflet's admin module imports GeoDjango, which needs the GDAL C library. GridGov keeps
# geometry as GeoJSON with shapely and does not need GeoDjango, so that module is not loaded.
ADMIN_MODULES_SKIPPED = {"leaflet"}


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = _("Governance core")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance import calendar  # noqa: F401  (cache invalidation receivers)
        from governance.api import schema  # noqa: F401  (OpenAPI extensions: bearer tokens, errors)

        for config in apps.get_app_configs():
            if config.name not in ADMIN_MODULES_SKIPPED and module_has_submodule(config.module, "admin"):
                import_module(f"{config.name}.admin")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridsConfig(AppConfig):
    name = "grids"
    verbose_name = _("Grids and grid workers")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from grids import home  # noqa: F401  (registers the home-page panel)
        from grids.models import Grid
        from grids.selectors import forget_grids_version

        post_save.connect(forget_grids_version, sender=Grid, dispatch_uid="grids.forget_version.save")
        post_delete.connect(forget_grids_version, sender=Grid, dispatch_uid="grids.forget_version.delete")

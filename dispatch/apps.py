from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = _("Cases and dispatch")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registered on import: the home page's panels and the grid map's "open cases" measure.
        from dispatch import home, measures  # noqa: F401

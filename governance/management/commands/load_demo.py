from importlib import import_module

from django.apps import apps
from django.core.management.base import BaseCommand
from django.utils.module_loading import module_has_submodule

from governance import demo


class Command(BaseCommand):
    help = "Load the labelled demo district (real division codes of 莲湖区, synthetic people and data)."

    def handle(self, *args, **options):
        context = demo.load()
        for config in apps.get_app_configs():
            if config.name != "governance" and module_has_submodule(config.module, "demo"):
                import_module(f"{config.name}.demo").load(context)
        self.stdout.write(self.style.SUCCESS(f"Demo district loaded: {context.district.name} (DEMO DATA)."))
        self.stdout.write(f"Every demo login uses the password: {demo.DEMO_PASSWORD}")
        for username, role, place in context.logins:
            self.stdout.write(f"  {username:<12} {role} · {place}")

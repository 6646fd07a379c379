from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from governance.divisions import divisions_import


class Command(BaseCommand):
    help = "Load administrative units from a division CSV (code,name,level,parent_code). All or nothing."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)

    def handle(self, *args, path: Path, **options):
        if not path.exists():
            raise CommandError(f"No such file: {path}")
        result = divisions_import(path=path)
        if result.errors:
            raise CommandError("Nothing was loaded:\n" + "\n".join(result.errors))
        self.stdout.write(
            self.style.SUCCESS(f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged.")
        )

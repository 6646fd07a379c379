from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from dispatch.catalogue import DEFAULT_PATH, CatalogueError, catalogue_load


class Command(BaseCommand):
    help = (
        "Load the event catalogue from a CSV (the shipped default unless a file is given). Adds the classes "
        "that are missing; --update also resets existing classes' names, limits, urgency, track, self-handling "
        "and keywords to the file. Departments are never touched. All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
        parser.add_argument("--update", action="store_true", help="Also reset existing classes to the file.")

    def handle(self, *args, path: Path, update: bool, **options):
        if not path.exists():
            raise CommandError(f"No such file: {path}")
        try:
            result = catalogue_load(path, update_existing=update)
        except CatalogueError as exc:
            raise CommandError("Nothing was loaded:\n" + "\n".join(exc.errors)) from None
        self.stdout.write(self.style.SUCCESS(f"{result.created} created, {result.updated} updated ({path.name})."))

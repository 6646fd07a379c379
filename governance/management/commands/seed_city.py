import datetime
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from governance.seed import SCALES
from governance.seed.runner import SeedRefused, run


class Command(BaseCommand):
    help = ("Build a synthetic city (labelled 合成, codes 99…, users syn-…) reproducibly from a seed: units, "
            "departments, staff, grids and their teams, a year of cases, patrols and visits. See docs/seed.md.")

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=sorted(SCALES), default="tiny")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--events", type=int, help="cases to file (default: the scale's number)")
        parser.add_argument("--workers-only", action="store_true",
                            help="units, departments, people, grids and teams; no cases, patrols or visits")
        parser.add_argument("--as-of", help="the city's present, YYYY-MM-DDTHH:MM in TIME_ZONE (default: now); "
                                            "the same seed, scale and instant give the same rows")
        parser.add_argument("--full-history", action="store_true",
                            help="every history row of every case (city scale otherwise cuts old finished cases "
                                 "down to their report and final rows)")
        parser.add_argument("--yes", action="store_true", help="seed even though the database holds other data")

    def handle(self, *args, **options):
        as_of = None
        if options["as_of"]:
            try:
                as_of = datetime.datetime.fromisoformat(options["as_of"])
            except ValueError:
                raise CommandError(f"--as-of {options['as_of']!r} is not YYYY-MM-DDTHH:MM.") from None
            if timezone.is_naive(as_of):
                as_of = timezone.make_aware(as_of)
        if options["events"] is not None and options["events"] < 0:
            raise CommandError("--events must be 0 or more.")
        try:
            report = run(scale=options["scale"], seed=options["seed"], events=options["events"],
                         workers_only=options["workers_only"], yes=options["yes"], as_of=as_of,
                         full_history=options["full_history"],
                         log=lambda line: (self.stdout.write(line), self.stdout.flush()))
        except SeedRefused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(report, ensure_ascii=False))

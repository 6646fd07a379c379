"""What the failure drills share: filing reports through the API, counting answers, checking the
database afterwards, a webhook receiver, and the one-JSON-line ending.

A drill module defines ``run(stack, **knobs) -> Result`` (what the CI test calls, on a stack it
shares) and ``main()`` (the command: its own stack, its arguments, exit status 1 when anything was
lost or duplicated).
"""

from __future__ import annotations

import argparse
import http.server
import inspect
import json
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script: python bench/drills/<name>.py
    sys.path.insert(0, str(ROOT))

from bench.stack import Stack, free_port  # noqa: E402

EVENTS = "/api/v1/dispatch/events/"
REQUEST_TIMEOUT_S = 30  # an answer slower than this is a hang, not an answer
SLOW_S = 5  # answers slower than this are counted apart


@dataclass
class Result:
    """What a drill counted: ``figures`` (printed and in the JSON line) and ``problems`` (anything
    lost, duplicated, hung or refused that should not be; empty when the drill passed)."""

    drill: str
    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def check(self, condition: bool, message: str) -> bool:
        if not condition:
            self.problem(message)
        return condition

    def json(self) -> str:
        return json.dumps({"drill": self.drill, "ok": self.ok, **self.figures, "problems": self.problems},
                          ensure_ascii=False, default=str)

    def print(self) -> None:
        print(f"== drill {self.drill}: {'PASSED' if self.ok else 'FAILED'}")
        for key, value in self.figures.items():
            print(f"  {key}: {json.dumps(value, ensure_ascii=False, default=str)}")
        for note in self.notes:
            print(f"  note: {note}")
        for problem in self.problems:
            print(f"  PROBLEM: {problem}")
        print(self.json(), flush=True)


# --- Filing reports ------------------------------------------------------------------------------


def new_run_id() -> str:
    return uuid.uuid4().hex[:8]


def report_body(stack: Stack, n: int, *, outside_every: int = 4) -> dict:
    """Report number ``n``: inside one of the seeded grids, or (every ``outside_every``-th) at a point
    in no grid, which the street centre routes and whose staff are told (a follow-up with messages)."""
    data = stack.data
    body = {"category": data["category"], "title": f"演练上报 {n}（合成）", "description": "failure drill (synthetic)",
            "address": f"演练路 {n} 号（合成）"}
    if outside_every and n % outside_every == 0:
        lon, lat = data["outside"]
        body.update(lon=lon, lat=lat, unit=data["units"]["communities"][0])
    else:
        lon, lat = data["points"][n % len(data["points"])]
        body.update(lon=lon, lat=lat)
    return body


@dataclass
class Answer:
    status: str  # "201", "200", "503", … or the exception's name (ConnectionError, ReadTimeout, …)
    case_id: int | None
    started: float  # time.monotonic()
    seconds: float
    replayed: bool = False

    @property
    def accepted(self) -> bool:
        return self.status in ("200", "201")


def post_report(session, stack: Stack, key: str, body: dict, *, timeout: float = REQUEST_TIMEOUT_S) -> Answer:
    started = time.monotonic()
    try:
        response = session.post(stack.url(EVENTS), json=body, headers={"Idempotency-Key": key}, timeout=timeout)
    except Exception as exc:  # requests' ConnectionError, ReadTimeout, ChunkedEncodingError …
        return Answer(type(exc).__name__, None, started, time.monotonic() - started)
    case_id = None
    if response.status_code in (200, 201):
        case_id = response.json()["id"]
    return Answer(str(response.status_code), case_id, started, time.monotonic() - started,
                  replayed=response.headers.get("Idempotent-Replayed") == "true")


@dataclass
class Submission:
    """One report as a client sees it: its key, every answer it got (a retry after an error reuses
    the key), and the case it ended with (None if it never got a 201 or 200)."""

    key: str
    outside: bool
    answers: list[Answer] = field(default_factory=list)

    @property
    def case_id(self) -> int | None:
        return next((a.case_id for a in reversed(self.answers) if a.accepted), None)

    @property
    def first_try_accepted(self) -> bool:
        return bool(self.answers) and self.answers[0].accepted


def submit(session, stack: Stack, key: str, body: dict, *, give_up_at: float, retry_wait: float = 0.5,
           outside: bool = False) -> Submission:
    """POST one report, retrying with the same key after an error until accepted or ``give_up_at``
    (time.monotonic()); a client that keeps its key makes one case however often it retries."""
    submission = Submission(key, outside)
    while True:
        answer = post_report(session, stack, key, body)
        submission.answers.append(answer)
        if answer.accepted or answer.status.startswith("4") or time.monotonic() > give_up_at:
            return submission
        time.sleep(retry_wait)


def answers_summary(submissions: Iterable[Submission]) -> dict:
    statuses: Counter = Counter()
    slow = 0
    slowest = 0.0
    for s in submissions:
        for a in s.answers:
            statuses[a.status] += 1
            slow += a.seconds > SLOW_S
            slowest = max(slowest, a.seconds)
    return {"by_status": dict(sorted(statuses.items())), "slower_than_5s": slow, "slowest_s": round(slowest, 2)}


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 3)


def refused_since(stack: Stack, before: dict[str, int]) -> dict[str, int]:
    """Tasks refused by the broker (or never sent) since ``before`` (an earlier ``stack.refused_sends()``),
    by "<process>:<task> (<exception>)"."""
    now = stack.refused_sends()
    return {k: n - before.get(k, 0) for k, n in now.items() if n - before.get(k, 0)}


def note_refused(result: Result, refused: dict[str, int]) -> None:
    """Explain refusals that had nothing to do with the broker being down."""
    unregistered = {k: n for k, n in refused.items() if "NotRegistered" in k}
    if unregistered:
        result.notes.append(
            f"sends refused with NotRegistered while Redis was up: {unregistered}. A fresh web process's first "
            "concurrent sends race Celery's task autodiscovery (governance.queue._task; celery.loaders.base."
            "autodiscover_tasks returns nothing while another thread is discovering): those follow-ups wait for "
            "the periodic re-send")


# --- Keeping the Celery processes up ----------------------------------------------------------------


class Supervisor:
    """Restarts the stack's Celery worker (and beat) when they exit, as a process supervisor would
    (docker-compose: ``restart: unless-stopped``), and records each exit with its last critical
    log line. Call ``check()`` from the main thread at the drill's pauses."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.exits: list[dict] = []

    def check(self) -> bool:
        for service in filter(None, (self.stack.worker, self.stack.beat)):
            if service.proc is not None and not service.running:
                self.exits.append({"service": service.name, "exit_status": service.proc.returncode,
                                   "error": _last_critical(service.log)})
                service.start()
        return True

    def note(self, result: Result) -> None:
        result.figures["celery_exits"] = len(self.exits)
        for e in self.exits:
            result.notes.append(f"the Celery {e['service']} exited with status {e['exit_status']} "
                                f"({e['error']}); the drill restarted it, as a process supervisor would")


def _last_critical(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if "CRITICAL" in line] if log.exists() else []
    return lines[-1].split("] ", 1)[-1] if lines else "no CRITICAL line in its log"


# --- Checking the database -------------------------------------------------------------------------


def stored_key(stack: Stack, key: str, client: str = "reporter") -> str:
    """The key as the API stores it (per account: ``api:<account id>:<key>``)."""
    return f"api:{stack.data['users'][client]}:{key}"


def cases_by_key(stack: Stack, keys: list[str], client: str = "reporter") -> dict[str, list[int]]:
    """Client key → the ids of the cases stored with it (one, if all is well)."""
    stored = {stored_key(stack, k, client): k for k in keys}
    rows = stack.sql("SELECT idempotency_key, array_agg(id ORDER BY id) FROM dispatch_event "
                     "WHERE idempotency_key = ANY(%s) GROUP BY idempotency_key", (list(stored),))
    found = {stored[key]: ids for key, ids in rows}
    return {k: found.get(k, []) for k in keys}


def history_counts(stack: Stack, case_ids: list[int]) -> dict[int, Counter]:
    """Case id → Counter of its history rows by action."""
    rows = stack.sql("SELECT event_id, action, count(*) FROM dispatch_transition WHERE event_id = ANY(%s) "
                     "GROUP BY event_id, action", (case_ids,))
    counts: dict[int, Counter] = {pk: Counter() for pk in case_ids}
    for event_id, action, n in rows:
        counts[event_id][action] = n
    return counts


def follow_up_backlog(stack: Stack, case_ids: list[int]) -> int:
    """History rows of these cases not followed up yet (``Transition.followed_up_at`` unset)."""
    return stack.value("SELECT count(*) FROM dispatch_transition WHERE event_id = ANY(%s) AND followed_up_at IS NULL",
                       (case_ids,))


def settled_backlog(stack: Stack, case_ids: list[int], supervisor: Supervisor | None = None, *,
                    quiet_s: float = 8, timeout: float = 180) -> int:
    """The follow-up backlog once the worker has done what reached it: the broker's queue is empty
    and the backlog has not moved for ``quiet_s`` seconds (tasks retrying with backoff included)."""
    t0 = time.monotonic()
    last, since = None, time.monotonic()
    while time.monotonic() - t0 < timeout:
        if supervisor is not None:
            supervisor.check()
        now = (follow_up_backlog(stack, case_ids), stack.redis.client().llen("celery"))
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s and now[1] == 0:
            break
        time.sleep(0.5)
    return last[0]


def notifications_per_case(stack: Stack, case_ids: list[int], kind: str) -> dict[int, int]:
    """Case id → inbox rows of ``kind`` linking to it (the follow-up's side effect)."""
    urls = {f"/dispatch/cases/{pk}/": pk for pk in case_ids}
    rows = stack.sql("SELECT url, count(*) FROM governance_notification WHERE kind = %s AND url = ANY(%s) GROUP BY url",
                     (kind, list(urls)))
    counts = dict.fromkeys(case_ids, 0)
    for url, n in rows:
        counts[urls[url]] = n
    return counts


def staff_of_street(stack: Stack) -> int:
    """How many people a case routed by the street centre tells (its active command roles)."""
    return stack.value("SELECT count(DISTINCT user_id) FROM governance_roleassignment WHERE unit_id = %s "
                       "AND role IN ('street_operator', 'district_dispatcher', 'community_staff')",
                       (stack.data["units"]["street"],))


def wait_until(check: Callable[[], bool], *, timeout: float, interval: float = 0.5,
               supervisor: Supervisor | None = None) -> float | None:
    """Seconds until ``check()`` held, or None if it did not within ``timeout``."""
    t0 = time.monotonic()
    while True:
        if supervisor is not None:
            supervisor.check()
        if check():
            return round(time.monotonic() - t0, 1)
        if time.monotonic() - t0 > timeout:
            return None
        time.sleep(interval)


def scheduled_resends(stack: Stack) -> list[str]:
    """The re-send tasks (``*_resend``) that the settings' beat schedule runs."""
    out = stack.django("import json\nfrom django.conf import settings\n"
                       "print(json.dumps(sorted({e['task'] for e in settings.CELERY_BEAT_SCHEDULE.values() "
                       "if e['task'].endswith('_resend')})))")
    return json.loads(out.strip().splitlines()[-1])


def call_resends(stack: Stack, tasks: list[str], age_seconds: int = 0) -> None:
    """Send each re-send task through the broker to the worker, as beat does on its schedule, but
    for work older than ``age_seconds`` (beat: 120 s for follow-ups) so that a drill need not wait.
    Each of them takes that age (or grace) in seconds as its one argument."""
    for task in tasks:
        stack.celery("call", task, "--args", json.dumps([age_seconds]))


def check_cases(result: Result, stack: Stack, submissions: list[Submission]) -> list[int]:
    """Every accepted submission is exactly one case, with one ``report`` row; none lost or doubled.
    Returns the case ids."""
    by_key = cases_by_key(stack, [s.key for s in submissions])
    accepted = [s for s in submissions if s.case_id is not None]
    given_up = [s for s in submissions if s.case_id is None]
    lost = [s.key for s in accepted if not by_key[s.key]]
    doubled = {k: ids for k, ids in by_key.items() if len(ids) > 1}
    mismatched = [s.key for s in accepted if by_key[s.key] and s.case_id != by_key[s.key][0]]
    # A submission that never got an answer may still have made its case (the answer was lost):
    # the client would retry with the same key and get it. Count them apart.
    unanswered_made = [s.key for s in given_up if by_key[s.key]]
    case_ids = sorted({pk for ids in by_key.values() for pk in ids})
    history = history_counts(stack, case_ids)
    report_rows = Counter(h["report"] for h in history.values())
    result.figures.update({
        "submissions": len(submissions), "accepted": len(accepted), "accepted_first_try": sum(
            s.first_try_accepted for s in submissions), "accepted_after_retry": sum(
            s.case_id is not None and not s.first_try_accepted for s in submissions),
        "never_accepted": len(given_up), "never_accepted_but_stored": len(unanswered_made),
        "cases": len(case_ids), "lost": len(lost), "duplicated_keys": len(doubled),
        "answer_case_mismatch": len(mismatched),
    })
    result.check(not lost, f"{len(lost)} accepted submissions have no case, e.g. {lost[:3]}")
    result.check(not doubled, f"{len(doubled)} keys made more than one case: {dict(list(doubled.items())[:3])}")
    result.check(not mismatched, f"{len(mismatched)} answers named another case than the key's, e.g. {mismatched[:3]}")
    result.check(set(report_rows) <= {1}, f"cases by number of 'report' history rows: {dict(report_rows)}")
    return case_ids


# --- A webhook receiver ----------------------------------------------------------------------------


class WebhookSink:
    """An HTTP receiver on a free loopback port counting deliveries by ``X-GridGov-Delivery``."""

    def __init__(self) -> None:
        self.received: Counter = Counter()  # delivery id → times received
        self.objects: Counter = Counter()  # (event type, object id) → times received
        self._lock = threading.Lock()
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                data = json.loads(body or b"{}")
                with sink._lock:
                    sink.received[self.headers.get("X-GridGov-Delivery", "?")] += 1
                    sink.objects[(data.get("type"), (data.get("data") or {}).get("id"))] += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def __enter__(self) -> WebhookSink:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def subscribe(stack: Stack, url: str, events: list[str], client: str = "reporter") -> int:
    """A webhook subscription of the seeded API client ``client``; returns its id."""
    out = stack.django(
        "from governance.models import ApiClient, WebhookSubscription\n"
        f"s = WebhookSubscription.objects.create(client=ApiClient.objects.get(name='stack-{client}'), "
        f"url={url!r}, events={events!r})\n"
        "print(s.pk)"
    )
    return int(out.strip().splitlines()[-1])


def check_webhooks(result: Result, stack: Stack, sink: WebhookSink, subscription: int, case_ids: list[int],
                   event_type: str = "case.created") -> None:
    """One delivery row per case for ``event_type``, each received (at least once) by the sink."""
    rows = stack.sql("SELECT object_id, count(*), array_agg(id), array_agg(status) FROM governance_webhookdelivery "
                     "WHERE subscription_id = %s AND event_type = %s AND object_id = ANY(%s) AND replay_of_id IS NULL "
                     "GROUP BY object_id", (subscription, event_type, case_ids))
    per_case = {object_id: (n, ids, statuses) for object_id, n, ids, statuses in rows}
    missing = [pk for pk in case_ids if pk not in per_case]
    doubled = {pk: v[1] for pk, v in per_case.items() if v[0] > 1}
    delivery_ids = [i for v in per_case.values() for i in v[1]]
    not_received = [i for i in delivery_ids if sink.received[str(i)] == 0]
    received_twice = sum(1 for i in delivery_ids if sink.received[str(i)] > 1)
    statuses = Counter(s for v in per_case.values() for s in v[2])
    result.figures["webhooks"] = {
        "event_type": event_type, "deliveries": len(delivery_ids), "by_status": dict(statuses),
        "cases_without_delivery": len(missing), "cases_with_several_deliveries": len(doubled),
        "received": sum(sink.received[str(i)] for i in delivery_ids), "not_received": len(not_received),
        "received_more_than_once": received_twice,
    }
    result.check(not missing, f"{len(missing)} cases got no {event_type} webhook delivery, e.g. case ids {missing[:5]}")
    result.check(not doubled, f"{len(doubled)} cases got several {event_type} deliveries: {dict(list(doubled.items())[:3])}")
    result.check(not not_received, f"{len(not_received)} deliveries never reached the receiver, e.g. {not_received[:5]}")
    if received_twice:
        result.notes.append(f"{received_twice} deliveries reached the receiver more than once (same "
                            "X-GridGov-Delivery id: at-least-once, the receiver drops repeats)")


def webhooks_settled(stack: Stack, subscription: int) -> bool:
    return not stack.value("SELECT count(*) FROM governance_webhookdelivery WHERE subscription_id = %s "
                           "AND status = 'pending'", (subscription,))


# --- The command line ----------------------------------------------------------------------------


def cli(name: str, doc: str, run: Callable[..., Result], add_arguments: Callable[[argparse.ArgumentParser], None],
        stack_options: Callable[[argparse.Namespace], dict] | None = None) -> int:
    """Parse the drill's arguments, start its stack, run it, print, return the exit status."""
    parser = argparse.ArgumentParser(prog=f"bench/drills/{name}.py", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--verbose", action="store_true", help="say what the stack does (stderr)")
    args = parser.parse_args()
    wanted = inspect.signature(run).parameters
    options = {k: v for k, v in vars(args).items() if k in wanted}
    verbose = args.verbose
    started = time.monotonic()
    with Stack(verbose=verbose, **(stack_options(args) if stack_options else {})) as stack:
        setup = round(time.monotonic() - started, 1)
        result = run(stack, **options)
        if not result.ok:
            kept = stack.save_logs(ROOT / "var" / "drills" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}")
            result.notes.append(f"the stack's logs are kept in {kept.relative_to(ROOT)}")
    result.figures["stack_setup_s"] = setup
    result.figures["total_s"] = round(time.monotonic() - started, 1)
    result.print()
    return 0 if result.ok else 1

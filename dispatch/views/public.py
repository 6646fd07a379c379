"""Dispatch views: public (see dispatch/views/__init__.py).

Citizens, with no login: report a problem, get a receipt code, track the case by it and rate the
result. What these pages show is chosen field by field: the state in plain words, dates and public
step names, the category, photos re-encoded without metadata. Never staff names, internal notes,
phone numbers or original photos. Both writing and guessing codes are throttled per client.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext, gettext_lazy as _
from django.views.decorators.http import require_POST

from dispatch import attachments, selectors, services, throttle
from dispatch.forms import CitizenReportForm, RatingForm, TrackForm, add_service_errors
from dispatch.models import Attachment, Channel, Event, Stage, State
from dispatch.workflow import WorkflowError

# The state as a citizen reads it.
PUBLIC_STATE = {
    State.REPORTED: _("Received; the command centre will check it soon."),
    State.ACCEPTED: _("Accepted; being registered and assigned."),
    State.REGISTERED: _("Registered as a case; being sent to the department responsible."),
    State.DISPATCHED: _("Sent to the department responsible."),
    State.RETURNED: _("Being re-assigned to the right department."),
    State.SIGNED: _("The department responsible has taken it on."),
    State.IN_PROGRESS: _("Being handled."),
    State.EXTENSION_REQUESTED: _("Being handled; it needs more time."),
    State.SUSPENDED: _("Paused for the moment (e.g. waiting for the weather or another authority)."),
    State.BACKLOG: _("Cannot be solved for now; it is on the list of long-term matters."),
    State.HANDLED: _("Handled; the result is being checked on the spot."),
    State.VERIFYING: _("Handled; the result is being checked on the spot."),
    State.REWORK: _("The check found more to do; the department is working on it again."),
    State.CLOSED: _("Done. Please tell us whether you are satisfied."),
    State.EVALUATED: _("Done and rated. Thank you."),
    State.INVALID: _("Not taken up: it could not be confirmed or is not a matter for this platform."),
    State.NOT_REGISTERED: _("Not registered as a case: it is not a matter for this platform."),
    State.MERGED: _("Merged into another report of the same problem."),
}

# The steps of the timeline a citizen sees (other actions — notes, reminders, internal moves — are not shown).
PUBLIC_STEPS = {
    "report": _("Reported"),
    "accept": _("Accepted"),
    "reject": _("Not taken up"),
    "register": _("Registered as a case"),
    "not_register": _("Not registered"),
    "merge": _("Merged into another report"),
    "absorb": _("Another report of the same problem joined this case"),
    "dispatch": _("Sent to the department responsible"),
    "sign": _("Taken on by the department"),
    "start": _("Work started"),
    "approve_extension": _("More time granted"),
    "suspend": _("Paused"),
    "resume": _("Resumed"),
    "backlog": _("Put on the long-term list"),
    "reactivate": _("Work resumed"),
    "handle": _("Handled"),
    "send_to_verify": _("Being checked on the spot"),
    "rework": _("Sent back for more work"),
    "verify_pass": _("Checked and closed"),
    "self_handle": _("Handled on the spot and closed"),
    "evaluate": _("Satisfaction recorded"),
    "rate": _("Rated by the reporter"),
    "reopen": _("Reopened"),
}
PUBLIC_PHOTO_STAGES = (Stage.AFTER, Stage.VERIFY)


def receipt_display(code: str) -> str:
    """ABCDEFGHJK → ABCD-EFGH-JK: easier to read out and to type."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def photo_limits() -> dict:
    """What the photo fields tell people before they choose (the server checks again)."""
    return {"max_mb": f"{attachments.max_mb():g}", "max_photos": attachments.MAX_PHOTOS}


def serve_file(field, content_type: str) -> FileResponse:
    """A stored photo, kept out of shared caches (it is only for those allowed to see the case)."""
    try:
        handle = field.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _too_many(request: HttpRequest, template_message: str) -> HttpResponse:
    return render(request, "dispatch/public/throttled.html", {"message": template_message}, status=429)


# --- Report ------------------------------------------------------------------------------------------


@login_not_required
def report(request: HttpRequest) -> HttpResponse:
    form = CitizenReportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        who = throttle.client_key(request)
        if throttle.CITIZEN_REPORTS.exceeded(who):
            return _too_many(request, gettext(
                "You have sent several reports in the last hour. Please try again later, or call 12345."))
        valid = form.is_valid()
        if form.is_bot:
            form.add_error(None, gettext("This report could not be accepted."))
        elif valid:
            data = form.cleaned_data
            try:
                event, created = services.event_report(
                    channel=Channel.CITIZEN, title=data["title"], description=data["description"],
                    minor=data["category"], lon=data["lon"], lat=data["lat"], unit=data["community"],
                    address=data["address"], contact_name=data["name"], contact_phone=data["phone"],
                    photos=data["photos"], idempotency_key=form.idempotency_key, actor_label=gettext("Citizen"),
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                if created:
                    throttle.CITIZEN_REPORTS.hit(who)
                return redirect("public:thanks", event.receipt_code)
        status = 400
    context = {"form": form, "page_data": _page_data(), **photo_limits()}
    return render(request, "dispatch/public/report.html", context, status=status)


def _page_data() -> dict:
    tiles = settings.GRIDGOV_MAP_TILES
    return {
        "map": {"tiles": tiles["layers"] if tiles["crs"] == "wgs84" else [], "subdomains": tiles["subdomains"],
                "attribution": tiles["attribution"], "center": list(settings.LEAFLET_CONFIG["DEFAULT_CENTER"]),
                "grids": []},
        "text": {
            "locating": gettext("Finding your position…"),
            "gpsOk": gettext("Position found, accuracy ±%s m."),
            "gpsPoor": gettext("Position found, but only to ±%s m. Add the address to help us find the place."),
            "gpsError": gettext("No position: %s. Give the address and choose the community instead."),
            "noGps": gettext("This browser cannot report its location. Give the address instead."),
            "picked": gettext("Spot marked on the map."),
            "removePhoto": gettext("Remove"),
            "sending": gettext("Sending…"),
        },
    }


# --- Receipt and tracking ----------------------------------------------------------------------------


def _lookup(request: HttpRequest, code: str) -> Event | HttpResponse:
    """The case a receipt code names, or the response to give instead (429 when guessing, 404)."""
    who = throttle.client_key(request)
    if throttle.RECEIPT_MISSES.exceeded(who):
        return _too_many(request, gettext("Too many receipt codes were tried from here. Please try again in an hour."))
    try:
        return selectors.get_event_by_receipt(code)
    except Http404:
        throttle.RECEIPT_MISSES.hit(who)
        return render(request, "dispatch/public/not_found.html", {"form": TrackForm(initial={"code": code})},
                      status=404)


@login_not_required
def thanks(request: HttpRequest, code: str) -> HttpResponse:
    found = _lookup(request, code)
    if isinstance(found, HttpResponse):
        return found
    return render(request, "dispatch/public/thanks.html", {
        "event": found, "receipt": receipt_display(found.receipt_code),
        "track_url": reverse("public:track_case", args=[found.receipt_code]),
    })


@login_not_required
def track(request: HttpRequest) -> HttpResponse:
    form = TrackForm(request.GET or None)
    if form.is_valid():
        cleaned = "".join(ch for ch in form.cleaned_data["code"].upper() if ch.isalnum())
        if cleaned:
            return redirect("public:track_case", cleaned)
    return render(request, "dispatch/public/track.html", {"form": form})


def normalise(code: str) -> str:
    """Receipt codes are matched without case or separators (as ``get_event_by_receipt`` does)."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def _rated_by_reporter(event: Event) -> bool:
    return event.history.filter(action__in=["evaluate", "rate"], data__by="reporter").exists()


def _photos(code: str, event: Event):
    """The photos a receipt may show: after handling and verification of the case followed, and the
    citizen's own report photos (of the report the code names, merged or not) — re-encoded only."""
    condition = Q(event=event, stage__in=PUBLIC_PHOTO_STAGES) | Q(
        event__receipt_code=code, event__channel=Channel.CITIZEN, stage=Stage.REPORT)
    return Attachment.objects.filter(condition).only("pk", "stage", "uploaded_at").order_by("uploaded_at", "pk")


def _track_context(code: str, event: Event, rating_form: RatingForm | None = None) -> dict:
    """``event`` is the case followed: for a merged duplicate, the case it was merged into."""
    rows = event.history.filter(action__in=PUBLIC_STEPS).only("action", "at").order_by("at", "pk")
    may_rate = event.state == State.CLOSED or (event.state == State.EVALUATED and not _rated_by_reporter(event))
    return {
        "code": code,
        "event": event,
        "merged": event.receipt_code != code,
        "receipt": receipt_display(code),
        "state_text": PUBLIC_STATE.get(event.state, event.get_state_display()),
        "timeline": [{"at": row.at, "label": PUBLIC_STEPS[row.action]} for row in rows],
        "photos": _photos(code, event),
        "rating_form": (rating_form or RatingForm()) if may_rate else None,
        "rated": event.state == State.EVALUATED and not may_rate,
    }


@login_not_required
def track_case(request: HttpRequest, code: str) -> HttpResponse:
    if normalise(code) != code:  # one address per receipt, however the code was typed
        return redirect("public:track_case", normalise(code) or "-")
    found = _lookup(request, code)
    if isinstance(found, HttpResponse):
        return found
    return render(request, "dispatch/public/track_case.html", _track_context(code, found))


@login_not_required
@require_POST
def rate(request: HttpRequest, code: str) -> HttpResponse:
    found = _lookup(request, code)
    if isinstance(found, HttpResponse):
        return found
    code = normalise(code)
    form = RatingForm(request.POST)
    if form.is_valid():
        try:
            services.event_rate_by_citizen(event=found, satisfaction=form.cleaned_data["satisfaction"],
                                           comment=form.cleaned_data["comment"])
        except ValidationError as error:
            add_service_errors(form, error)
        except WorkflowError as error:
            context = _track_context(code, found)
            context["rate_error"] = error.message
            return render(request, "dispatch/public/track_case.html", context, status=error.status)
        else:
            return redirect(reverse("public:track_case", args=[code]) + "#rating")
    return render(request, "dispatch/public/track_case.html", _track_context(code, found, form), status=400)


@login_not_required
def track_photo(request: HttpRequest, code: str, pk: int, kind: str = "display") -> HttpResponse:
    """A photo of the tracked case: only the re-encoded copies, only the stages the public may see."""
    found = _lookup(request, code)
    if isinstance(found, HttpResponse):
        return found
    attachment = _photos(normalise(code), found).filter(pk=pk).only("display", "thumbnail").first()
    if attachment is None:
        raise Http404
    return serve_file(attachment.thumbnail if kind == "thumb" else attachment.display, "image/jpeg")


urlpatterns = [
    path("", report, name="report"),
    path("thanks/<str:code>/", thanks, name="thanks"),
    path("track/", track, name="track"),
    path("track/<str:code>/", track_case, name="track_case"),
    path("track/<str:code>/rate/", rate, name="rate"),
    path("track/<str:code>/photos/<int:pk>/", track_photo, name="track_photo"),
    path("track/<str:code>/photos/<int:pk>/thumb/", track_photo, {"kind": "thumb"}, name="track_thumb"),
]

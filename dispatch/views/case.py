"""Dispatch views: case (see dispatch/views/__init__.py).

The case page shows everything about one case and a form for every action the person may take
now; each form posts to ``act``, which parses it, calls the ONE service for that action and maps
its errors: bad input → 400 with the message, a refused action → the ``WorkflowError``'s status
(409 conflict or not allowed, 403 forbidden), nothing saved either way.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from dispatch import routing, services
from dispatch.case_forms import FORM_KEY, FORMS, NOT_ON_CASE_PAGE, ActionForm
from dispatch.display import action_label, clock_of, data_summary
from dispatch.models import Event, Stage, State
from dispatch.permissions import is_centre
from dispatch.selectors import duplicate_candidates, events_visible_to, get_event_for_user
from dispatch.workflow import ACTIONS, WorkflowError, actions_for

MERGEABLE = {State.REPORTED, State.ACCEPTED}
# The actions that move a case along its main path come first on the panel, the first one open;
# side actions (corrections, escalation, supervision) follow in the workflow table's order.
MAIN_PATH = ["accept", "register", "dispatch", "sign", "co_sign", "start", "handle", "verify", "approve_extension",
             "resume", "reactivate", "evaluate", "respond"]


# --- What each action form does: one service call each ------------------------------------------

Perform = Callable[[Event, object, dict, ActionForm], object]
PERFORM: dict[str, Perform] = {}


def performs(*keys: str):
    def register(func: Perform) -> Perform:
        for key in keys:
            PERFORM[key] = func
        return func

    return register


def _common(user, data) -> dict:
    return {"actor": user, "note": data["note"], "expected_version": data["version"]}


@performs("accept")
def _accept(event, user, data, form):
    return services.event_accept(event=event, **_common(user, data))


@performs("reject")
def _reject(event, user, data, form):
    return services.event_reject(event=event, **_common(user, data))


@performs("register")
def _register(event, user, data, form):
    return services.event_register(event=event, minor=data["category"], **_common(user, data))


@performs("not_register")
def _not_register(event, user, data, form):
    return services.event_not_register(event=event, **_common(user, data))


@performs("merge")
def _merge(event, user, data, form):
    return services.event_merge(event=event, into=data["into"], **_common(user, data))


@performs("edit")
def _edit(event, user, data, form):
    return services.event_edit(event=event, **_common(user, data), **form.changes())


@performs("escalate")
def _escalate(event, user, data, form):
    return services.event_escalate(event=event, **_common(user, data))


@performs("delegate")
def _delegate(event, user, data, form):
    return services.event_delegate(event=event, to_unit=data["to_unit"], **_common(user, data))


@performs("dispatch")
def _dispatch(event, user, data, form):
    return services.event_dispatch(event=event, department=data["department"],
                                   co_departments=list(data["co_departments"]), **_common(user, data))


@performs("sign")
def _sign(event, user, data, form):
    return services.event_sign(event=event, **_common(user, data))


@performs("return")
def _return(event, user, data, form):
    return services.event_return(event=event, **_common(user, data))


@performs("start")
def _start(event, user, data, form):
    return services.event_start(event=event, **_common(user, data))


@performs("summon")
def _summon(event, user, data, form):
    return services.event_summon(event=event, departments=list(data["departments"]), **_common(user, data))


@performs("co_sign")
def _co_sign(event, user, data, form):
    return services.event_co_sign(event=event, department=data["department"], **_common(user, data))


@performs("request_extension")
def _request_extension(event, user, data, form):
    return services.event_request_extension(event=event, amount=data["amount"], unit=data["unit"],
                                            **_common(user, data))


@performs("approve_extension")
def _approve_extension(event, user, data, form):
    return services.event_approve_extension(event=event, **_common(user, data))


@performs("refuse_extension")
def _refuse_extension(event, user, data, form):
    return services.event_refuse_extension(event=event, **_common(user, data))


@performs("suspend")
def _suspend(event, user, data, form):
    return services.event_suspend(event=event, **_common(user, data))


@performs("resume")
def _resume(event, user, data, form):
    return services.event_resume(event=event, **_common(user, data))


@performs("backlog")
def _backlog(event, user, data, form):
    return services.event_backlog(event=event, **_common(user, data))


@performs("reactivate")
def _reactivate(event, user, data, form):
    return services.event_reactivate(event=event, **_common(user, data))


@performs("handle")
def _handle(event, user, data, form):
    return services.event_handle(event=event, photos=data["photos"], **_common(user, data))


@performs("verify")
def _verify(event, user, data, form):
    return services.event_verify(event=event, passed=data["result"] == form.PASS, photos=data["photos"],
                                 **_common(user, data))


@performs("evaluate")
def _callback(event, user, data, form):
    return services.event_callback(event=event, contacted=data["contacted"], solved=data["solved"],
                                   satisfaction=data["satisfaction"], **_common(user, data))


@performs("reopen")
def _reopen(event, user, data, form):
    return services.event_reopen(event=event, **_common(user, data))


@performs("remind")
def _remind(event, user, data, form):
    return services.event_remind(event=event, **_common(user, data))


@performs("supervise")
def _supervise(event, user, data, form):
    return services.event_supervise(event=event, amount=data["amount"], unit=data["unit"], **_common(user, data))


@performs("respond")
def _respond(event, user, data, form):
    return services.event_respond(event=event, order=data["order"], **_common(user, data))


@performs("list_supervision")
def _list(event, user, data, form):
    return services.event_list_supervision(event=event, listed=True, **_common(user, data))


@performs("unlist_supervision")
def _unlist(event, user, data, form):
    return services.event_list_supervision(event=event, listed=False, **_common(user, data))


# --- Building the forms --------------------------------------------------------------------------


def _mergeable(user, event: Event) -> list:
    """Duplicate candidates the person may see (the selector itself does not scope)."""
    if event.state not in MERGEABLE:
        return []
    candidates = duplicate_candidates(event)
    if not candidates:
        return []
    visible = set(events_visible_to(user).filter(pk__in=[c.pk for c, _m in candidates]).values_list("pk", flat=True))
    return [(c, metres) for c, metres in candidates if c.pk in visible]


def build_form(key: str, event: Event, user, *, data=None, files=None, candidates=None) -> ActionForm:
    extra = {}
    if key == "dispatch":
        extra["routed"] = routing.route(event.minor, event.unit)
    elif key == "merge":
        extra["candidates"] = candidates if candidates is not None else _mergeable(user, event)
    return FORMS[key](data, files, event=event, user=user, action=key, **extra)


def action_panel(event: Event, user, *, bound: ActionForm | None, candidates) -> list[dict]:
    """One entry per action the person may take now, each with its form (the failed one bound)."""
    entries, seen = [], set()
    for act in actions_for(user, event):
        if act.name in NOT_ON_CASE_PAGE:
            continue
        key = FORM_KEY.get(act.name, act.name)
        if key in seen:
            continue
        seen.add(key)
        form = bound if bound is not None and bound.action == key else build_form(key, event, user,
                                                                               candidates=candidates)
        if not form.usable:
            continue
        label = gettext("Verify on the spot") if key == "verify" else str(act.label)
        entries.append({"key": key, "label": label, "form": form, "open": bound is form,
                        "main": key in MAIN_PATH, "url": reverse("dispatch:act", args=[event.pk, key]),
                        "multipart": any(f.widget.needs_multipart_form for f in form.fields.values())})
    entries.sort(key=lambda e: MAIN_PATH.index(e["key"]) if e["main"] else len(MAIN_PATH))
    if bound is None and entries and entries[0]["main"]:
        entries[0]["open"] = True
    return entries


# --- The page ------------------------------------------------------------------------------------


def _timeline(event: Event) -> list[dict]:
    return [
        {"row": row, "label": action_label(row.action), "by": row.actor or row.actor_label,
         "data": data_summary(row.data), "moved": row.from_state != row.to_state}
        for row in event.history.select_related("actor").order_by("at", "pk")
    ]


def _photo_groups(event: Event) -> list[dict]:
    by_stage: dict[str, list] = {stage: [] for stage in Stage.values}
    for attachment in event.attachments.order_by("uploaded_at", "pk"):
        by_stage.setdefault(attachment.stage, []).append(attachment)
    return [{"stage": stage, "label": label, "photos": by_stage[stage]}
            for stage, label in Stage.choices if by_stage[stage]]


def render_case(request: HttpRequest, event: Event, *, bound: ActionForm | None = None, error: str = "",
                status: int = 200) -> HttpResponse:
    user = request.user
    centre = is_centre(user, event)
    candidates = _mergeable(user, event) if centre else []
    actions = action_panel(event, user, bound=bound, candidates=candidates)
    context = {
        "event": event,
        "centre": centre,
        "clock": clock_of(event, timezone.now()),
        "assignments": list(event.assignments.select_related("department", "signed_by")),
        "reporters": list(event.reporters.select_related("user")),
        "photo_groups": _photo_groups(event),
        "timeline": _timeline(event),
        "orders": list(event.supervision.select_related("issued_by", "department", "to_unit")),
        "duplicates": candidates,
        "merged_in": list(event.duplicates.only("pk", "number", "title")),
        "actions": actions,
        "can_merge": any(entry["key"] == "merge" for entry in actions),
        "error": error,
    }
    return render(request, "dispatch/case_detail.html", context, status=status)


def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_case(request, get_event_for_user(request.user, pk))


def _attach_service_errors(form: ActionForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


@require_POST
def act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    event = get_event_for_user(request.user, pk)
    if action not in FORMS:
        raise Http404
    form = build_form(action, event, request.user, data=request.POST, files=request.FILES)
    if not form.is_valid():
        return render_case(request, event, bound=form, status=400,
                           error=gettext("Please correct the form below; nothing was saved."))
    try:
        PERFORM[action](event, request.user, form.cleaned_data, form)
    except ValidationError as error:
        _attach_service_errors(form, error)
        return render_case(request, event, bound=form, status=400, error=" ".join(error.messages))
    except WorkflowError as error:
        # The case may have moved on (that is often why): show it as it is now.
        return render_case(request, get_event_for_user(request.user, pk), error=error.message, status=error.status)
    done = gettext("Verify on the spot") if action == "verify" else str(ACTIONS[action].label)
    messages.success(request, gettext("Done: %(action)s.") % {"action": done})
    return redirect("dispatch:case", event.pk)


urlpatterns = [
    path("cases/<int:pk>/", case_detail, name="case"),
    path("cases/<int:pk>/act/<str:action>/", act, name="act"),
]

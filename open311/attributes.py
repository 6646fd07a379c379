"""The further questions (GeoReport v2 "attributes") a service asks, and checking the answers.

Kept small and taken from how cases are triaged here:

- ``danger`` (every service): is anyone or anything in danger right now? "yes" files the case as
  urgent (``Urgency.URGENT``), whatever the class's default; "no" keeps the class's urgency.
- ``component_code`` (component classes, 部件): the component's identification code (部件标识码)
  from its label or plate, so the handler finds the exact manhole or lamp post. Per the component
  coding of digital city management (GB/T 30428.2, formerly CJ/T 214) it is 16 digits: the county's
  division code (6), the major and minor class (2 + 2) and a serial number (6).

Answers are stored on the case as ``Event.attributes`` = {code: value} (a list for multi-value
questions) and shown in the case's details.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy as _

from dispatch.models import ClassKind, MinorClass, Urgency

# When the questions below last changed (service discovery's "changeset"): bump it with them, so
# clients that cache service definitions fetch them again.
CHANGESET = "2026-11-22 00:00"
STRING_MAX = 255
TEXT_MAX = 4000
LIST_TYPES = ("singlevaluelist", "multivaluelist")


@dataclass(frozen=True)
class Choice:
    key: str
    name: Promise


@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: str  # string | number | text | singlevaluelist | multivaluelist
    required: bool
    label: Promise  # short, for the case page
    description: Promise  # the question, for the 311 client's form
    applies: Callable[[MinorClass], bool]
    datatype_description: Promise | str = ""
    values: tuple[Choice, ...] = ()
    clean: Callable[[str], str] | None = None  # normalise a string answer; ValueError(message) if unfit
    variable: bool = True
    order: int = field(default=0, compare=False)

    def name_of(self, key: str) -> str:
        for choice in self.values:
            if choice.key == key:
                return str(choice.name)
        return key


def _component_code(value: str) -> str:
    digits = "".join(ch for ch in value if ch not in " -")
    if len(digits) != 16 or not digits.isascii() or not digits.isdigit():
        raise ValueError(gettext("The component code is the 16 digits on the component's label."))
    return digits


DANGER = Attribute(
    code="danger",
    datatype="singlevaluelist",
    required=True,
    label=_("Immediate danger"),
    description=_("Is anyone or anything in danger right now (e.g. an open manhole on a footpath, a wire "
                  "hanging low, a wall about to fall)?"),
    values=(Choice("yes", _("Yes, there is danger now")), Choice("no", _("No"))),
    applies=lambda minor: True,
)
COMPONENT_CODE = Attribute(
    code="component_code",
    datatype="string",
    required=False,
    label=_("Component code (部件标识码)"),
    description=_("The component's identification code (部件标识码) on its label or plate, if you can read it."),
    datatype_description=_("16 digits: the county's division code (6), the class (4) and a serial number (6)."),
    applies=lambda minor: minor.major.kind == ClassKind.COMPONENT,
    clean=_component_code,
)
ATTRIBUTES: tuple[Attribute, ...] = (DANGER, COMPONENT_CODE)
BY_CODE = {a.code: a for a in ATTRIBUTES}


def attributes_for(minor: MinorClass) -> list[Attribute]:
    """The questions of ``minor``'s service, numbered 1, 2, … in the order a form shows them."""
    chosen = [a for a in ATTRIBUTES if a.applies(minor)]
    return [replace(a, order=n) for n, a in enumerate(chosen, start=1)]


def answers_clean(minor: MinorClass, raw: dict[str, list[str]]) -> dict:
    """Check ``raw`` ({code: [values as sent]}) against ``minor``'s questions; returns {code: value}
    (a list for multivaluelist). Raises ValidationError naming every problem at once."""
    questions = {a.code: a for a in attributes_for(minor)}
    errors: list[str] = []
    answers: dict = {}
    for code in raw:
        if code not in questions:
            errors.append(gettext("attribute[%(code)s]: this service has no such attribute.") % {"code": code})
    for code, question in questions.items():
        values = [v.strip() for v in raw.get(code, []) if v.strip()]
        if not values:
            if question.required:
                errors.append(gettext("attribute[%(code)s] is required: %(question)s")
                              % {"code": code, "question": question.description})
            continue
        try:
            answers[code] = _answer(question, values)
        except ValueError as error:
            errors.append(f"attribute[{code}]: {error}")
    if errors:
        raise ValidationError(errors)
    return answers


def _answer(question: Attribute, values: list[str]):
    keys = [c.key for c in question.values]
    if question.datatype == "multivaluelist":
        unknown = [v for v in values if v not in keys]
        if unknown:
            raise ValueError(gettext("choose from %(keys)s.") % {"keys": ", ".join(keys)})
        return list(dict.fromkeys(values))
    if len(values) > 1:
        raise ValueError(gettext("give one value."))
    value = values[0]
    if question.datatype == "singlevaluelist":
        if value not in keys:
            raise ValueError(gettext("choose one of %(keys)s.") % {"keys": ", ".join(keys)})
        return value
    if question.datatype == "number":
        try:
            float(value)
        except ValueError:
            raise ValueError(gettext("give a number.")) from None
        return value
    limit = TEXT_MAX if question.datatype == "text" else STRING_MAX
    if len(value) > limit or (question.datatype == "string" and "\n" in value):
        raise ValueError(gettext("give one line of at most %(n)d characters.") % {"n": limit})
    return question.clean(value) if question.clean else value


def urgency_for(answers: dict) -> str | None:
    """The urgency the answers call for; None keeps the class's own."""
    return Urgency.URGENT if answers.get(DANGER.code) == "yes" else None


def answers_display(answers: dict) -> list[dict]:
    """The stored answers as the case page shows them: label and value in words."""
    rows = []
    for code, value in (answers or {}).items():
        question = BY_CODE.get(code)
        if question is None:
            rows.append({"code": code, "label": code, "value": value})
            continue
        shown = [question.name_of(v) for v in value] if isinstance(value, list) else [question.name_of(value)]
        rows.append({"code": code, "label": str(question.label), "value": ", ".join(shown)})
    return rows

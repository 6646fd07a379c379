"""Fail when a translation is missing or a compiled catalogue (.mo) is stale.

The Chinese catalogue must translate every message; both catalogues' .mo files must hold exactly
what their .po files say (run `python manage.py compilemessages` after editing a .po file).
Pure Python (polib), so it runs where GNU gettext is not installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
MUST_BE_COMPLETE = {"zh_Hans"}


def problems() -> list[str]:
    found = []
    catalogues = sorted((ROOT / "locale").glob("*/LC_MESSAGES/django.po"))
    if not catalogues:
        return ["no catalogues under locale/"]
    for po_path in catalogues:
        language = po_path.parts[-3]
        po = polib.pofile(str(po_path))
        if language in MUST_BE_COMPLETE:
            for entry in po:
                if entry.obsolete:
                    continue
                if "fuzzy" in entry.flags:
                    found.append(f"{po_path.relative_to(ROOT)}:{entry.linenum}: fuzzy: {entry.msgid!r}")
                elif not entry.translated():
                    found.append(f"{po_path.relative_to(ROOT)}:{entry.linenum}: untranslated: {entry.msgid!r}")
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists():
            found.append(f"{mo_path.relative_to(ROOT)}: missing (run manage.py compilemessages)")
            continue
        compiled = {(e.msgctxt, e.msgid): (e.msgstr, tuple(sorted(e.msgstr_plural.items()))) for e in polib.mofile(str(mo_path))}
        source = {
            (e.msgctxt, e.msgid): (e.msgstr, tuple(sorted(e.msgstr_plural.items())))
            for e in po.translated_entries()
            if "fuzzy" not in e.flags
        }
        if {k: v for k, v in compiled.items() if k[1]} != source:
            found.append(f"{mo_path.relative_to(ROOT)}: stale (run manage.py compilemessages)")
    return found


if __name__ == "__main__":
    issues = problems()
    for line in issues:
        print(line, file=sys.stderr)
    if issues:
        sys.exit(f"{len(issues)} translation problem(s).")
    print("Translations complete and compiled.")

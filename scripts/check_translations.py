"""Fail when a translation is missing or a compiled catalogue (.mo) is stale.

- every message marked for translation in the code and templates is in the catalogues (checked by
  running makemessages on a scratch copy; needs GNU gettext, and is skipped with a note without it,
  except under CI where it is required);
- the Chinese catalogue translates every message;
- both catalogues' .mo files hold exactly what their .po files say.

After adding strings: `python manage.py makemessages -l zh_Hans -l en --no-location
--ignore=.venv`, translate, then `python manage.py compilemessages --ignore=.venv`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
MUST_BE_COMPLETE = {"zh_Hans"}
SCRATCH_IGNORE = shutil.ignore_patterns(".venv", "venv", ".git", "var", "staticfiles", "test-artifacts", "__pycache__")


def _ids(po: polib.POFile) -> set[tuple[str | None, str]]:
    return {(e.msgctxt, e.msgid) for e in po if not e.obsolete and e.msgid}


def unextracted() -> list[str]:
    """Messages the code marks for translation that the Chinese catalogue does not contain."""
    if not shutil.which("xgettext"):
        note = "GNU gettext (xgettext) is not installed: cannot check that every message is extracted"
        if os.environ.get("CI", "").lower() == "true":
            return [note]
        print(f"note: {note}; skipped.", file=sys.stderr)
        return []
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "src"
        shutil.copytree(ROOT, copy, ignore=SCRATCH_IGNORE)
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-location", "--ignore=.venv",
             "--ignore=staticfiles", "--ignore=test-artifacts"],
            cwd=copy, check=True, capture_output=True,
        )
        fresh = _ids(polib.pofile(str(copy / "locale/zh_Hans/LC_MESSAGES/django.po")))
    committed = _ids(polib.pofile(str(ROOT / "locale/zh_Hans/LC_MESSAGES/django.po")))
    return [f"not in the catalogue (run makemessages): {msgid!r}" for _, msgid in sorted(fresh - committed, key=str)]


def problems() -> list[str]:
    found = unextracted()
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

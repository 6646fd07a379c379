"""Failure drills: each ``bench/drills/<name>.py`` starts a throwaway stack (bench/stack.py), breaks
something, counts what happened, prints one JSON line and exits non-zero when anything was lost,
duplicated or hung. See docs/drills.md."""

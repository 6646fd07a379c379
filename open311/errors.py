"""The refusal every part of the Open311 endpoint raises; the views answer it in the spec's format."""

from __future__ import annotations

from governance.errors import DomainError


class Open311Error(DomainError):
    """A refused request: its HTTP status and one or more descriptions (the spec's ``<errors>``
    holds a list). The spec's codes: 404 for what does not exist, 403 for a missing or wrong
    api_key, 400 for anything else the request gets wrong."""

    code = "open311"

    def __init__(self, status: int, *descriptions: str, headers: dict | None = None):
        super().__init__(" ".join(str(d) for d in descriptions))
        self.status = status
        self.descriptions = [str(d) for d in descriptions]
        self.headers = headers or {}

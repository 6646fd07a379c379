"""Refusals raised by services, with the HTTP status that pages and the API answer them with."""


class DomainError(Exception):
    """A refused request: ``status`` and a stable ``code`` for machines, ``message`` for people.
    Every app's own refusals (``dispatch.workflow.WorkflowError`` …) derive from it, so the API's
    error handler answers them all the same way."""

    status = 400
    code = "refused"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

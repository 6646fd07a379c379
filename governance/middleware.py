from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from governance.audit import client_ip, request_ip


class RequestContextMiddleware:
    """Makes the client address available to the audit trail for the length of a request.

    Services take the acting user as an argument; the address is a property of the request,
    not of the domain, so it travels in a context variable rather than through every signature.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = request_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            request_ip.reset(token)

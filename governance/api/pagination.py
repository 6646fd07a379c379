"""Cursor pagination for every API list: ``?cursor=`` links that never repeat or skip a row while
rows are added, and ``?page_size=`` up to 500. Lists that let the client choose the order
(``?ordering=``) keep a unique tie-break, so the cursor's position is exact."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination


class ApiCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("-created_at", "-pk")

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({self.cursor_query_param: [
                _("This cursor is not one the list gave out; follow the next and previous links.")
            ]}) from None

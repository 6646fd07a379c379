"""Excel export of the grids in a user's scope (openpyxl, write-only so large cities stream)."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook

from grids.selectors import grids_export_rows


def grids_xlsx(user) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Grids"))
    sheet.append([_("Grid code"), _("Code scheme"), _("Name"), _("Type"), _("Community code"), _("Community"),
                  _("Households"), _("Residents"), _("Buildings"), _("Businesses"), _("Key places"),
                  _("Area (m²)"), _("Centroid longitude"), _("Centroid latitude"), _("Has a full-time grid worker")])
    for row in grids_export_rows(user):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

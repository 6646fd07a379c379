"""Open311 writes: a POSTed service request becomes a case through ``dispatch.services.event_report``,
the same intake every channel uses (channel "api", reported by the client's account)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from dispatch.models import Channel, Event
from dispatch.services import event_report, locate
from governance.models import AdministrativeUnit, ApiClient
from open311.attributes import urgency_for
from open311.mapping import NewRequest


def service_request_create(*, client: ApiClient, data: NewRequest,
                           jurisdiction: AdministrativeUnit | None = None) -> tuple[Event, bool]:
    """File ``data`` for ``client``; returns (case, created). A repeated Idempotency-Key returns the
    case the first request made and writes nothing."""
    if jurisdiction is not None and not _replayed(data.idempotency_key):
        place = locate(lon=data.lon, lat=data.lat, unit=None)  # ValidationError for a bad point
        if not place.unit.path.startswith(jurisdiction.path):
            raise ValidationError(gettext("This point lies outside jurisdiction %(code)s (%(name)s).")
                                  % {"code": jurisdiction.code, "name": jurisdiction.name})
    description = data.description
    if data.media_url:
        # A note for the staff: the platform never fetches a URL a client sends.
        note = gettext("Media (a link sent by the client, not checked): %(url)s") % {"url": data.media_url}
        description = f"{description}\n\n{note}" if description else note
    return event_report(
        channel=Channel.API,
        # The spec has no title: a case is headed by the first line of its description, else its service.
        title=data.description.splitlines()[0][:60] if data.description else data.minor.name,
        description=description,
        minor=data.minor,
        lon=data.lon,
        lat=data.lat,
        address=data.address,
        reporter=client.account,
        contact_name=data.contact_name,
        contact_phone=data.phone,
        urgency=urgency_for(data.answers),
        idempotency_key=data.idempotency_key,
        actor_label=client.name,
        attributes=data.answers,
    )


def _replayed(key: str | None) -> bool:
    return bool(key) and Event.objects.filter(idempotency_key=key).exists()

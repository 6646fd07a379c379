"""Serializer pieces every app's API shares."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext
from rest_framework import serializers


class StrictInputSerializer(serializers.Serializer):
    """Refuses unknown fields, naming each, instead of silently ignoring them: no extra field can
    set what an endpoint does not take (a case's state or owner, say)."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [gettext("Unknown field.")] for name in unknown})
        return super().to_internal_value(data)

"""Shapes of the client endpoints (who am I, webhook subscriptions and deliveries): no logic here."""

from __future__ import annotations


from django.core.validators import URLValidator
from django.utils.translation import gettext, gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from governance.api import webhooks
from governance.api.serializers import StrictInputSerializer
from governance.models import WebhookDelivery, WebhookEvent, WebhookSubscription


# --- Who am I ------------------------------------------------------------------------------------


class AccountOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField(help_text=_("The account's full name (its username if none is recorded)."))


class ClientOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    rate = serializers.CharField(help_text=_("Requests allowed, e.g. 1200/minute."))


class TokenOutputSerializer(serializers.Serializer):
    prefix = serializers.CharField(help_text=_("The token's first characters, as the administration lists it."))
    label = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)


class MeOutputSerializer(serializers.Serializer):
    account = AccountOutputSerializer(help_text=_("The account the request acts as."))
    roles = serializers.ListField(child=serializers.CharField(), help_text=_("The account's active roles."))
    client = ClientOutputSerializer(allow_null=True, help_text=_("The API client; null for a browser session."))
    token = TokenOutputSerializer(allow_null=True, help_text=_("The token used; null for a browser session."))


# --- Webhook subscriptions -----------------------------------------------------------------------


def _event_list_help() -> str:
    return gettext("Event types: %(types)s.") % {"types": ", ".join(WebhookEvent.values)}


class SubscriptionInputSerializer(StrictInputSerializer):
    url = serializers.CharField(
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"], message=_("Give an http:// or https:// address."))],
        help_text=_("The http:// or https:// address that receives the signed POSTs."),
    )
    events = serializers.ListField(
        child=serializers.CharField(max_length=40), allow_empty=False,
        help_text=_("The event types to receive: case.created, case.changed, case.dispatched, case.handled, "
                    "case.closed, case.overdue, case.merged."),
    )
    is_active = serializers.BooleanField(required=False, help_text=_("false pauses deliveries (default true)."))

    def validate_events(self, events: list[str]) -> list[str]:
        unknown = sorted(set(events) - set(WebhookEvent.values))
        if unknown:
            raise serializers.ValidationError(
                gettext("Unknown event types: %(unknown)s. %(known)s")
                % {"unknown": ", ".join(unknown), "known": _event_list_help()}
            )
        return events


class SubscriptionOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "events", "is_active", "created_at"]


class SubscriptionCreatedOutputSerializer(SubscriptionOutputSerializer):
    secret = serializers.CharField(help_text=_("The signing secret. Store it now: it is never shown again."))

    class Meta(SubscriptionOutputSerializer.Meta):
        fields = [*SubscriptionOutputSerializer.Meta.fields, "secret"]


# --- Webhook deliveries --------------------------------------------------------------------------


@extend_schema_field({"type": "string", "enum": WebhookDelivery.Status.values}, component_name="WebhookDeliveryStatus")
class DeliveryStatusField(serializers.CharField):
    """pending, delivered or failed (a component of its own: other components name their enums "Status")."""


class DeliveryOutputSerializer(serializers.ModelSerializer):
    status = DeliveryStatusField(help_text=_("pending (being tried), delivered (a 2xx answer) or failed (gave up)."))
    subscription = serializers.IntegerField(source="subscription_id")
    replay_of = serializers.IntegerField(source="replay_of_id", allow_null=True,
                                         help_text=_("The delivery this one repeats (a replay)."))
    object_id = serializers.IntegerField(allow_null=True, help_text=_("The id of the case (or other object)."))
    response_status = serializers.IntegerField(allow_null=True, help_text=_("The HTTP status of the last answer."))

    class Meta:
        model = WebhookDelivery
        fields = ["id", "subscription", "event_type", "object_id", "status", "attempts", "response_status",
                  "last_error", "created_at", "last_attempt_at", "delivered_at", "replay_of"]


class DeliveryDetailOutputSerializer(DeliveryOutputSerializer):
    body = serializers.SerializerMethodField(help_text=_("The JSON body the delivery sends."))

    class Meta(DeliveryOutputSerializer.Meta):
        fields = [*DeliveryOutputSerializer.Meta.fields, "body"]

    def get_body(self, delivery) -> dict:
        return webhooks.body_of(delivery)

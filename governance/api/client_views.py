"""The client's own endpoints: who am I, and its webhook subscriptions and deliveries.

Subscriptions belong to API clients (``webhooks`` scope), so a browser session lists none and
finds none; another client's subscription or delivery is 404, like a missing one. How deliveries
are made, signed, retried and replayed: ``governance.api.webhooks``.
"""

from __future__ import annotations

import django_filters
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api import webhooks
from governance.api.auth import client_of
from governance.api.client_serializers import (
    DeliveryDetailOutputSerializer,
    DeliveryOutputSerializer,
    MeOutputSerializer,
    SubscriptionCreatedOutputSerializer,
    SubscriptionInputSerializer,
    SubscriptionOutputSerializer,
)
from governance.api.etags import etag_response
from governance.api.filters import IdFilter
from governance.api.views import ApiMixin
from governance.models import ApiToken, WebhookDelivery
from governance.selectors import roles_of

WEBHOOKS = {"read": "webhooks", "write": "webhooks"}


class MeView(ApiMixin, APIView):
    """Who the request acts as: the account and its roles and, with a token, the client and the token."""

    required_scopes = {"read": None}  # any token may ask who it is

    @extend_schema(responses=MeOutputSerializer)
    def get(self, request):
        user, token = request.user, request.auth if isinstance(request.auth, ApiToken) else None
        client = token.client if token else None
        data = {
            "account": {"username": user.username, "name": user.full_name or user.username},
            "roles": sorted(roles_of(user)),
            "client": {"name": client.name, "scopes": client.scopes,
                       "rate": client.rate_limit or settings.API_CLIENT_RATE} if client else None,
            "token": {"prefix": token.prefix, "label": token.label, "expires_at": token.expires_at} if token else None,
        }
        return Response(MeOutputSerializer(data).data)


def _client(request):
    """The requesting client; a browser session may read (and finds nothing) but not subscribe."""
    client = client_of(request)
    if client is None:
        raise exceptions.PermissionDenied(
            gettext("Webhook subscriptions belong to API clients: send the request with a client's token.")
        )
    return client


class SubscriptionListView(ApiMixin, generics.ListAPIView):
    """GET: the client's webhook subscriptions. POST: subscribe an address to event types; the answer
    holds the signing secret, shown this once.

    Each delivery is a JSON POST ``{"id", "type", "created_at", "data"}`` (``data``: the object as the
    API's list shows it) with the headers X-GridGov-Event, X-GridGov-Delivery (the id: drop repeats
    by it), X-GridGov-Timestamp (Unix seconds) and X-GridGov-Signature: ``sha256=`` + the hex
    HMAC-SHA256, keyed with the secret, of ``<timestamp>.<body>``. Check the signature and that the
    timestamp is recent, then answer 2xx. Other answers are retried after 30 s, 2 min, 10 min, 1 h
    and 6 h, then the delivery is marked failed.
    """

    required_scopes = WEBHOOKS
    serializer_class = SubscriptionOutputSerializer

    def get_queryset(self):
        return webhooks.subscriptions_of(client_of(self.request))

    @extend_schema(request=SubscriptionInputSerializer, responses={201: SubscriptionCreatedOutputSerializer})
    def post(self, request):
        client = _client(request)
        form = SubscriptionInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        subscription = webhooks.subscription_create(client=client, actor=request.user, **form.validated_data)
        location = request.build_absolute_uri(reverse("api:webhook_subscription", args=[subscription.pk]))
        return Response(SubscriptionCreatedOutputSerializer(subscription).data, status=status.HTTP_201_CREATED,
                        headers={"Location": location})


class SubscriptionDetailView(ApiMixin, APIView):
    """One of the client's subscriptions: read it, change its address, event types or whether it is
    active, or delete it (with its deliveries' log; set is_active false to pause instead)."""

    required_scopes = WEBHOOKS

    @extend_schema(responses=SubscriptionOutputSerializer)
    def get(self, request, pk: int):
        subscription = webhooks.get_subscription_for_client(client_of(request), pk)
        return etag_response(request, SubscriptionOutputSerializer(subscription).data)

    @extend_schema(request=SubscriptionInputSerializer, responses=SubscriptionOutputSerializer)
    def patch(self, request, pk: int):
        subscription = webhooks.get_subscription_for_client(client_of(request), pk)
        form = SubscriptionInputSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        subscription = webhooks.subscription_update(subscription=subscription, actor=request.user,
                                                    **form.validated_data)
        return Response(SubscriptionOutputSerializer(subscription).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        subscription = webhooks.get_subscription_for_client(client_of(request), pk)
        webhooks.subscription_delete(subscription=subscription, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)
    subscription = IdFilter(field_name="subscription_id", help_text=gettext_lazy("A subscription's id."))

    class Meta:
        model = WebhookDelivery
        fields = ["status", "subscription"]


class DeliveryListView(ApiMixin, generics.ListAPIView):
    """The client's webhook deliveries, newest first, with each one's outcome so far."""

    required_scopes = WEBHOOKS
    serializer_class = DeliveryOutputSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = DeliveryFilter

    def get_queryset(self):
        return webhooks.deliveries_of(client_of(self.request))


class DeliveryDetailView(ApiMixin, APIView):
    """One delivery: its body, attempts, the last answer's status and the last error."""

    required_scopes = WEBHOOKS

    @extend_schema(responses=DeliveryDetailOutputSerializer)
    def get(self, request, pk: int):
        delivery = webhooks.get_delivery_for_client(client_of(request), pk)
        return etag_response(request, DeliveryDetailOutputSerializer(delivery).data)


class DeliveryReplayView(ApiMixin, APIView):
    """Send a delivery's body again, as a new delivery (with an id of its own) pointing at this one."""

    required_scopes = WEBHOOKS

    @extend_schema(request=None, responses={201: DeliveryDetailOutputSerializer})
    def post(self, request, pk: int):
        delivery = webhooks.get_delivery_for_client(client_of(request), pk)
        replay = webhooks.webhook_replay(delivery=delivery, actor=request.user)
        location = request.build_absolute_uri(reverse("api:webhook_delivery", args=[replay.pk]))
        return Response(DeliveryDetailOutputSerializer(replay).data, status=status.HTTP_201_CREATED,
                        headers={"Location": location})

"""The REST API machinery every app's API is built on (docs/api.md).

- ``auth``: bearer tokens of API clients, scopes, and the permission class that checks them;
- ``errors``: one error format for every refused request;
- ``views``: ``ApiMixin`` (errors, anonymous requests answered by DRF) and the client endpoints;
- ``pagination``: cursor pagination;
- ``changes``: the change journal and the incremental sync feed (merges and deletions included);
- ``etags``: ETag / If-None-Match on detail responses;
- ``throttling``: request rates per client;
- ``personal``: masking of personal data;
- ``exports``: CSV and Excel of any list;
- ``webhooks``: client subscriptions, signed deliveries, retries and replay.
"""

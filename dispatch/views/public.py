"""Dispatch views: public (see dispatch/views/__init__.py)."""

urlpatterns: list = []

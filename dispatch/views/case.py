"""Dispatch views: case (see dispatch/views/__init__.py)."""

urlpatterns: list = []

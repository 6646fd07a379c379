"""Dispatch views: intake (see dispatch/views/__init__.py)."""

urlpatterns: list = []

"""Dispatch views: workbench (see dispatch/views/__init__.py)."""

urlpatterns: list = []

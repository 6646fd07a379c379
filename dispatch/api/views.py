"""Dispatch REST API."""

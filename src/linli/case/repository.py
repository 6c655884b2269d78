"""Queries of the case domain."""

from __future__ import annotations

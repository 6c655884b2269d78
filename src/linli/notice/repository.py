"""Queries of the notice domain."""

from __future__ import annotations
